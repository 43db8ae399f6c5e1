//! The HTTP API: an axum [`Router`] over any [`Store`].
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /stuff/{id}` | `200` and the document, or `404` |
//! | `PUT /stuff/{id}` with a JSON body | `201 Created` (with `Location`) when the id was new, `200 OK` when it replaced a document; the body says which: `{"id": 7, "created": true}` |
//! | an id that is not a 64-bit integer | `400` |
//! | a body that is empty or not JSON | `400`, naming where the JSON broke |
//! | a body over the server's 1 MiB limit | `413` |
//! | another path | `404`; another method on `/stuff/{id}`: `405` |
//! | the database down or saturated | `503` with `Retry-After: 1` |
//!
//! Every error is a JSON object `{"error": "..."}` whose message says
//! what was wrong and what to do. The body of a `PUT` is parsed whatever
//! its `Content-Type` says, so `curl -d '{"a": 1}'` (which sends a form
//! type) works.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::store::{Put, Store, StoreError};

/// The service's routes over `store`.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
///
/// tulipa::run(async {
///     let store = rest::sqlite::SqliteStore::open("rest.db").await?;
///     let app = rest::api::router(Arc::new(store));
///     tulipa::http::web::run_app(app, "127.0.0.1:8080").await?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })
/// .unwrap();
/// ```
pub fn router<S: Store>(store: Arc<S>) -> Router {
    Router::new()
        .route("/stuff/{id}", get(get_doc::<S>).put(put_doc::<S>))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(store)
}

async fn get_doc<S: Store>(State(store): State<Arc<S>>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match store.get(id).await {
        Ok(Some(doc)) => Json(doc).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no document with id {id}; PUT one there first"),
        ),
        Err(e) => store_error(&e),
    }
}

async fn put_doc<S: Store>(
    State(store): State<Arc<S>>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let body = match body {
        Ok(body) => body,
        // Too large (413), or the connection broke while reading.
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return error(
            StatusCode::BAD_REQUEST,
            "the body is empty: send the JSON document to store".to_owned(),
        );
    }
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(doc) => doc,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}; send a JSON document"),
            )
        }
    };
    match store.put(id, doc).await {
        Ok(Put::Created) => {
            let location = HeaderValue::from_str(&format!("/stuff/{id}"))
                .expect("digits and slashes are a valid header value");
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(json!({ "id": id, "created": true })),
            )
                .into_response()
        }
        Ok(Put::Replaced) => Json(json!({ "id": id, "created": false })).into_response(),
        Err(e) => store_error(&e),
    }
}

/// An id from the path, or the message of the `400` that says why it is
/// not one.
fn parse_id(text: &str) -> Result<i64, String> {
    text.parse().map_err(|_| {
        format!(
            "the id {text:?} is not a whole number between {} and {}: use one, as in /stuff/42",
            i64::MIN,
            i64::MAX
        )
    })
}

async fn no_route(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no route for {method} {}: the API is GET and PUT /stuff/{{id}}",
            uri.path()
        ),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}: use GET or PUT", uri.path()),
    )
}

fn store_error(e: &StoreError) -> Response {
    match e {
        StoreError::Unavailable(_) => {
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        StoreError::Rejected(_) => error(StatusCode::BAD_REQUEST, e.to_string()),
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `status` with `{"error": message}`.
fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
