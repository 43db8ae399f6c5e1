//! aiohttp.web's hello world: `GET /` answers `Hello world.`, over HTTP/1.1
//! and HTTP/2 (prior knowledge, told apart by the request's first bytes),
//! until Ctrl-C or SIGTERM; then it shuts down gracefully and says what the
//! shutdown did and how long it served.
//!
//! It mirrors this aiohttp program:
//!
//! ```python
//! from aiohttp import web
//!
//! async def hello(request):
//!     return web.Response(text="Hello world.")
//!
//! app = web.Application()
//! app.router.add_get("/", hello)
//! web.run_app(app, host="127.0.0.1", port=8080)
//! ```
//!
//! aiohttp's `web.Application` and `router.add_get` are an axum `Router`
//! and `.route("/", get(hello))`; `web.run_app` is
//! `tulipa::http::web::run_app`, which is async and runs inside
//! `tulipa::run` (tulipa-http does not own the runtime).
//!
//! Run it, on 127.0.0.1:8080 or the port given with `--port N`, and ask it
//! from another terminal:
//!
//! ```sh
//! cargo run -p tulipa --example web_hello -- --port 8081
//! curl -s http://127.0.0.1:8081/
//! curl -s --http2-prior-knowledge http://127.0.0.1:8081/
//! ```
//!
//! Ctrl-C (or `kill -TERM`) stops it; it exits with status 0.

use std::process::ExitCode;
use std::time::Instant;

use axum::routing::get;
use axum::Router;

/// The handler: `async def hello(request)`.
async fn hello() -> &'static str {
    "Hello world."
}

/// The port of `--port N` (or `--port=N`), else 8080.
fn port() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = 8080;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--port") {
            Some("") => args.next().ok_or("--port needs a value")?,
            Some(rest) if rest.starts_with('=') => rest[1..].to_owned(),
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; usage: web_hello [--port N]"
                ))
            }
        };
        port = value
            .parse()
            .map_err(|_| format!("--port {value:?}: not a port number"))?;
    }
    Ok(port)
}

fn main() -> ExitCode {
    let port = match port() {
        Ok(port) => port,
        Err(e) => {
            eprintln!("web_hello: {e}");
            return ExitCode::from(2);
        }
    };
    // app = web.Application(); app.router.add_get("/", hello)
    let app = Router::new().route("/", get(hello));
    let start = Instant::now();
    // web.run_app(app, host=..., port=...): serves until Ctrl-C or SIGTERM.
    match tulipa::run(tulipa::http::web::run_app(app, ("127.0.0.1", port))) {
        Ok(report) => {
            println!(
                "served for {:.1} s; {report}",
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("web_hello: {e}");
            ExitCode::FAILURE
        }
    }
}
