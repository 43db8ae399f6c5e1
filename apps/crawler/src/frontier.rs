//! The crawl's memory: every URL met, how few links away from a listed URL
//! it is, and which to fetch next. Each URL is handed out once.
//!
//! # Exact depth without fetching twice
//!
//! Workers run concurrently, so a page may first be found along a longer
//! path (through a fast page) than its shortest one (through a slow page).
//! Taking the first depth seen would make what `--depth N` fetches depend
//! on timing. Instead each URL keeps the smallest depth found so far, and
//! each fetched page keeps its same-host links; when a shorter path turns
//! up, the page's links are followed again from the new depth, from memory
//! (a relaxation, as in a shortest-path search). When the crawl ends, the
//! URLs fetched are exactly those at most `N` links from a listed URL,
//! whatever the timing, and none was fetched twice.

use std::collections::hash_map::{Entry, HashMap};

use url::Url;

/// Every URL met; see the module docs.
#[derive(Debug)]
pub(crate) struct Frontier {
    max_depth: u32,
    pages: HashMap<Url, Page>,
}

#[derive(Debug)]
struct Page {
    /// The fewest links from a listed URL known so far.
    depth: u32,
    /// Its same-host links once fetched (kept only when following links).
    links: Option<Vec<Url>>,
}

impl Frontier {
    /// A frontier that follows links up to `max_depth` from a listed URL.
    pub(crate) fn new(max_depth: u32) -> Frontier {
        Frontier {
            max_depth,
            pages: HashMap::new(),
        }
    }

    /// Whether pages' links are followed at all.
    pub(crate) fn follows(&self) -> bool {
        self.max_depth > 0
    }

    /// Records that `url` is `depth` links from a listed URL; pushes onto
    /// `fetch` the URLs never met before (`url`, or pages reached from it
    /// again at a smaller depth).
    pub(crate) fn found(&mut self, url: Url, depth: u32, fetch: &mut Vec<Url>) {
        let mut work = vec![(url, depth)];
        while let Some((url, depth)) = work.pop() {
            match self.pages.entry(url) {
                Entry::Vacant(entry) => {
                    fetch.push(entry.key().clone());
                    entry.insert(Page { depth, links: None });
                }
                Entry::Occupied(mut entry) if depth < entry.get().depth => {
                    let page = entry.get_mut();
                    page.depth = depth;
                    if depth < self.max_depth {
                        let links = page.links.iter().flatten();
                        work.extend(links.map(|link| (link.clone(), depth + 1)));
                    }
                }
                Entry::Occupied(_) => {}
            }
        }
    }

    /// Records that `url` was fetched with these same-host `links`, and
    /// follows them if `url` is less than the maximum depth away; pushes
    /// onto `fetch` the URLs never met before.
    pub(crate) fn fetched(&mut self, url: &Url, links: Vec<Url>, fetch: &mut Vec<Url>) {
        let Some(page) = self.pages.get_mut(url) else {
            return;
        };
        let depth = page.depth;
        if depth < self.max_depth {
            for link in &links {
                self.found(link.clone(), depth + 1, fetch);
            }
        }
        if let Some(page) = self.pages.get_mut(url) {
            page.links = Some(links);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str) -> Url {
        Url::parse("http://h.example/").unwrap().join(path).unwrap()
    }

    fn paths(urls: &[Url]) -> Vec<&str> {
        urls.iter().map(Url::path).collect()
    }

    #[test]
    fn each_url_is_handed_out_once() {
        let mut frontier = Frontier::new(1);
        let mut fetch = Vec::new();
        frontier.found(url("/a"), 0, &mut fetch);
        frontier.found(url("/a"), 0, &mut fetch);
        frontier.fetched(&url("/a"), vec![url("/a"), url("/b")], &mut fetch);
        // /b is at the maximum depth: its links are not followed.
        frontier.fetched(&url("/b"), vec![url("/c")], &mut fetch);
        assert_eq!(paths(&fetch), ["/a", "/b"]);
    }

    #[test]
    fn a_shorter_path_found_later_follows_the_links_again() {
        // Listed: /s1 (slow) and /s2 (fast); /s2 -> /x -> /y -> /z, and
        // /s1 -> /y. With depth 2, /z is 2 links from /s1 through /y, but
        // /y was first found 2 links from /s2, so it first looks too deep.
        let mut frontier = Frontier::new(2);
        let mut fetch = Vec::new();
        frontier.found(url("/s1"), 0, &mut fetch);
        frontier.found(url("/s2"), 0, &mut fetch);
        frontier.fetched(&url("/s2"), vec![url("/x")], &mut fetch);
        frontier.fetched(&url("/x"), vec![url("/y")], &mut fetch);
        frontier.fetched(&url("/y"), vec![url("/z")], &mut fetch);
        assert_eq!(paths(&fetch), ["/s1", "/s2", "/x", "/y"]);
        // /s1 finishes at last: /y is 1 link away, so /z (2) is fetched.
        frontier.fetched(&url("/s1"), vec![url("/y")], &mut fetch);
        assert_eq!(paths(&fetch), ["/s1", "/s2", "/x", "/y", "/z"]);
    }
}
