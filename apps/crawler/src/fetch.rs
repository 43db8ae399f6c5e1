//! Fetching one page: a GET, a 2xx HTML answer, its text; or the
//! [`Problem`] that stopped it.

use std::fmt;

use tulipa::http::http::{header, StatusCode};
use tulipa::http::{Client, ErrorKind, Response};
use url::Url;

use crate::links;

/// A page fetched and decoded.
#[derive(Debug)]
pub struct Page {
    /// Where the page was found, after redirects: its links resolve
    /// against this URL.
    pub url: Url,
    /// The page, decoded.
    pub html: String,
}

/// Fetches `url` with `client` (whose timeout bounds the whole request):
/// the answer must be a 2xx with an HTML `Content-Type`, and decode.
///
/// The text is decoded with the charset its `Content-Type` names, by
/// [`Response::text`](tulipa::http::Response::text); without one, by the
/// page's byte order mark or `<meta>` ([`links::decode`]).
///
/// # Errors
///
/// The [`Problem`] that stopped it.
pub async fn fetch(client: &Client, url: &Url) -> Result<Page, Problem> {
    let response = client.get(url.as_str()).send().await?;
    if !response.status().is_success() {
        let status = response.status();
        discard(response).await;
        return Err(Problem::Status(status));
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if !content_type.as_deref().is_some_and(is_html) {
        discard(response).await;
        return Err(Problem::NotHtml(content_type));
    }
    // tulipa-http's URL after redirects, as the `url` crate's.
    let url = Url::parse(&response.url().to_string())
        .map_err(|e| Problem::InvalidUrl(format!("redirected to an unusable URL: {e}")))?;
    let html = match response.charset() {
        Some(_) => response.text().await?,
        None => links::decode(&response.bytes().await?)
            .map_err(|encoding| Problem::Decode(format!("not valid {}", encoding.name())))?,
    };
    Ok(Page { url, html })
}

/// Reads an unwanted body to its end if it is small, so that its
/// connection goes back to the pool (a dropped response's connection is
/// closed); a large one is cheaper to close than to read.
async fn discard(response: Response) {
    if response
        .content_length()
        .is_some_and(|len| len <= 64 * 1024)
    {
        let _ = response.bytes().await;
    }
}

/// Whether a `Content-Type` is HTML (`text/html` or XHTML).
fn is_html(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/html")
        || essence.eq_ignore_ascii_case("application/xhtml+xml")
}

/// Why a URL gave no links.
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// Not an absolute `http` or `https` URL.
    InvalidUrl(String),
    /// The request failed: DNS, connect, a timeout, a redirect, a body cut
    /// short, or a body not valid in its `Content-Type`'s charset.
    Request(tulipa::http::Error),
    /// The answer's status is not 2xx (after redirects).
    Status(StatusCode),
    /// The answer is not HTML: its `Content-Type`, or `None` without one.
    NotHtml(Option<String>),
    /// The body, without a charset in its `Content-Type`, is not valid in
    /// the encoding its byte order mark or `<meta>` names (or UTF-8).
    Decode(String),
}

impl Problem {
    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Problem::Request(e) if e.is_timeout())
    }

    /// Whether the body could not be decoded, by its `Content-Type`'s
    /// charset or its `<meta>`'s.
    pub fn is_decode(&self) -> bool {
        match self {
            Problem::Decode(_) => true,
            Problem::Request(e) => e.kind() == ErrorKind::Decode,
            _ => false,
        }
    }
}

impl From<tulipa::http::Error> for Problem {
    fn from(e: tulipa::http::Error) -> Problem {
        Problem::Request(e)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            Problem::Request(e) => write!(f, "{e}"),
            Problem::Status(status) => write!(f, "error status {status}"),
            Problem::NotHtml(Some(content_type)) => write!(f, "not HTML: {content_type}"),
            Problem::NotHtml(None) => write!(f, "not HTML: no Content-Type"),
            Problem::Decode(why) => write!(f, "decoding the page failed: {why}"),
        }
    }
}

/// A URL that gave no links, and why.
#[derive(Debug)]
pub struct Failure {
    /// The URL as listed or found (without its fragment).
    pub url: String,
    /// What went wrong.
    pub problem: Problem,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            // tulipa-http's errors already say `GET URL: ...`.
            Problem::Request(e) => write!(f, "{e}"),
            problem => write!(f, "GET {}: {problem}", self.url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_html;

    #[test]
    fn html_content_types() {
        assert!(is_html("text/html"));
        assert!(is_html("Text/HTML; charset=utf-8"));
        assert!(is_html("application/xhtml+xml"));
        assert!(!is_html("text/plain"));
        assert!(!is_html("application/json; charset=utf-8"));
        assert!(!is_html(""));
    }
}
