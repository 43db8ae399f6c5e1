//! The service every connection runs: the user's tower service, with the
//! body limit, a panic guard and request counting around it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use futures_lite::FutureExt;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{Full, Limited};
use hyper::body::Incoming;
use tower_service::Service;

use super::shared::Shared;

/// The body of a request as the service sees it: hyper's incoming body,
/// cut off with an error past the server's maximum body size
/// ([`Builder::max_body_size`](super::Builder::max_body_size)). The error
/// is an [`http_body_util::LengthLimitError`], which axum's extractors
/// answer with `413 Payload Too Large`.
pub type RequestBody = Limited<Incoming>;

pin_project_lite::pin_project! {
    /// What a connection answers with: the service's body, or a short body
    /// of the server's own (413, 500). It holds the request's in-flight
    /// count until hyper is done with it (the body was sent, or the
    /// connection dropped it), so a cut connection reports a request whose
    /// response was still streaming.
    pub struct ResponseBody<B> {
        #[pin]
        inner: Inner<B>,
        in_flight: Option<InFlight>,
    }
}

pin_project_lite::pin_project! {
    #[project = InnerProj]
    enum Inner<B> {
        Service { #[pin] body: B },
        Own { #[pin] body: Full<Bytes> },
    }
}

impl<B> http_body::Body for ResponseBody<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, B::Error>>> {
        match self.project().inner.project() {
            InnerProj::Service { body } => body.poll_frame(cx),
            InnerProj::Own { body } => body
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(|never| match never {}))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Service { body } => body.is_end_stream(),
            Inner::Own { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.inner {
            Inner::Service { body } => body.size_hint(),
            Inner::Own { body } => body.size_hint(),
        }
    }
}

/// A boxed error, as hyper and tower use.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A tower [`Service`] that [`serve`](crate::serve) can run: it takes
/// `Request<RequestBody>`, answers `Response<B>`, and can be cloned into
/// each connection. Implemented for every such service: an axum `Router`,
/// a [`service_fn`], a [`FromHyper`] hyper service.
pub trait HttpService<B>:
    Service<
        Request<RequestBody>,
        Response = Response<B>,
        Future: Send + 'static,
        Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    > + Clone
    + Send
    + 'static
{
}

impl<S, B> HttpService<B> for S
where
    S: Service<Request<RequestBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
}

/// A response body that [`serve`](crate::serve) can send: `Bytes` chunks,
/// an error hyper can box. Implemented for every such body (axum's, a
/// `Full<Bytes>`, a `String`).
pub trait HttpBody:
    http_body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + Send
    + 'static
{
}

impl<B> HttpBody for B
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
}

/// The per-connection hyper service around the user's tower service `S`.
pub(crate) struct Guarded<S> {
    pub(crate) inner: S,
    pub(crate) shared: Arc<Shared>,
    pub(crate) conn: Arc<super::shared::Conn>,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Guarded<S>
where
    S: Service<Request<RequestBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<ResponseBody<B>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let limit = self.shared.config.max_body_size;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let (Some(limit), Some(len)) = (limit, declared) {
            if len > limit {
                // Answer before reading a byte of it, and close: draining
                // a body we refused would cost what the limit saves.
                let message = format!(
                    "request body of {len} bytes is over this server's limit of {limit} bytes\n"
                );
                return Box::pin(std::future::ready(Ok(short(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    message,
                ))));
            }
        }
        let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        let req = req.map(|body| Limited::new(body, limit));
        let mut inner = self.inner.clone();
        let in_flight = InFlight::new(self.shared.clone(), self.conn.clone());
        let method = req.method().clone();
        let uri = req.uri().clone();
        Box::pin(async move {
            let call = async move {
                futures_lite::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                inner.call(req).await
            };
            let result = AssertUnwindSafe(call).catch_unwind().await;
            match result {
                Ok(Ok(response)) => Ok(response.map(|body| ResponseBody {
                    inner: Inner::Service { body },
                    in_flight: Some(in_flight),
                })),
                Ok(Err(e)) => Err(e.into()),
                Err(panic) => {
                    // The panic hook already printed the panic; name the
                    // request it happened in, answer 500 and close only
                    // this connection.
                    eprintln!(
                        "tulipa-http: the handler of {method} {} panicked: {}; \
                         answered 500 and closed the connection",
                        uri.path(),
                        tulipa_core::panic_message(&*panic).unwrap_or("a non-string payload")
                    );
                    Ok(short(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "500 Internal Server Error\n".to_owned(),
                    ))
                }
            }
        })
    }
}

/// A short plain-text answer of the server's own, closing the connection.
fn short<B>(status: StatusCode, message: String) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody {
        inner: Inner::Own {
            body: Full::new(Bytes::from(message)),
        },
        in_flight: None,
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Counts a request as in flight from the call until its response was
/// sent (or dropped, when the connection is cut).
pub struct InFlight {
    shared: Arc<Shared>,
    conn: Arc<super::shared::Conn>,
}

impl InFlight {
    fn new(shared: Arc<Shared>, conn: Arc<super::shared::Conn>) -> InFlight {
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        shared.requests.fetch_add(1, Ordering::Relaxed);
        InFlight { shared, conn }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A plain async function as a tower [`Service`], for handlers without a
/// router.
///
/// # Examples
///
/// ```no_run
/// use http::{Request, Response};
/// use tulipa_http::{service_fn, RequestBody};
///
/// # tulipa::run(async {
/// let listener = tulipa_net::TcpListener::bind("127.0.0.1:0").await?;
/// let hello = service_fn(|_req: Request<RequestBody>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::from("Hello world.")))
/// });
/// tulipa_http::serve(listener, hello).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub fn service_fn<F>(f: F) -> ServiceFn<F> {
    ServiceFn { f }
}

/// A tower [`Service`] made of an async function; see [`service_fn`].
#[derive(Clone, Copy, Debug)]
pub struct ServiceFn<F> {
    f: F,
}

impl<F, Fut, Req, Res, E> Service<Req> for ServiceFn<F>
where
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = Result<Res, E>>,
{
    type Response = Res;
    type Error = E;
    type Future = Fut;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), E>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Fut {
        (self.f)(req)
    }
}

/// A hyper [`Service`](hyper::service::Service) as a tower [`Service`], to
/// serve hyper services (e.g. `hyper::service::service_fn`) with
/// [`serve`](crate::serve).
#[derive(Clone, Copy, Debug)]
pub struct FromHyper<S>(pub S);

impl<S, Req> Service<Req> for FromHyper<S>
where
    S: hyper::service::Service<Req>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> S::Future {
        hyper::service::Service::call(&self.0, req)
    }
}
