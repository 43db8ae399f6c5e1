//! [`Error`]: what failed in a request, naming the method and the URL.

use std::fmt;

use http::{Method, StatusCode};

/// A boxed error, as hyper and tower use.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What part of a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The URL could not be used: not absolute, not `http` or `https`, no
    /// host.
    InvalidUrl,
    /// The request could not be built (a bad header name or value).
    Request,
    /// The host name did not resolve.
    Dns,
    /// No connection could be made (refused, unreachable, ...).
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// A timeout expired: connect, read or total.
    Timeout,
    /// The server answered with a 4xx or 5xx status, from
    /// [`Response::error_for_status`](crate::Response::error_for_status).
    Status,
    /// The connection failed while sending the request or reading the
    /// response head (reset, protocol error).
    Protocol,
    /// The response body could not be read whole (cut short, reset).
    Body,
    /// The body was not what was asked for: not text in its charset, not
    /// the JSON expected.
    Decode,
    /// Too many redirects, or a redirect that cannot be followed.
    Redirect,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::InvalidUrl => "invalid URL",
            ErrorKind::Request => "invalid request",
            ErrorKind::Dns => "DNS lookup failed",
            ErrorKind::Connect => "connect failed",
            ErrorKind::Tls => "TLS handshake failed",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Status => "error status",
            ErrorKind::Protocol => "request failed",
            ErrorKind::Body => "reading the response body failed",
            ErrorKind::Decode => "decoding the response body failed",
            ErrorKind::Redirect => "redirect failed",
        }
    }
}

/// A failed request: its method and URL, what failed ([`ErrorKind`]), and
/// the underlying error as [`source`](std::error::Error::source).
///
/// It prints as `GET http://example.com/: connect failed: connection
/// refused (os error 111)`.
pub struct Error {
    kind: ErrorKind,
    method: Method,
    url: String,
    status: Option<StatusCode>,
    detail: Option<String>,
    source: Option<BoxError>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, method: &Method, url: impl fmt::Display) -> Error {
        Error {
            kind,
            method: method.clone(),
            url: url.to_string(),
            status: None,
            detail: None,
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> Error {
        self.status = Some(status);
        self
    }

    /// What failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The method of the failed request.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL of the failed request (after redirects, the one that
    /// failed).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The response's status, for [`ErrorKind::Status`].
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// Whether a timeout expired.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.url, self.kind.describe())?;
        if let Some(status) = self.status {
            write!(f, " {status}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(source) = &self.source {
            // Lower layers may name the failure too ("TLS handshake
            // failed: ..."); say it once.
            let text = source.to_string();
            let text = text
                .strip_prefix(self.kind.describe())
                .map_or(text.as_str(), |rest| rest.trim_start_matches(": "));
            write!(f, ": {text}")?;
            // hyper's errors keep the cause one level down.
            let mut cause = source.source();
            while let Some(c) = cause {
                write!(f, ": {c}")?;
                cause = c.source();
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("status", &self.status)
            .field("detail", &self.detail)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        let kind = match e.kind {
            ErrorKind::Timeout => std::io::ErrorKind::TimedOut,
            ErrorKind::InvalidUrl | ErrorKind::Request => std::io::ErrorKind::InvalidInput,
            ErrorKind::Decode => std::io::ErrorKind::InvalidData,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

/// A failed connect, from the connector: the kind (DNS, connect, TLS,
/// timeout) travels through hyper-util's error to [`Error`].
#[derive(Debug)]
pub(crate) struct ConnectFailure {
    pub(crate) kind: ErrorKind,
    pub(crate) error: std::io::Error,
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for ConnectFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}
