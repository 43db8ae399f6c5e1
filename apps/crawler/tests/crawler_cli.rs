//! The `crawler` binary: a small site crawled end to end, the exit status,
//! what goes to stderr, and the errors for bad arguments.

mod support;

use std::process::{Command, Output};

use support::{assert_same_lines, expect, read_lines, temp_dir, Server};

fn crawler(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crawler"))
        .args(args)
        .output()
        .expect("the crawler binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_binary_crawls_a_small_site_and_appends_its_links() {
    let server = Server::start(20);
    let origin = server.origin();
    let dir = temp_dir("cli");
    let urls = dir.join("urls.txt");
    let out = dir.join("found.txt");
    std::fs::write(
        &urls,
        format!("# start here\n{origin}/p/0\n\n{origin}/missing/1\n"),
    )
    .unwrap();
    let args = [
        urls.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--depth",
        "1",
        "--limit",
        "4",
        "--timeout",
        "5",
    ];

    let run = crawler(&args);
    let err = stderr(&run);
    assert!(run.status.success(), "{:?}: {err}", run.status);
    assert!(
        err.contains(&format!(
            "crawler: GET {origin}/missing/1: error status 404 Not Found"
        )),
        "{err}"
    );
    let expected = expect(&server, &["/p/0", "/missing/1"], 1);
    let fetched = expected.hits.len() - expected.failed.len();
    let links: usize = expected.lines.values().sum();
    assert!(
        err.contains(&format!(
            "crawler: {fetched} pages fetched, 1 failed, {links} links found in "
        )),
        "{err}"
    );
    assert!(err.trim_end().ends_with("pages/s)"), "{err}");
    // stderr is not a terminal here: no progress line.
    assert!(!err.contains('\r'), "{err:?}");
    assert_same_lines(&read_lines(&out), &expected.lines);

    // A second run appends the same lines again.
    let run = crawler(&args);
    assert!(run.status.success(), "{}", stderr(&run));
    let twice = expected
        .lines
        .iter()
        .map(|(line, n)| (line.clone(), 2 * n))
        .collect();
    assert_same_lines(&read_lines(&out), &twice);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_arguments_exit_2_saying_what_to_fix() {
    for (args, message) in [
        (&[][..], "no URLS_FILE given"),
        (
            &["urls.txt", "--limit", "many"][..],
            "--limit many: not a whole number",
        ),
        (
            &["urls.txt", "--timeout"][..],
            "--timeout needs a value: --timeout SECS",
        ),
        (&["urls.txt", "--fast"][..], "unknown option \"--fast\""),
    ] {
        let run = crawler(args);
        let err = stderr(&run);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("crawler: {message}")),
            "{args:?}: {err}"
        );
        assert!(err.contains("usage: crawler URLS_FILE"), "{err}");
    }
    let help = crawler(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: crawler URLS_FILE"));
}

#[test]
fn a_missing_urls_file_or_results_directory_exits_1_naming_it() {
    let dir = temp_dir("cli-missing");
    let missing = dir.join("no-such-urls.txt");
    let run = crawler(&[missing.to_str().unwrap()]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot read the URL list"), "{err}");
    assert!(err.contains("no-such-urls.txt"), "{err}");

    let urls = dir.join("urls.txt");
    std::fs::write(&urls, "http://127.0.0.1:9/\n").unwrap();
    let out = dir.join("no-such-dir").join("results.txt");
    let run = crawler(&[urls.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot open the results file"), "{err}");
    assert!(err.contains("no-such-dir"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
