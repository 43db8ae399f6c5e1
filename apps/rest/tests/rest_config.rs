//! The command line and `DATABASE_URL`: defaults, each option in both
//! spellings, and the errors that say what to fix; and the binary's own
//! answers to `--help` and a bad argument.

use std::process::Command;

use rest::config::{ArgsError, Backend, Config};

fn parse(args: &[&str], url: Option<&str>) -> Result<Config, ArgsError> {
    Config::from_args(args.iter().map(|a| a.to_string()), url.map(str::to_owned))
}

fn invalid(args: &[&str], url: Option<&str>) -> String {
    match parse(args, url) {
        Err(ArgsError::Invalid(message)) => message,
        other => panic!("{args:?} {url:?}: expected an error, got {other:?}"),
    }
}

#[test]
fn defaults_are_sqlite_rest_db_on_localhost_8080() {
    let config = parse(&[], None).unwrap();
    assert_eq!(config.host.to_string(), "127.0.0.1");
    assert_eq!(config.port, 8080);
    assert_eq!(config.backend, Backend::Sqlite("rest.db".into()));
    // An empty DATABASE_URL counts as unset.
    assert_eq!(parse(&[], Some("")).unwrap(), config);
}

#[test]
fn options_in_both_spellings() {
    let config = parse(&["--port", "0", "--db=/tmp/x.db", "--host", "::1"], None).unwrap();
    assert_eq!(config.port, 0);
    assert_eq!(config.host.to_string(), "::1");
    assert_eq!(config.backend, Backend::Sqlite("/tmp/x.db".into()));
    assert_eq!(parse(&["--port=9"], None).unwrap().port, 9);
    assert_eq!(parse(&["-h"], None), Err(ArgsError::Help));
    assert_eq!(
        parse(&["--port", "1", "--help"], None),
        Err(ArgsError::Help)
    );
}

#[test]
fn database_url_selects_postgres() {
    let url = "postgres://rest@127.0.0.1:5432/rest";
    let config = parse(&["--port", "1"], Some(url)).unwrap();
    assert_eq!(config.backend, Backend::Postgres(url.to_owned()));
    let alias = "postgresql://u@h/d";
    assert_eq!(
        parse(&[], Some(alias)).unwrap().backend,
        Backend::Postgres(alias.to_owned())
    );
}

#[test]
fn bad_arguments_say_what_to_fix() {
    assert!(invalid(&["--port", "http"], None).contains("not a port number"));
    assert!(invalid(&["--port", "70000"], None).contains("not a port number"));
    assert!(invalid(&["--port"], None).contains("--port needs a value"));
    assert!(invalid(&["--host", "localhost"], None).contains("not an IP address"));
    assert!(invalid(&["--verbose"], None).contains("unknown argument \"--verbose\""));
    assert!(invalid(&[], Some("mysql://x")).contains("unset it to use SQLite"));
    let both = invalid(&["--db", "a.db"], Some("postgres://x@y/z"));
    assert!(both.contains("unset DATABASE_URL"), "{both}");
}

#[test]
fn the_binary_prints_usage_for_help_and_exits_2_on_a_bad_argument() {
    let rest = env!("CARGO_BIN_EXE_rest");
    let help = Command::new(rest).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("usage: rest") && text.contains("DATABASE_URL"),
        "{text}"
    );

    let bad = Command::new(rest)
        .args(["--port", "x"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let text = String::from_utf8_lossy(&bad.stderr);
    assert!(text.contains("--port x: not a port number"), "{text}");
    assert!(text.contains("usage: rest"), "{text}");
}
