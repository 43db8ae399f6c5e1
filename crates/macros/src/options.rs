//! The attribute's options: `flavor = "..."`, `worker_threads = N`,
//! `start_paused = bool`, `debug = bool`, `crate = "path"`.
//!
//! The grammar is a comma-separated list of `name = value`, walked token
//! by token. Every mistake becomes an [`Error`] on the tokens at fault.

use proc_macro::{Delimiter, Span, TokenStream, TokenTree};

use crate::error::Error;
use crate::Kind;

/// The options every attribute accepts, for the "unknown option" error.
const KNOWN: &str = "`flavor`, `worker_threads`, `start_paused`, `debug` or `crate`";

/// Which executor the generated runtime uses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The parsed options; `None` leaves the builder's default.
pub(crate) struct Options {
    pub(crate) flavor: Flavor,
    pub(crate) worker_threads: Option<usize>,
    pub(crate) start_paused: Option<bool>,
    pub(crate) debug: Option<bool>,
    /// The path of the facade crate: `::tulipa` unless `crate = "..."`.
    pub(crate) krate: TokenStream,
}

impl Options {
    /// Parses the attribute's arguments.
    pub(crate) fn parse(kind: Kind, args: TokenStream) -> Result<Options, Error> {
        let mut flavor: Option<Flavor> = None;
        let mut worker_threads: Option<(usize, Span, Span)> = None;
        let mut start_paused = None;
        let mut debug = None;
        let mut krate = None;

        let mut tokens = args.into_iter().peekable();
        while let Some(token) = tokens.next() {
            let TokenTree::Ident(name) = &token else {
                return Err(Error::new(
                    token.span(),
                    format!("expected an option name, one of {KNOWN}, found `{token}`"),
                ));
            };
            let name_str = name.to_string();
            match tokens.next() {
                Some(TokenTree::Punct(p)) if p.as_char() == '=' => {}
                Some(other) => {
                    return Err(Error::new(
                        other.span(),
                        format!("expected `=` after `{name_str}`, as in `{name_str} = ...`"),
                    ))
                }
                None => {
                    return Err(Error::new(
                        name.span(),
                        format!("`{name_str}` needs a value, as in `{name_str} = ...`"),
                    ))
                }
            }
            let Some(value) = tokens.next() else {
                return Err(Error::new(
                    name.span(),
                    format!("`{name_str}` needs a value after `=`"),
                ));
            };
            let value = unwrap_none_group(value);
            match tokens.next() {
                None => {}
                Some(TokenTree::Punct(p)) if p.as_char() == ',' => {}
                Some(other) => {
                    return Err(Error::new(
                        other.span(),
                        "expected `,` between options, as in \
                         `flavor = \"multi_thread\", worker_threads = 2`",
                    ))
                }
            }
            let duplicate = || {
                Error::spanning(
                    name.span(),
                    value.span(),
                    format!("`{name_str}` is given twice; keep one"),
                )
            };
            match name_str.as_str() {
                "flavor" => {
                    if flavor.is_some() {
                        return Err(duplicate());
                    }
                    let f = match string_value(&value).as_deref() {
                        Some("current_thread") => Flavor::CurrentThread,
                        Some("multi_thread") => Flavor::MultiThread,
                        _ => {
                            return Err(Error::new(
                                value.span(),
                                format!(
                                    "unknown flavor {value}: expected \"current_thread\" or \
                                     \"multi_thread\""
                                ),
                            ))
                        }
                    };
                    flavor = Some(f);
                }
                "worker_threads" => {
                    if worker_threads.is_some() {
                        return Err(duplicate());
                    }
                    let n =
                        match int_value(&value) {
                            Some(0) => return Err(Error::new(
                                value.span(),
                                "`worker_threads = 0` is invalid: a multi-thread runtime needs \
                                 at least 1 worker; use `flavor = \"current_thread\"` to run \
                                 every task on the calling thread",
                            )),
                            Some(n) => n,
                            None => {
                                return Err(Error::new(
                                    value.span(),
                                    format!(
                                        "`worker_threads` takes a positive integer literal, as in \
                                     `worker_threads = 4`, found `{value}`"
                                    ),
                                ))
                            }
                        };
                    worker_threads = Some((n, name.span(), value.span()));
                }
                "start_paused" | "debug" => {
                    let slot = if name_str == "debug" {
                        &mut debug
                    } else {
                        &mut start_paused
                    };
                    if slot.is_some() {
                        return Err(duplicate());
                    }
                    *slot = Some(bool_value(&value).ok_or_else(|| {
                        Error::new(
                            value.span(),
                            format!(
                                "`{name_str}` takes `true` or `false` (no quotes), found `{value}`"
                            ),
                        )
                    })?);
                }
                "crate" => {
                    if krate.is_some() {
                        return Err(duplicate());
                    }
                    let path = string_value(&value)
                        .and_then(|s| s.parse::<TokenStream>().ok())
                        .filter(|path| !path.is_empty())
                        .ok_or_else(|| {
                            Error::new(
                                value.span(),
                                format!(
                                    "`crate` takes the path of the tulipa crate as a string, \
                                     as in `crate = \"my_tulipa\"`, found `{value}`"
                                ),
                            )
                        })?;
                    krate = Some(respan(path, value.span()));
                }
                _ => {
                    return Err(Error::new(
                        name.span(),
                        format!("unknown option `{name_str}`: expected {KNOWN}"),
                    ))
                }
            }
        }

        let flavor = flavor.unwrap_or(match kind {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        });
        if let (Some((_, name, value)), Flavor::CurrentThread) = (worker_threads, flavor) {
            let hint = match kind {
                Kind::Main => "remove `flavor = \"current_thread\"` or `worker_threads`",
                Kind::Test => {
                    "add `flavor = \"multi_thread\"` (tests run on the current-thread runtime \
                     by default) or remove `worker_threads`"
                }
            };
            return Err(Error::spanning(
                name,
                value,
                format!(
                    "`worker_threads` needs the multi-thread runtime, and this {} uses the \
                     current-thread one: {hint}",
                    kind.attribute()
                ),
            ));
        }
        Ok(Options {
            flavor,
            worker_threads: worker_threads.map(|(n, _, _)| n),
            start_paused,
            debug,
            krate: krate.unwrap_or_else(|| "::tulipa".parse().expect("a valid path")),
        })
    }
}

/// A value that came through another macro arrives wrapped in an invisible
/// group; look inside it.
fn unwrap_none_group(token: TokenTree) -> TokenTree {
    if let TokenTree::Group(g) = &token {
        if g.delimiter() == Delimiter::None {
            let mut inner = g.stream().into_iter();
            if let (Some(only), None) = (inner.next(), inner.next()) {
                return unwrap_none_group(only);
            }
        }
    }
    token
}

/// The contents of a plain string literal (`"..."`, no escapes needed).
fn string_value(token: &TokenTree) -> Option<String> {
    let TokenTree::Literal(lit) = token else {
        return None;
    };
    let text = lit.to_string();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then(|| inner.to_string())
}

/// A decimal integer literal, with an optional integer suffix and `_`s.
fn int_value(token: &TokenTree) -> Option<usize> {
    let TokenTree::Literal(lit) = token else {
        return None;
    };
    let text = lit.to_string();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let suffix_ok = matches!(
        suffix,
        "" | "usize"
            | "u8"
            | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "isize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
    );
    if !suffix_ok || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    digits.replace('_', "").parse().ok()
}

/// `true` or `false`.
fn bool_value(token: &TokenTree) -> Option<bool> {
    match token {
        TokenTree::Ident(i) if i.to_string() == "true" => Some(true),
        TokenTree::Ident(i) if i.to_string() == "false" => Some(false),
        _ => None,
    }
}

/// Gives every token of `tokens` the span `span`, so errors in a
/// `crate = "..."` path point at the string.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            if let TokenTree::Group(g) = &t {
                let mut g2 = proc_macro::Group::new(g.delimiter(), respan(g.stream(), span));
                g2.set_span(span);
                t = TokenTree::Group(g2);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}
