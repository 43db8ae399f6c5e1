//! `--depth`: same-host links followed up to N links from a listed URL,
//! every page within reach fetched exactly once (counted by the server),
//! other hosts listed and never followed.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use crawler::config::Config;
use support::{assert_same_lines, expect, read_lines, temp_dir, Server};

/// Crawls `seeds` with `depth` and `limit`, and checks the results file,
/// the requests per path and the failures against the site's model.
fn crawl_and_check(name: &str, pages: usize, seeds: &[&str], depth: u32, limit: usize) -> usize {
    let server = Server::start(pages);
    let dir = temp_dir(name);
    let list: String = seeds
        .iter()
        .map(|seed| format!("{}{seed}\n", server.origin()))
        .collect();
    std::fs::write(dir.join("urls.txt"), list).unwrap();
    let mut config = Config::new(dir.join("urls.txt"));
    config.out = dir.join("results.txt");
    config.depth = depth;
    config.limit = limit;
    config.timeout = Duration::from_secs(1);

    let summary = tulipa::run(crawler::crawl(&config)).expect("the crawl runs");
    let expected = expect(&server, seeds, depth);

    assert_same_lines(&read_lines(&config.out), &expected.lines);
    assert_eq!(
        server.site.hits().into_iter().collect::<BTreeMap<_, _>>(),
        expected.hits,
        "requests per path"
    );
    let mut failed: Vec<&str> = summary.failures.iter().map(|f| f.url.as_str()).collect();
    failed.sort_unstable();
    let mut want: Vec<&str> = expected.failed.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(failed, want, "failures: {:#?}", summary.failures);
    assert_eq!(summary.links, expected.lines.values().sum::<usize>());
    std::fs::remove_dir_all(&dir).unwrap();
    expected.hits.len()
}

#[test]
fn depth_12_reaches_the_whole_site_and_fetches_each_page_once() {
    // The tree links reach page 2999 in 11 links from page 0; the site's
    // cycle and the other links give many more paths to every page.
    let paths = crawl_and_check("depth12", 3000, &["/p/0"], 12, 64);
    assert!(paths > 3000, "the whole site was reached ({paths} paths)");
}

#[test]
fn depth_2_stops_two_links_away_and_follows_redirected_pages() {
    // From /old (a redirect), the page's relative link resolves against
    // /r/new/page, and is followed from there: /r/new/leaf, then /p/0.
    let paths = crawl_and_check(
        "depth2",
        3000,
        &["/p/2999", "/p/40", "/old", "/latin1"],
        2,
        4,
    );
    assert!(paths > 10, "{paths} paths");
}
