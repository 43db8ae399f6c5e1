"""Python's asyncio echo server, on uvloop or asyncio's own event loop: the
`uvloop` and `asyncio` servers of the bench binary's external-client mode
(benches/src/net_external.rs), so tulipa's protocol server can be compared
with the event loop it takes its model from.

    python3 benches/echo_asyncio.py [--loop uvloop|asyncio]

One thread, one event loop (asyncio's default loop unless `--loop uvloop`),
serving `asyncio.Protocol` echo connections on 127.0.0.1 at a free port:
`data_received` writes the bytes back through the transport, and every
accepted socket gets TCP_NODELAY, as the Rust servers in
benches/src/echo_server.rs do. Once listening it prints one line `PID PORT`
on stdout (flushed), and it serves until its stdin reaches end of file (the
bench closes it, or dies), then closes the listener and exits 0.

`--loop uvloop` needs the uvloop package. Without it the script exits 2 with
a message saying how to install it; it never falls back to asyncio's loop.
`cargo xtask peers --bench` installs it into the project's venv
(<target>/peers/venv), and `cargo xtask bench -- --external` does so itself.

By hand, from the workspace root (the server ends when its stdin closes):

    coproc S { target/peers/venv/bin/python benches/echo_asyncio.py --loop uvloop; }
    read -r pid port <&${S[0]}
    python3 benches/echo_drive.py $port 50 200
    exec {S[1]}>&-
    wait $S_PID
"""

import argparse
import asyncio
import os
import socket
import sys
import threading


class Echo(asyncio.Protocol):
    """Writes every chunk back as it arrives."""

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.transport.write(data)


def new_loop(name):
    """A new event loop of the kind `name` names; exits 2 if uvloop is asked
    for and cannot be imported."""
    if name == "asyncio":
        return asyncio.new_event_loop()
    try:
        import uvloop
    except ImportError as e:
        print(
            f"echo_asyncio.py: --loop uvloop needs the uvloop package, which "
            f"{sys.executable} cannot import ({e}); install it with "
            f"`cargo xtask peers --bench` (into <target>/peers/venv) or "
            f"`{sys.executable} -m pip install uvloop`, or run --loop asyncio",
            file=sys.stderr,
        )
        sys.exit(2)
    return uvloop.new_event_loop()


def stop_at_end_of_stdin(loop):
    """Stops `loop` once stdin reaches end of file, from a thread that blocks
    in read (works whatever stdin is: a pipe, a file, /dev/null)."""

    def wait():
        while os.read(sys.stdin.fileno(), 4096):
            pass
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=wait, name="stdin", daemon=True).start()


def main():
    parser = argparse.ArgumentParser(
        description="asyncio Protocol echo server for tulipa-benches --external"
    )
    parser.add_argument(
        "--loop",
        choices=["uvloop", "asyncio"],
        default="asyncio",
        help="the event loop (default: asyncio's own)",
    )
    args = parser.parse_args()
    loop = new_loop(args.loop)
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(Echo, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    print(os.getpid(), port, flush=True)
    stop_at_end_of_stdin(loop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.close()


if __name__ == "__main__":
    main()
