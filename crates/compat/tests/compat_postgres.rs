//! A tokio-io library over a tulipa `TcpStream`: `tokio-postgres` (default
//! features off, so no tokio runtime) against a real PostgreSQL that the
//! test starts in a temporary directory. A missing PostgreSQL fails the
//! test with the command that installs it (`cargo xtask peers`); it is
//! never skipped.

mod support;

use std::time::Duration;

use tokio_postgres::{Client, NoTls};
use tulipa::compat::CompatExt as _;
use tulipa::net::TcpStream;

use support::pg::PgServer;
use support::runtimes;

/// Every wait here is bounded: a hang fails the test instead of stalling it.
const LIMIT: Duration = Duration::from_secs(30);

/// The handshake over a tulipa socket; the connection future runs as a
/// tulipa task, whose handle is returned with the client.
async fn connect(
    port: u16,
) -> (
    Client,
    tulipa::JoinHandle<Result<(), tokio_postgres::Error>>,
) {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to PostgreSQL");
    let mut config = tokio_postgres::Config::new();
    config.user("rest").dbname("postgres");
    let (client, connection) =
        tulipa::time::timeout(LIMIT, config.connect_raw(stream.compat(), NoTls))
            .await
            .expect("the handshake hung")
            .expect("PostgreSQL handshake");
    (client, tulipa::spawn(connection))
}

#[test]
fn tokio_postgres_runs_over_a_tulipa_tcp_stream() {
    let server = PgServer::start();
    for (flavour, rt) in ["current_thread", "multi_thread"]
        .into_iter()
        .zip(runtimes())
    {
        rt.block_on(async {
            let (client, connection) = connect(server.port()).await;
            let run = async {
                client
                    .batch_execute(
                        "CREATE TEMP TABLE notes (id INT PRIMARY KEY, body TEXT NOT NULL)",
                    )
                    .await
                    .expect("create table");
                let insert = client
                    .prepare("INSERT INTO notes (id, body) VALUES ($1, $2)")
                    .await
                    .expect("prepare");
                // Several statements in flight at once: tokio-postgres
                // pipelines them on the one socket.
                let bodies: Vec<String> = (0..20).map(|i| format!("{flavour} note {i}")).collect();
                let inserts = bodies.iter().enumerate().map(|(i, body)| {
                    let insert = &insert;
                    let client = &client;
                    async move {
                        let id = i32::try_from(i).unwrap();
                        client.execute(insert, &[&id, body]).await
                    }
                });
                for n in tulipa::future::try_gather(inserts).await.expect("inserts") {
                    assert_eq!(n, 1);
                }
                let rows = client
                    .query("SELECT id, body FROM notes ORDER BY id", &[])
                    .await
                    .expect("select");
                let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
                let want: Vec<(i32, String)> = (0..20).zip(bodies).collect();
                assert_eq!(got, want);

                // A value far larger than one socket read or write (4 MiB):
                // many reads into tokio-postgres's buffer, and writes the
                // socket takes in parts.
                let big: String = "0123456789abcdef".repeat(256 * 1024);
                let row = client
                    .query_one("SELECT length($1::text), md5($1::text)", &[&big])
                    .await
                    .expect("round trip a large value");
                assert_eq!(row.get::<_, i32>(0), 4 * 1024 * 1024);
                let echoed = client
                    .query_one("SELECT $1::text", &[&big])
                    .await
                    .expect("echo a large value");
                assert!(
                    echoed.get::<_, &str>(0) == big,
                    "the large value came back changed"
                );

                // A server-side error arrives as an error, and the
                // connection stays usable.
                let err = client
                    .query_one("SELECT 1 / 0", &[])
                    .await
                    .expect_err("division by zero");
                assert_eq!(
                    err.code(),
                    Some(&tokio_postgres::error::SqlState::DIVISION_BY_ZERO),
                    "{err:?}"
                );
                let row = client
                    .query_one("SELECT 40 + 2", &[])
                    .await
                    .expect("after the error");
                assert_eq!(row.get::<_, i32>(0), 42);
            };
            tulipa::time::timeout(LIMIT, run)
                .await
                .expect("the queries hung");

            // Dropping the client ends the session: the connection task
            // sends Terminate and finishes cleanly.
            drop(client);
            let ended = tulipa::time::timeout(LIMIT, connection)
                .await
                .expect("the connection task did not end after the client was dropped")
                .expect("the connection task panicked");
            ended.expect("the connection ended with an error");
        });
    }
}

#[test]
fn a_dead_server_is_an_error_not_a_hang() {
    let server = PgServer::start();
    for rt in runtimes() {
        let whole = async {
            let (client, connection) = connect(server.port()).await;
            client
                .query_one("SELECT 1", &[])
                .await
                .expect("first query");
            // PostgreSQL ends the session from its side.
            client
                .batch_execute("SELECT pg_terminate_backend(pg_backend_pid())")
                .await
                .expect_err("the backend terminates itself mid-statement");
            let result = tulipa::time::timeout(LIMIT, connection)
                .await
                .expect("the connection task did not see the socket close")
                .expect("the connection task panicked");
            // The socket's end of file came through the adapter as a read
            // of nothing: the connection task ends with "closed".
            let err = result.expect_err("the connection cannot end cleanly mid-session");
            assert!(err.is_closed(), "{err:?}");
            assert!(client.is_closed());
            let err = client.query_one("SELECT 1", &[]).await.expect_err("closed");
            assert!(err.is_closed(), "{err}");
        };
        // Twice LIMIT: the inner waits have LIMIT each and say which hung.
        rt.block_on(tulipa::time::timeout(2 * LIMIT, whole))
            .expect("the test hung");
    }
}
