//! The `tokio-compat` feature: futures that need a tokio runtime, run from
//! tulipa tasks on both runtime flavours. A reqwest GET (no TLS) against a
//! one-request HTTP server on a tulipa listener, through `run` and through
//! `enter`; cancellation by dropping the `Run`; panics reaching the
//! awaiting task.

mod support;

use std::time::Duration;

use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
use tulipa::channel::oneshot;
use tulipa::net::TcpListener;
use tulipa_compat::tokio::{enter, run};

use support::runtimes;

/// Every wait here is bounded: a hang fails the test instead of stalling it.
const LIMIT: Duration = Duration::from_secs(30);

/// The name of the shared runtime's worker thread.
const TOKIO_THREAD: &str = "tulipa-compat-tokio";

/// Serves one HTTP/1.1 request on a tulipa listener, answering `body`;
/// returns the URL to fetch and a handle whose output is the request's
/// first line.
async fn one_request_server(body: &'static str) -> (String, tulipa::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/greeting", listener.local_addr().unwrap());
    let server = tulipa::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        // A request head is small; 16 KiB bounds a misbehaving client.
        while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = conn.read(&mut byte).await.unwrap();
            assert_eq!(n, 1, "the client closed before the end of its request head");
            head.push(byte[0]);
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(response.as_bytes()).await.unwrap();
        conn.close().await.unwrap();
        let head = String::from_utf8(head).unwrap();
        head.lines().next().unwrap_or_default().to_owned()
    });
    (url, server)
}

#[test]
fn reqwest_get_through_run_from_a_tulipa_task() {
    for rt in runtimes() {
        rt.block_on(async {
            let (url, server) = one_request_server("hello from tulipa").await;
            let task = tulipa::spawn(async move {
                run(async move {
                    let response = reqwest::get(url).await?;
                    let status = response.status().as_u16();
                    let text = response.text().await?;
                    Ok::<_, reqwest::Error>((status, text))
                })
                .await
            });
            let (status, text) = tulipa::time::timeout(LIMIT, task)
                .await
                .expect("the GET hung")
                .expect("the tulipa task failed")
                .expect("the GET failed");
            assert_eq!(status, 200);
            assert_eq!(text, "hello from tulipa");
            let request_line = tulipa::time::timeout(LIMIT, server)
                .await
                .expect("the server hung")
                .unwrap();
            assert_eq!(request_line, "GET /greeting HTTP/1.1");
        });
    }
}

#[test]
fn reqwest_get_through_enter_polls_in_the_tulipa_task() {
    for rt in runtimes() {
        rt.block_on(async {
            let (url, server) = one_request_server("entered").await;
            let client = reqwest::Client::new();
            let task = tulipa::spawn(async move {
                let text = enter(async {
                    let response = client.get(&url).send().await?;
                    response.text().await
                })
                .await;
                // The future ran here, not on tokio's thread.
                let here = std::thread::current().name().map(str::to_owned);
                (text, here)
            });
            let (text, here) = tulipa::time::timeout(LIMIT, task)
                .await
                .expect("the GET hung")
                .expect("the tulipa task failed");
            assert_eq!(text.expect("the GET failed"), "entered");
            assert_ne!(here.as_deref(), Some(TOKIO_THREAD));
            let request_line = tulipa::time::timeout(LIMIT, server)
                .await
                .expect("the server hung")
                .unwrap();
            assert_eq!(request_line, "GET /greeting HTTP/1.1");
        });
    }
}

/// Sends on its channel when dropped, with the dropping thread's name.
struct OnDrop(Option<oneshot::Sender<Option<String>>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(std::thread::current().name().map(str::to_owned));
        }
    }
}

#[test]
fn dropping_the_run_cancels_the_tokio_work() {
    for rt in runtimes() {
        rt.block_on(async {
            let (started_tx, started_rx) = oneshot::channel();
            let (dropped_tx, dropped_rx) = oneshot::channel();
            let work = run(async move {
                let guard = OnDrop(Some(dropped_tx));
                let _ = started_tx.send(std::thread::current().name().map(str::to_owned));
                // Far longer than the test: only cancellation ends it.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(guard);
                "finished"
            });
            let ran_on = tulipa::time::timeout(LIMIT, started_rx)
                .await
                .expect("the tokio work never started")
                .expect("the tokio work dropped its sender");
            assert_eq!(ran_on.as_deref(), Some(TOKIO_THREAD));

            drop(work);
            let dropped_on = tulipa::time::timeout(LIMIT, dropped_rx)
                .await
                .expect("dropping the Run did not cancel the tokio work")
                .expect("the guard was dropped without sending");
            assert_eq!(dropped_on.as_deref(), Some(TOKIO_THREAD));
        });
    }
}

#[test]
fn a_panic_on_tokio_reaches_the_awaiting_task() {
    for rt in runtimes() {
        rt.block_on(async {
            let task = tulipa::spawn(async {
                run(async {
                    panic!("boom on tokio's thread");
                })
                .await
            });
            let err = tulipa::time::timeout(LIMIT, task)
                .await
                .expect("the panic was lost")
                .expect_err("the awaiting task must panic");
            assert!(err.is_panic());
            let payload = err.into_panic();
            assert_eq!(
                tulipa::core::panic_message(&*payload),
                Some("boom on tokio's thread")
            );
        });
    }
}

#[test]
fn enter_gives_tokio_timers_and_spawn_a_runtime() {
    for rt in runtimes() {
        rt.block_on(async {
            let spawned_on = tulipa::time::timeout(
                LIMIT,
                enter(async {
                    // Both panic outside a tokio runtime.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
                        .await
                        .unwrap()
                }),
            )
            .await
            .expect("the tokio timer never fired");
            assert_eq!(spawned_on.as_deref(), Some(TOKIO_THREAD));
        });
    }
}

#[test]
fn run_and_enter_futures_are_send_when_their_future_is() {
    fn check<T: Send>(_: &T) {}
    let work = run(async { 1 });
    check(&work);
    check(&enter(async { 1 }));
    tulipa::block_on(async { assert_eq!(work.await, 1) });
}
