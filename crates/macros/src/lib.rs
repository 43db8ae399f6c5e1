//! `#[tulipa::main]` and `#[tulipa::test]`: run an `async fn` on a tulipa
//! runtime.
//!
//! Use them through the facade (`tulipa::main`, `tulipa::test`, feature
//! `macros`, on by default); this crate is their implementation.
//!
//! # What they expand to
//!
//! ```text
//! #[tulipa::main(flavor = "multi_thread", worker_threads = 2)]
//! async fn main() -> io::Result<()> { BODY }
//! ```
//!
//! becomes, using only the facade's public API:
//!
//! ```text
//! fn main() -> io::Result<()> {
//!     let rt = ::tulipa::Runtime::builder()
//!         .multi_thread()
//!         .worker_threads(2)
//!         .build()
//!         .unwrap_or_else(|e| panic!(...));
//!     rt.block_on(async {
//!         let ret: io::Result<()> = { BODY };
//!         ret
//!     })
//! }
//! ```
//!
//! Binding the body to the declared return type tells the compiler that
//! type while it checks the body, so `?` converts errors into the declared
//! error type, and a body of the wrong type is an error on the body's last
//! expression. The runtime is declared before the future, so the future
//! (finished, or interrupted by a panic) is dropped while its runtime still
//! exists.
//!
//! `#[tulipa::test]` is the same with `#[::core::prelude::v1::test]` in
//! front, the user's other attributes (`#[should_panic]`, `#[ignore]`)
//! kept: a test returning `Result` fails on `Err` as a plain `#[test]`
//! does, and a panic reaches the test harness.
//!
//! # Defaults
//!
//! - `#[tulipa::main]` builds a multi-thread runtime with one worker per
//!   CPU: the same runtime as [`tulipa::run`], what a program wants.
//! - `#[tulipa::test]` builds a current-thread runtime: every task runs on
//!   the test's thread, so a test is deterministic, starts no threads, and a
//!   test binary running hundreds of tests in parallel does not start
//!   hundreds of worker pools. Ask for `flavor = "multi_thread"` to test
//!   code under real parallelism.
//! - Debug mode follows `TULIPA_DEBUG` unless `debug = ...` is given; time
//!   is real unless `start_paused = true`.
//!
//! tokio made the same two choices for `#[tokio::main]` and
//! `#[tokio::test]`, so code moving over keeps its behaviour.
//!
//! # Errors
//!
//! A mistake is reported on the user's tokens with `compile_error!`: a
//! missing `async`, arguments or generics on the function, a plain `#[test]`
//! next to `#[tulipa::test]`, an unknown option, a value of the wrong kind
//! (`worker_threads = 0`, `flavor = "x"`, `debug = "yes"`), an option given
//! twice, and `worker_threads` on a current-thread runtime. The suite in
//! `crates/tulipa/tests/ui/` pins each message.
//!
//! # Why a hand-written token walk, not `syn`
//!
//! The input is small and fixed (`name = literal` options, one `async fn`
//! with no arguments), so this crate walks `proc_macro`'s tokens itself and
//! depends on nothing. The alternative, `syn` 2 with minimal features
//! (`default-features = false`, `full`, `parsing`, `printing`,
//! `proc-macro`) plus `quote` and `proc-macro2`, was written as a throwaway
//! copy doing the same expansion and both were built from clean, three
//! rounds alternating, on the project's 2-core machine (load ≈ 5):
//!
//! | crate | `cargo build` from clean |
//! | --- | --- |
//! | this crate (no dependencies) | 0.97 s, 0.98 s, 1.05 s |
//! | `syn` variant | 5.65 s, 6.47 s, 6.71 s |
//!
//! (`rm -rf` the target directory, then `/usr/bin/time cargo build -q
//! --offline -p tulipa-macros`.) Nothing else in `tulipa`'s normal
//! dependency graph uses `syn` (`cargo tree -p tulipa -e normal,build -i
//! syn` prints nothing), so the `syn` variant would add those ~5 s, on the
//! critical path before any crate using the macros compiles, to every
//! user's clean build. The walk costs this crate ~800 lines with docs; its
//! error messages and spans are as precise as `syn`'s would be.
//!
//! [`tulipa::run`]: https://docs.rs/tulipa/latest/tulipa/fn.run.html
#![forbid(unsafe_code)]

mod error;
mod item;
mod options;

use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

use error::Error;
use item::AsyncFn;
use options::{Flavor, Options};

/// Which attribute is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "`#[tulipa::main]`",
            Kind::Test => "`#[tulipa::test]`",
        }
    }
}

/// Runs `async fn main` on a tulipa runtime (asyncio's
/// `asyncio.run(main())`).
///
/// Options, all optional, comma-separated:
///
/// | option | values | default |
/// | --- | --- | --- |
/// | `flavor` | `"multi_thread"`, `"current_thread"` | `"multi_thread"` |
/// | `worker_threads` | an integer ≥ 1 (multi-thread only) | one per CPU |
/// | `start_paused` | `true`, `false`: virtual time | `false` |
/// | `debug` | `true`, `false`: asyncio's debug mode | `TULIPA_DEBUG` |
/// | `crate` | the tulipa crate's path, as a string | `"::tulipa"` |
///
/// The function may return any type, `Result` included; it is what `main`
/// returns.
///
/// # Panics
///
/// The generated `main` panics if the runtime cannot be built (the OS
/// refused a thread or the poller), and passes on the body's panics.
///
/// # Examples
///
/// ```
/// #[tulipa::main]
/// async fn main() {
///     let task = tulipa::spawn(async { 6 * 7 });
///     println!("{}", task.await.unwrap());
/// }
/// ```
///
/// ```
/// #[tulipa::main(flavor = "current_thread", debug = true)]
/// async fn main() -> std::io::Result<()> {
///     let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
///     println!("listening on {}", listener.local_addr()?);
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args, item)
}

/// Runs an `async fn` test on its own tulipa runtime.
///
/// Takes the options of [`macro@main`]; the default flavour here is
/// `"current_thread"` (every task on the test's thread). Do not add a
/// `#[test]` of your own: this attribute makes the function a test.
/// `#[should_panic]`, `#[ignore]` and a `Result` return type work as with
/// `#[test]`.
///
/// # Panics
///
/// The test panics (fails) if the runtime cannot be built, and passes on
/// the body's panics.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// #[tulipa::test(start_paused = true)]
/// async fn an_hour_passes_at_once() {
///     let start = tulipa::time::Instant::now();
///     tulipa::time::sleep(Duration::from_secs(3600)).await;
///     assert!(start.elapsed() >= Duration::from_secs(3600));
/// }
///
/// #[tulipa::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn on_two_workers() -> std::io::Result<()> {
///     let n = tulipa::spawn(async { 1 }).await.unwrap();
///     assert_eq!(n, 1);
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args, item)
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let fallback_name = fallback_name(&item);
    let result = AsyncFn::parse(kind, item).and_then(|f| {
        if kind == Kind::Test {
            if let Some((start, end, path)) = f.find_test_attr() {
                return Err(Error::spanning(
                    start,
                    end,
                    format!(
                        "`#[tulipa::test]` already makes this function a test: remove `#[{path}]`"
                    ),
                ));
            }
        }
        let options = Options::parse(kind, args)?;
        Ok(generate(kind, f, options))
    });
    result.unwrap_or_else(|e| {
        // The error alone, and an empty function of the same name so the
        // compiler does not add "`main` function not found" to it.
        let mut out = e.into_compile_error();
        if let Some(name) = fallback_name {
            out.extend(parse(&format!("#[allow(dead_code)] fn {name}() {{}}")));
        }
        out
    })
}

/// The identifier after `fn`, if there is one.
fn fallback_name(item: &TokenStream) -> Option<String> {
    let mut tokens = item.clone().into_iter();
    tokens.find(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "fn"))?;
    match tokens.next()? {
        TokenTree::Ident(name) => Some(name.to_string()),
        _ => None,
    }
}

fn generate(kind: Kind, f: AsyncFn, options: Options) -> TokenStream {
    let mut out = TokenStream::new();
    if kind == Kind::Test {
        out.extend(parse("#[::core::prelude::v1::test]"));
    }
    for (pound, group) in f.attrs {
        out.extend([pound, TokenTree::Group(group)]);
    }
    out.extend(f.prefix);
    out.extend([
        TokenTree::Ident(f.fn_token),
        TokenTree::Ident(f.name),
        TokenTree::Group(f.params),
    ]);
    out.extend(f.signature_rest);

    let mut builder = String::from("::Runtime::builder()");
    builder.push_str(match options.flavor {
        Flavor::CurrentThread => ".current_thread()",
        Flavor::MultiThread => ".multi_thread()",
    });
    if let Some(n) = options.worker_threads {
        builder.push_str(&format!(".worker_threads({n})"));
    }
    if let Some(paused) = options.start_paused {
        builder.push_str(&format!(".start_paused({paused})"));
    }
    if let Some(debug) = options.debug {
        builder.push_str(&format!(".debug({debug})"));
    }
    let what = match kind {
        Kind::Main => "#[tulipa::main]",
        Kind::Test => "#[tulipa::test]",
    };
    builder.push_str(&format!(
        ".build().unwrap_or_else(|e| ::core::panic!(\"{what} could not build the runtime: {{e}}\"));"
    ));

    let mut body = parse("let __tulipa_rt = ");
    body.extend(options.krate);
    body.extend(parse(&builder));
    // `async { let ret: OUTPUT = BODY; ret }`, its `async` spanned on the
    // user's.
    let mut typed_body = parse("let __tulipa_ret:");
    typed_body.extend(f.output.unwrap_or_else(|| parse("()")));
    typed_body.extend(parse("="));
    typed_body.extend([TokenTree::Group(f.body)]);
    // A body that never ends (a server's accept loop) makes what follows
    // it unreachable: say nothing about the macro's own code.
    typed_body.extend(parse(
        "; #[allow(unreachable_code)] let __tulipa_out = __tulipa_ret; __tulipa_out",
    ));
    body.extend(parse("__tulipa_rt.block_on"));
    let future: TokenStream = [
        TokenTree::Ident(f.async_token),
        TokenTree::Group(Group::new(Delimiter::Brace, typed_body)),
    ]
    .into_iter()
    .collect();
    body.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, future))]);
    out.extend([TokenTree::Group(Group::new(Delimiter::Brace, body))]);
    out
}

/// Tokens from source text this crate wrote.
fn parse(source: &str) -> TokenStream {
    source
        .parse()
        .expect("tulipa-macros generates valid tokens")
}
