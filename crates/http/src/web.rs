//! aiohttp's `web.run_app`: serve an application until Ctrl-C or SIGTERM.
//!
//! axum is the router (aiohttp's `web.Application` and `router.add_get`
//! become an axum `Router` and `.route("/", get(handler))`); this module
//! adds what `aiohttp.web` has and axum has not: one call that binds,
//! prints where it serves, and shuts down gracefully on a signal.

use std::io;
use std::time::Duration;

use crate::server::{Builder, HttpBody, HttpService, ShutdownReport};

/// How long requests in flight get to finish after Ctrl-C or SIGTERM, as
/// aiohttp's `shutdown_timeout` (60 s).
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves `app` on `addr` until Ctrl-C (`SIGINT`) or `SIGTERM`, then shuts
/// down gracefully (in-flight requests get [`SHUTDOWN_TIMEOUT`]) and
/// returns what the shutdown did: aiohttp's `web.run_app(app)`.
///
/// It prints `======== Running on http://ADDR ========` when it starts
/// serving, as aiohttp does. Use [`run_app_with`] for other server
/// settings.
///
/// # Examples
///
/// ```no_run
/// use axum::{routing::get, Router};
///
/// // app = web.Application(); app.add_routes([web.get('/', hello)])
/// let app = Router::new().route("/", get(|| async { "Hello world." }));
/// // web.run_app(app)
/// tulipa::run(tulipa_http::web::run_app(app, "127.0.0.1:8080")).unwrap();
/// ```
///
/// # Errors
///
/// Fails if the address cannot be bound (in use: pick another port), if
/// the signal handlers cannot be installed, or if the listener fails.
pub async fn run_app<S, B>(
    app: S,
    addr: impl tulipa_net::ToSocketAddrs,
) -> io::Result<ShutdownReport>
where
    S: HttpService<B>,
    B: HttpBody,
{
    run_app_with(Builder::new(), app, addr).await
}

/// [`run_app`] with the server settings of `builder`.
///
/// # Errors
///
/// As for [`run_app`].
pub async fn run_app_with<S, B>(
    builder: Builder,
    app: S,
    addr: impl tulipa_net::ToSocketAddrs,
) -> io::Result<ShutdownReport>
where
    S: HttpService<B>,
    B: HttpBody,
{
    use tulipa_process::signal::{Signals, SIGINT, SIGTERM};

    // Install the handlers before announcing the address, so a signal
    // sent as soon as the line appears is not lost.
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let listener = tulipa_net::TcpListener::bind(addr).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "run_app: could not listen: {e} (is another server on that port? pass another one)"
            ),
        )
    })?;
    let local = listener.local_addr()?;
    println!("======== Running on http://{local} ========\n(Press CTRL+C to quit)");
    let report = builder
        .serve(listener, app)
        .with_graceful_shutdown(
            async move {
                let signal = signals.recv().await;
                eprintln!("received {signal}, shutting down");
            },
            SHUTDOWN_TIMEOUT,
        )
        .await?;
    Ok(report)
}
