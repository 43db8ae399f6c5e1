//! Depth 0 on a generated site of 3,000 pages: every listed URL fetched
//! once, every link found once per page, nothing else; failures reported
//! and not fatal.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use crawler::config::Config;
use crawler::fetch::Problem;
use support::{assert_same_lines, expect, read_lines, temp_dir, Server};

const PAGES: usize = 3000;

#[test]
fn depth_0_fetches_each_listed_url_once_and_appends_each_link_once() {
    let server = Server::start(PAGES);
    let origin = server.origin();
    let dir = temp_dir("site");

    let specials = [
        "/old",
        "/latin1",
        "/meta",
        "/caf%C3%A9",
        "/slow",
        "/bad-utf8",
        "/bad-declared",
        "/data.json",
        "/missing/7",
    ];
    let pages: Vec<String> = (0..PAGES).map(|i| format!("/p/{i}")).collect();
    let seeds: Vec<&str> = pages.iter().map(String::as_str).chain(specials).collect();
    let mut list = String::from("# the generated site\n\n");
    for seed in &seeds {
        list.push_str(&format!("{origin}{seed}\n"));
    }
    // The same URLs again, spelled differently: each is fetched once.
    list.push_str(&format!(
        "{origin}/p/5#again\n   {origin}/p/./6  \nHTTP://{}:{}/p/7\n",
        server.addr.ip(),
        server.addr.port()
    ));
    // Not fetchable: refused, not a URL, not HTTP.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    list.push_str(&format!(
        "{refused}\nnot a url\nftp://{}/p/1\n",
        server.addr
    ));
    std::fs::write(dir.join("urls.txt"), list).unwrap();

    let mut config = Config::new(dir.join("urls.txt"));
    config.out = dir.join("results.txt");
    config.timeout = Duration::from_secs(1);
    // Results are appended: what was there stays.
    std::fs::write(&config.out, "kept\tfrom before\n").unwrap();

    let summary = tulipa::run(crawler::crawl(&config)).expect("the crawl runs");
    let expected = expect(&server, &seeds, 0);

    let mut want = expected.lines.clone();
    want.insert("kept\tfrom before".into(), 1);
    assert_same_lines(&read_lines(&config.out), &want);
    assert_eq!(summary.links, expected.lines.values().sum::<usize>());
    assert_eq!(
        server.site.hits().into_iter().collect::<BTreeMap<_, _>>(),
        expected.hits,
        "requests per path"
    );
    assert_eq!(expected.hits["/r/new/page"], 1, "the redirect was followed");

    // Every failure is reported once, with its cause.
    let failures: BTreeMap<&str, &Problem> = summary
        .failures
        .iter()
        .map(|f| (f.url.as_str(), &f.problem))
        .collect();
    assert_eq!(
        failures.len(),
        summary.failures.len(),
        "{:#?}",
        summary.failures
    );
    let site_failures: Vec<String> = expected.failed.iter().cloned().collect();
    assert_eq!(site_failures.len(), 5, "{site_failures:?}");
    assert_eq!(
        failures.len(),
        site_failures.len() + 3,
        "{:#?}",
        summary.failures
    );
    let failed = |path: &str| {
        *failures
            .get(format!("{origin}{path}").as_str())
            .unwrap_or_else(|| panic!("{path} is not among the failures: {failures:#?}"))
    };
    assert!(failed("/slow").is_timeout());
    assert!(matches!(failed("/bad-utf8"), Problem::Decode(_)));
    assert!(matches!(failed("/bad-declared"), Problem::Request(_)));
    assert!(failed("/bad-declared").is_decode());
    assert!(matches!(failed("/data.json"), Problem::NotHtml(Some(t)) if t == "application/json"));
    assert!(matches!(failed("/missing/7"), Problem::Status(s) if s.as_u16() == 404));
    assert!(
        matches!(failures[refused.as_str()], Problem::Request(e) if e.kind() == tulipa::http::ErrorKind::Connect),
        "{:?}",
        failures[refused.as_str()]
    );
    assert!(matches!(failures["not a url"], Problem::InvalidUrl(_)));
    let ftp = format!("ftp://{}/p/1", server.addr);
    assert!(matches!(failures[ftp.as_str()], Problem::InvalidUrl(_)));
    // The report names the URL and the cause.
    let report = summary
        .failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        report.contains(&format!(
            "GET {origin}/missing/7: error status 404 Not Found"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!("GET {origin}/slow: timed out")),
        "{report}"
    );

    assert_eq!(summary.fetched, seeds.len() - site_failures.len());
    std::fs::remove_dir_all(&dir).unwrap();
}
