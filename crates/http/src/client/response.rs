//! [`Response`]: the status and headers, and the body read with the
//! request's timeouts: `bytes()`, `text()`, `json()`, `chunk()`,
//! `bytes_stream()`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_lite::Stream;
use http::{HeaderMap, Method, StatusCode, Uri, Version};
use http_body::Body as _;
use hyper::body::Incoming;
use tulipa_timer::{Instant, Sleep, TimerHandle};

use super::error::{Error, ErrorKind};
use super::limit::HostPermit;

/// A response: status and headers, with the body still to read.
///
/// Read the body with [`bytes`](Response::bytes), [`text`](Response::text),
/// [`json`](Response::json), [`chunk`](Response::chunk) or
/// [`bytes_stream`](Response::bytes_stream). The request's read timeout
/// applies between chunks, its total timeout to the whole body.
///
/// Dropping a response returns its connection to the pool only when the
/// body was read to the end; otherwise the connection is closed (the rest
/// of the body would have to be read first), so a connection never carries
/// a stale body into the next request.
pub struct Response {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    url: Uri,
    method: Method,
    body: Incoming,
    done: bool,
    timers: Timers,
    permit: Option<HostPermit>,
}

/// The read and total timeouts of a response body.
pub(crate) struct Timers {
    pub(crate) timer: TimerHandle,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) read_sleep: Option<Sleep>,
    pub(crate) deadline_sleep: Option<Sleep>,
}

impl Response {
    pub(crate) fn new(
        response: http::Response<Incoming>,
        url: Uri,
        method: Method,
        timers: Timers,
        permit: Option<HostPermit>,
    ) -> Response {
        let (parts, body) = response.into_parts();
        Response {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            url,
            method,
            body,
            done: false,
            timers,
            permit,
        }
    }

    /// The status code (aiohttp's `resp.status`).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version the server answered with.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The URL of this response, after redirects (aiohttp's `resp.url`).
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The `Content-Length` the server declared, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    /// The response, or an [`ErrorKind::Status`] error for a 4xx or 5xx
    /// status (aiohttp's `raise_for_status()`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Status`] with [`Error::status`] set, for 400 to 599.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.status.is_client_error() || self.status.is_server_error() {
            Err(Error::new(ErrorKind::Status, &self.method, &self.url).with_status(self.status))
        } else {
            Ok(self)
        }
    }

    fn error(&self, kind: ErrorKind) -> Error {
        Error::new(kind, &self.method, &self.url)
    }

    /// Polls for the next chunk of the body; `None` at its end.
    ///
    /// # Errors
    ///
    /// As for [`chunk`](Response::chunk).
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
        if self.done {
            return Poll::Ready(Ok(None));
        }
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    // Trailers carry no data; skip them.
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if data.is_empty() {
                        continue;
                    }
                    if let (Some(sleep), Some(limit)) =
                        (&mut self.timers.read_sleep, self.timers.read_timeout)
                    {
                        sleep.reset(self.timers.timer.now() + limit);
                    }
                    return Poll::Ready(Ok(Some(data)));
                }
                Poll::Ready(Some(Err(e))) => {
                    self.finish();
                    return Poll::Ready(Err(self.error(ErrorKind::Body).with_source(e)));
                }
                Poll::Ready(None) => {
                    self.finish();
                    return Poll::Ready(Ok(None));
                }
                Poll::Pending => break,
            }
        }
        let timers = &mut self.timers;
        if let Some(limit) = timers.read_timeout {
            let sleep = timers
                .read_sleep
                .get_or_insert_with(|| timers.timer.sleep(limit));
            if Pin::new(sleep).poll(cx).is_ready() {
                self.finish();
                return Poll::Ready(Err(self
                    .error(ErrorKind::Timeout)
                    .with_detail(format!("no body data within the read timeout of {limit:?}"))));
            }
        }
        if let Some(deadline) = timers.deadline {
            let sleep = timers
                .deadline_sleep
                .get_or_insert_with(|| timers.timer.sleep_until(deadline));
            if Pin::new(sleep).poll(cx).is_ready() {
                self.finish();
                return Poll::Ready(Err(self
                    .error(ErrorKind::Timeout)
                    .with_detail("the body was not read within the request's total timeout")));
            }
        }
        Poll::Pending
    }

    /// The body is over (or failed): give the host's slot back.
    fn finish(&mut self) {
        self.done = true;
        self.permit = None;
        self.timers.read_sleep = None;
        self.timers.deadline_sleep = None;
    }

    /// The next chunk of the body as it arrives; `None` at its end.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Body`] if the body is cut short (fewer bytes than its
    /// `Content-Length`, a connection reset), [`ErrorKind::Timeout`] if the
    /// read or total timeout expires.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a chunk is taken only when this returns it.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        futures_lite::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// The whole body (aiohttp's `await resp.read()`).
    ///
    /// # Errors
    ///
    /// As for [`chunk`](Response::chunk): a body cut short is an error,
    /// never a truncated success.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        let first = match self.chunk().await? {
            None => return Ok(Bytes::new()),
            Some(first) => first,
        };
        let Some(second) = self.chunk().await? else {
            return Ok(first);
        };
        let hint = self.content_length().unwrap_or(0).min(64 << 20) as usize;
        let mut all = BytesMut::with_capacity(hint.max(first.len() + second.len()));
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        while let Some(chunk) = self.chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }

    /// The body as text, decoded with the charset of its `Content-Type`
    /// (UTF-8 when it names none), as aiohttp's `await resp.text()`.
    /// Charset names are the WHATWG labels browsers accept, and Python's
    /// spellings of them (`latin-1`, `utf_8`).
    ///
    /// # Errors
    ///
    /// As for [`bytes`](Response::bytes), and [`ErrorKind::Decode`] if the
    /// charset is unknown or the body is not valid in it.
    pub async fn text(self) -> Result<String, Error> {
        let label = self.charset();
        let method = self.method.clone();
        let url = self.url.clone();
        let bytes = self.bytes().await?;
        let encoding = match &label {
            None => encoding_rs::UTF_8,
            Some(label) => encoding_for(label).ok_or_else(|| {
                Error::new(ErrorKind::Decode, &method, &url)
                    .with_detail(format!("unknown charset {label:?} in the Content-Type"))
            })?,
        };
        encoding
            .decode_without_bom_handling_and_without_replacement(&bytes)
            .map(|text| text.into_owned())
            .ok_or_else(|| {
                Error::new(ErrorKind::Decode, &method, &url)
                    .with_detail(format!("the body is not valid {}", encoding.name()))
            })
    }

    /// The `charset` parameter of the `Content-Type`, if any.
    pub fn charset(&self) -> Option<String> {
        let content_type = self
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        content_type.split(';').skip(1).find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
    }

    /// The body parsed as JSON (aiohttp's `await resp.json()`).
    ///
    /// # Errors
    ///
    /// As for [`bytes`](Response::bytes), and [`ErrorKind::Decode`] if the
    /// body is not the JSON `T` expects.
    #[cfg(feature = "json")]
    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, Error> {
        let method = self.method.clone();
        let url = self.url.clone();
        let bytes = self.bytes().await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::new(ErrorKind::Decode, &method, &url).with_source(e))
    }

    /// The body as a stream of chunks (aiohttp's `resp.content.iter_any()`).
    pub fn bytes_stream(self) -> BytesStream {
        BytesStream { response: self }
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url)
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// The encoding a charset label names: a WHATWG label (what browsers
/// accept), or the spelling Python's codecs accept and servers written in
/// it send (`latin-1`, `utf_8`), by dropping `-` / `_`.
fn encoding_for(label: &str) -> Option<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_label(label.as_bytes()).or_else(|| {
        let squeezed: String = label.chars().filter(|c| !matches!(c, '-' | '_')).collect();
        encoding_rs::Encoding::for_label(squeezed.as_bytes())
            .or_else(|| encoding_rs::Encoding::for_label(label.replace('_', "-").as_bytes()))
    })
}

/// The body of a [`Response`] as a [`Stream`] of chunks; from
/// [`Response::bytes_stream`]. It ends after the last chunk, or after
/// yielding an error.
#[derive(Debug)]
pub struct BytesStream {
    response: Response,
}

impl BytesStream {
    /// The response this stream reads.
    pub fn response(&self) -> &Response {
        &self.response
    }
}

impl Stream for BytesStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let response = &mut self.get_mut().response;
        match response.poll_chunk(cx) {
            Poll::Ready(Ok(Some(chunk))) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::encoding_for;

    #[test]
    fn charset_labels_of_browsers_and_python() {
        for (label, name) in [
            ("utf-8", "UTF-8"),
            ("UTF8", "UTF-8"),
            ("utf_8", "UTF-8"),
            ("ISO-8859-1", "windows-1252"),
            ("latin1", "windows-1252"),
            ("latin-1", "windows-1252"),
            ("shift_jis", "Shift_JIS"),
            ("cp1252", "windows-1252"),
        ] {
            assert_eq!(encoding_for(label).map(|e| e.name()), Some(name), "{label}");
        }
        assert!(encoding_for("klingon").is_none());
    }
}
