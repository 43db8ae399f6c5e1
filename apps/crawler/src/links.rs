//! Reading a page: its links, found with html5gum's tokenizer, and its
//! character encoding when the `Content-Type` names none.
//!
//! # What counts as a link
//!
//! The hyperlinks of the HTML standard: the `href` of every `<a>` and
//! `<area>` start tag. `<link href>` (stylesheets, icons, feeds) names a
//! resource, not a page, and is not a link here. The first `<base href>`
//! sets the URL the others resolve against (the page's own URL, after
//! redirects, when there is none), wherever it stands in the page.
//!
//! Each `href` is resolved with the `url` crate as a browser would
//! (WHATWG URL parsing: whitespace trimmed, `../` removed, non-ASCII
//! percent-encoded as UTF-8); only `http` and `https` results are kept
//! (`mailto:`, `javascript:`, `tel:`, ... are dropped, as are hrefs that
//! do not parse); the `#fragment` is removed, so `#top` is a link to the
//! page itself; and each link is kept once, in the order it first appears.
//!
//! The tokenizer switches into raw-text states after `<script>`, `<style>`,
//! `<textarea>` and `<title>` (html5gum's naive state switching), so an
//! `<a href>` inside a script's string is text, not a link. Comments are
//! comments.

use std::borrow::Cow;
use std::collections::HashSet;

use encoding_rs::Encoding;
use html5gum::{DefaultEmitter, Token, Tokenizer};
use url::Url;

/// The links of `html`, a page whose URL (after redirects) is `page`; see
/// the module docs for what counts.
///
/// # Examples
///
/// ```
/// use url::Url;
///
/// let page = Url::parse("http://example.com/docs/intro.html").unwrap();
/// let html = r#"<a href="setup.html#linux">Setup</a> <a href=/>Home</a>
///               <a href="mailto:me@example.com">me</a> <a href=setup.html>again</a>"#;
/// let links: Vec<String> = crawler::links::links(html, &page)
///     .iter()
///     .map(Url::to_string)
///     .collect();
/// assert_eq!(links, ["http://example.com/docs/setup.html", "http://example.com/"]);
/// ```
pub fn links(html: &str, page: &Url) -> Vec<Url> {
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut base = None;
    let mut hrefs = Vec::new();
    for Ok(token) in Tokenizer::new_with_emitter(html, emitter) {
        let Token::StartTag(tag) = token else {
            continue;
        };
        let Some(href) = tag.attributes.get(b"href".as_slice()) else {
            continue;
        };
        match tag.name.as_slice() {
            b"a" | b"area" => hrefs.push(href.value.clone()),
            b"base" if base.is_none() => base = Some(page.join(&String::from_utf8_lossy(href))),
            _ => {}
        }
    }
    // A <base href> that does not parse leaves the page's URL in force.
    let base = base.and_then(Result::ok);
    let base = base.as_ref().unwrap_or(page);
    let mut seen = HashSet::new();
    hrefs
        .iter()
        .filter_map(|href| base.join(&String::from_utf8_lossy(href)).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|mut url| {
            url.set_fragment(None);
            url
        })
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

/// Decodes an HTML body whose `Content-Type` names no charset, as a
/// browser would without one: by its byte order mark, else by the
/// `<meta charset>` or `<meta http-equiv="Content-Type">` in its first
/// 1024 bytes, else as UTF-8.
///
/// # Errors
///
/// The encoding chosen, if the body is not valid in it (nothing is
/// replaced: a page that does not decode is reported, not guessed at).
///
/// # Examples
///
/// ```
/// let page = b"<meta charset=iso-8859-1><a href=caf\xe9>caf\xe9</a>";
/// assert_eq!(crawler::links::decode(page).unwrap(), "<meta charset=iso-8859-1><a href=café>café</a>");
/// assert_eq!(crawler::links::decode(b"caf\xe9").unwrap_err().name(), "UTF-8");
/// ```
pub fn decode(body: &[u8]) -> Result<String, &'static Encoding> {
    let (encoding, bom) = Encoding::for_bom(body)
        .unwrap_or_else(|| (meta_charset(body).unwrap_or(encoding_rs::UTF_8), 0));
    encoding
        .decode_without_bom_handling_and_without_replacement(&body[bom..])
        .map(Cow::into_owned)
        .ok_or(encoding)
}

/// The encoding the first `<meta>` that declares one in the first 1024
/// bytes of `body` names (the HTML standard's prescan looks that far).
/// A declared UTF-16 means UTF-8, as in browsers: a page that `<meta>` can
/// be read in is not UTF-16.
pub fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(1024)];
    for Ok(token) in Tokenizer::new(head) {
        let Token::StartTag(tag) = token else {
            continue;
        };
        if tag.name.as_slice() != b"meta" {
            continue;
        }
        let attr = |name: &str| tag.attributes.get(name.as_bytes()).map(|v| v.as_slice());
        let label = match (attr("charset"), attr("http-equiv"), attr("content")) {
            (Some(charset), _, _) => Some(charset),
            (None, Some(equiv), Some(content)) if equiv.eq_ignore_ascii_case(b"content-type") => {
                charset_param(content)
            }
            _ => None,
        };
        if let Some(encoding) = label.and_then(Encoding::for_label) {
            return Some(encoding.output_encoding());
        }
    }
    None
}

/// The value of `charset=` in a `Content-Type` such as
/// `text/html; charset="iso-8859-1"`.
fn charset_param(content: &[u8]) -> Option<&[u8]> {
    let at = content
        .windows(7)
        .position(|w| w.eq_ignore_ascii_case(b"charset"))?;
    let rest = content[at + 7..].trim_ascii_start();
    let rest = rest.strip_prefix(b"=")?.trim_ascii_start();
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'\'' | b';') || b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(html: &str, page: &str) -> Vec<String> {
        links(html, &Url::parse(page).unwrap())
            .iter()
            .map(Url::to_string)
            .collect()
    }

    #[test]
    fn a_and_area_resolved_deduplicated_without_fragments() {
        let html = r##"<!doctype html><html><head>
            <link rel=stylesheet href="style.css"><title><a href="/in-title"></title>
            <script>document.write('<a href="/in-script">x</a>')</script>
            </head><body><!-- <a href="/in-comment"> -->
            <a href="next.html">next</a> <a HREF='next.html#part'>again</a>
            <A href=" ../up.html ">up</a> <area href="map" shape=rect>
            <a href="#top">top</a> <a href="">self</a> <a>no href</a>
            <a href="https://other.example/x?q=1&amp;r=2">other</a>
            <a href="//cdn.example/lib">scheme-relative</a>
            <a href="mailto:a@b.c">mail</a> <a href="javascript:void(0)">js</a>
            <a href="http://[bad">bad</a> <a href="ftp://files.example/">ftp</a>
            </body></html>"##;
        assert_eq!(
            found(html, "http://h.example/dir/page.html#frag"),
            [
                "http://h.example/dir/next.html",
                "http://h.example/up.html",
                "http://h.example/dir/map",
                "http://h.example/dir/page.html",
                "https://other.example/x?q=1&r=2",
                "http://cdn.example/lib",
            ]
        );
    }

    #[test]
    fn the_first_base_href_applies_to_every_link() {
        let html = r#"<a href="a">a</a><base href="/b/"><base href="/ignored/"><a href="c">c</a>"#;
        assert_eq!(
            found(html, "http://h.example/x/y"),
            ["http://h.example/b/a", "http://h.example/b/c"]
        );
        // A base that does not parse leaves the page's URL as the base.
        let html = r#"<base href="http://[oops"><a href="c">c</a>"#;
        assert_eq!(
            found(html, "http://h.example/x/y"),
            ["http://h.example/x/c"]
        );
    }

    #[test]
    fn non_ascii_links_are_percent_encoded_as_utf8() {
        assert_eq!(
            found("<a href='café/ñ?q=é'>x</a>", "http://h.example/"),
            ["http://h.example/caf%C3%A9/%C3%B1?q=%C3%A9"]
        );
    }

    #[test]
    fn charset_from_bom_meta_or_utf8() {
        assert_eq!(decode(b"\xef\xbb\xbfcaf\xc3\xa9").unwrap(), "café");
        assert_eq!(decode(b"\xff\xfec\x00").unwrap(), "c");
        assert_eq!(
            decode(b"<meta charset='windows-1252'>\x80").unwrap(),
            "<meta charset='windows-1252'>€"
        );
        let equiv = b"<head><meta http-equiv=Content-Type content='text/html; Charset = \"ISO-8859-1\"'>\xe9";
        assert!(decode(equiv).unwrap().ends_with('é'));
        // UTF-16 in a <meta> means UTF-8; unknown labels are skipped.
        assert_eq!(
            meta_charset(b"<meta charset=utf-16le>"),
            Some(encoding_rs::UTF_8)
        );
        assert_eq!(
            meta_charset(b"<meta charset=klingon><meta charset=latin1>").map(|e| e.name()),
            Some("windows-1252")
        );
        // Only the first 1024 bytes are looked at.
        let late = format!("{}<meta charset=latin1>", " ".repeat(1024));
        assert_eq!(meta_charset(late.as_bytes()), None);
        assert_eq!(decode(b"plain \xe9").unwrap_err(), encoding_rs::UTF_8);
    }
}
