"""Drives an echo server with blocking client threads, for counting the
server's instructions per message under callgrind (docs/benchmarks.md,
network section).

    python3 benches/echo_drive.py PORT CONNECTIONS ROUND_TRIPS

Each of CONNECTIONS threads opens one TCP connection (TCP_NODELAY) and does
ROUND_TRIPS sequential round trips of 1 KiB, checking every echo. Run the
server alone under callgrind, drive it twice, with N and 2N round trips, and
divide the difference of the two totals by CONNECTIONS * N:

    coproc S { valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        target/release/tulipa-benches --serve tulipa-protocol current; }
    read -r pid port <&${S[0]}
    python3 benches/echo_drive.py $port 50 200
    exec {S[1]}>&-   # the server ends at the end of its stdin
    wait $S_PID
"""

import socket
import sys
import threading

SIZE = 1024


def client(port, trips, msg, failures):
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(trips):
                s.sendall(msg)
                got = bytearray()
                while len(got) < SIZE:
                    chunk = s.recv(SIZE - len(got))
                    if not chunk:
                        raise ConnectionError("the server closed the connection mid-echo")
                    got += chunk
                if got != msg:
                    raise ValueError("the echo differs from the message sent")
    except Exception as e:  # reported by the main thread
        failures.append(e)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: echo_drive.py PORT CONNECTIONS ROUND_TRIPS")
    port, conns, trips = (int(a) for a in sys.argv[1:])
    msg = bytes(i % 251 for i in range(SIZE))
    failures = []
    threads = [
        threading.Thread(target=client, args=(port, trips, msg, failures))
        for _ in range(conns)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit(f"{len(failures)} of {conns} connections failed: {failures[0]}")


if __name__ == "__main__":
    main()
