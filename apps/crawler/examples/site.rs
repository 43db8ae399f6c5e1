//! A generated web site to point the crawler at: `--pages N` HTML pages
//! (`/p/0` ...), each about 3 KB with ten links to other pages and one to
//! another host, served on 127.0.0.1 with `tulipa::http::web::run_app`
//! until Ctrl-C. It writes the pages' URLs to `--urls FILE` first.
//!
//! ```text
//! $ cargo run --release -p crawler --example site -- --pages 10000 --port 8000 --urls urls.txt
//! $ cargo run --release -p crawler -- urls.txt --limit 100
//! ```

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const FILLER: &str = "Some text around the links, so that a page is about the size of a \
    small real one; the crawler decodes it and tokenizes every byte of it. ";

/// Page `i` of `n`.
fn page(i: usize, n: usize) -> String {
    let mut body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>Page {i}</title>\
         <link rel=stylesheet href=/style.css></head>\n<body><h1>Page {i}</h1>\n"
    );
    for k in 1..=10 {
        let to = (i * 7 + k * 1009 + 1) % n;
        body.push_str(&format!(
            "<p>{FILLER}<a href=\"/p/{to}\">page {to}</a>.</p>\n"
        ));
    }
    body.push_str(&format!(
        "<p><a href=\"https://example.org/from/{i}\">elsewhere</a></p></body></html>\n"
    ));
    body
}

fn main() -> std::io::Result<()> {
    let mut pages = 10_000;
    let mut port = 8000;
    let mut urls = String::from("urls.txt");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_default();
        match arg.as_str() {
            "--pages" => pages = value.parse().expect("--pages N: a number"),
            "--port" => port = value.parse().expect("--port N: a port number"),
            "--urls" => urls = value,
            other => panic!("unknown argument {other:?}: use --pages N --port N --urls FILE"),
        }
    }
    let list: String = (0..pages)
        .map(|i| format!("http://127.0.0.1:{port}/p/{i}\n"))
        .collect();
    std::fs::write(&urls, list)?;
    eprintln!("site: {pages} pages; their URLs are in {urls}");

    let n = Arc::new(pages);
    let app = Router::new()
        .route(
            "/p/{i}",
            get(
                |State(n): State<Arc<usize>>, Path(i): Path<usize>| async move {
                    if i >= *n {
                        let missing = [(header::CONTENT_TYPE, "text/html")];
                        return (StatusCode::NOT_FOUND, missing, "<h1>Not found</h1>")
                            .into_response();
                    }
                    (
                        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        page(i, *n),
                    )
                        .into_response()
                },
            ),
        )
        .with_state(n);
    tulipa::run(async move {
        let report = tulipa::http::web::run_app(app, ("127.0.0.1", port)).await?;
        eprintln!("site: stopped: {report}");
        Ok(())
    })
}
