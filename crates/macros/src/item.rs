//! The function the attribute sits on, split into the parts the expansion
//! needs: outer attributes, what comes before `fn` (visibility,
//! qualifiers) with `async` taken out, the name, the return type and the
//! body. Everything else the user wrote is checked, then kept as written.

use proc_macro::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

use crate::error::Error;
use crate::Kind;

/// An `async fn` without arguments, as `#[tulipa::main]` and
/// `#[tulipa::test]` accept it.
pub(crate) struct AsyncFn {
    /// Each outer attribute: its `#` and its `[...]` group.
    pub(crate) attrs: Vec<(TokenTree, Group)>,
    /// Visibility and qualifiers before `fn`, without `async`.
    pub(crate) prefix: Vec<TokenTree>,
    /// The `async` keyword, which the body's `async` block takes its span
    /// from (a type error in the body then points at the body).
    pub(crate) async_token: Ident,
    /// The `fn` keyword.
    pub(crate) fn_token: Ident,
    pub(crate) name: Ident,
    /// The empty argument list, as written.
    pub(crate) params: Group,
    /// From `->` to the body: the return type and any `where` clause.
    pub(crate) signature_rest: Vec<TokenTree>,
    /// The return type alone, if written.
    pub(crate) output: Option<TokenStream>,
    pub(crate) body: Group,
}

impl AsyncFn {
    /// Splits `item`, or says what makes it unfit for `kind`.
    pub(crate) fn parse(kind: Kind, item: TokenStream) -> Result<AsyncFn, Error> {
        let not_a_fn =
            |span| Error::new(span, format!("{} goes on an `async fn`", kind.attribute()));
        let mut tokens = item.into_iter().peekable();
        let mut attrs = Vec::new();
        while let Some(TokenTree::Punct(p)) = tokens.peek() {
            if p.as_char() != '#' {
                break;
            }
            let pound = tokens.next().expect("peeked");
            match tokens.next() {
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket => {
                    attrs.push((pound, g))
                }
                other => return Err(not_a_fn(other.map_or(pound.span(), |t| t.span()))),
            }
        }

        let mut prefix = Vec::new();
        let mut async_token = None;
        let fn_token = loop {
            match tokens.next() {
                Some(TokenTree::Ident(i)) if i.to_string() == "fn" => break i,
                Some(TokenTree::Ident(i)) if i.to_string() == "async" => async_token = Some(i),
                Some(other) => prefix.push(other),
                None => return Err(not_a_fn(Span::call_site())),
            }
        };
        let name = match tokens.next() {
            Some(TokenTree::Ident(i)) => i,
            other => return Err(not_a_fn(other.map_or(fn_token.span(), |t| t.span()))),
        };
        let Some(async_token) = async_token else {
            return Err(Error::spanning(
                fn_token.span(),
                name.span(),
                format!(
                    "the `async` keyword is missing from the function declaration: \
                     {} runs an `async fn`",
                    kind.attribute()
                ),
            ));
        };
        let params = match tokens.next() {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => g,
            Some(TokenTree::Punct(p)) if p.as_char() == '<' => {
                return Err(Error::new(
                    p.span(),
                    format!(
                        "{} functions cannot be generic: remove the generic parameters",
                        kind.attribute()
                    ),
                ))
            }
            other => return Err(not_a_fn(other.map_or(name.span(), |t| t.span()))),
        };
        if !params.stream().is_empty() {
            let message = match kind {
                Kind::Main => {
                    "`#[tulipa::main]` functions take no arguments: read the command line \
                     with `std::env::args()`"
                }
                Kind::Test => "`#[tulipa::test]` functions take no arguments",
            };
            return Err(Error::new(params.span(), message));
        }

        let mut rest: Vec<TokenTree> = tokens.collect();
        let body = match rest.pop() {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g,
            other => return Err(not_a_fn(other.map_or(params.span(), |t| t.span()))),
        };
        let output = match rest.as_slice() {
            [TokenTree::Punct(dash), TokenTree::Punct(gt), ty @ ..]
                if dash.as_char() == '-' && gt.as_char() == '>' =>
            {
                let ty = ty
                    .iter()
                    .take_while(|t| !matches!(t, TokenTree::Ident(i) if i.to_string() == "where"));
                Some(ty.cloned().collect())
            }
            _ => None,
        };
        Ok(AsyncFn {
            attrs,
            prefix,
            async_token,
            fn_token,
            name,
            params,
            signature_rest: rest,
            output,
            body,
        })
    }

    /// The span and path of an attribute that already makes the function a
    /// test (`#[test]`, `#[core::prelude::v1::test]`, `#[tokio::test]`).
    pub(crate) fn find_test_attr(&self) -> Option<(Span, Span, String)> {
        self.attrs.iter().find_map(|(pound, group)| {
            let path = group.stream().to_string().replace(' ', "");
            let is_test = path == "test" || path.ends_with("::test");
            is_test.then(|| (pound.span(), group.span(), path))
        })
    }
}
