//! A compile error that points at the user's tokens.
//!
//! `Span::join` is unstable, so a span covering several tokens is made the
//! way `syn` makes it: `compile_error!` is emitted with its first tokens at
//! the start span and its argument group at the end span, and rustc
//! underlines everything between.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// What was wrong, where, and how to fix it.
pub(crate) struct Error {
    start: Span,
    end: Span,
    message: String,
}

impl Error {
    /// An error on one token.
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Error {
        Error::spanning(span, span, message)
    }

    /// An error on the tokens from `start` to `end`.
    pub(crate) fn spanning(start: Span, end: Span, message: impl Into<String>) -> Error {
        Error {
            start,
            end,
            message: message.into(),
        }
    }

    /// `::core::compile_error! { "message" }`, spanned on the user's code.
    pub(crate) fn into_compile_error(self) -> TokenStream {
        let colon = |spacing| {
            let mut p = Punct::new(':', spacing);
            p.set_span(self.start);
            TokenTree::Punct(p)
        };
        let mut message = Literal::string(&self.message);
        message.set_span(self.end);
        let mut args = Group::new(Delimiter::Brace, TokenTree::Literal(message).into());
        args.set_span(self.end);
        let mut bang = Punct::new('!', Spacing::Alone);
        bang.set_span(self.start);
        [
            colon(Spacing::Joint),
            colon(Spacing::Alone),
            TokenTree::Ident(Ident::new("core", self.start)),
            colon(Spacing::Joint),
            colon(Spacing::Alone),
            TokenTree::Ident(Ident::new("compile_error", self.start)),
            TokenTree::Punct(bang),
            TokenTree::Group(args),
        ]
        .into_iter()
        .collect()
    }
}
