//! `read_dir`: a directory of 3,000 entries is listed with each entry seen
//! exactly once, file types come with the listing, and `next_entry` and the
//! `Stream` agree.

mod common;

use std::collections::HashSet;

use common::TempDir;
use futures_lite::future::block_on;
use futures_lite::StreamExt;

#[test]
fn three_thousand_entries_each_seen_exactly_once() {
    let dir = TempDir::new("readdir");
    for i in 0..3000 {
        if i % 10 == 0 {
            std::fs::create_dir(dir.join(&format!("d{i}"))).unwrap();
        } else {
            std::fs::write(dir.join(&format!("f{i}")), b"").unwrap();
        }
    }
    block_on(async {
        let mut seen = HashSet::new();
        let mut dirs = 0;
        let mut entries = tulipa_fs::read_dir(dir.path()).await.unwrap();
        while let Some(entry) = entries.next_entry().await.unwrap() {
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(entry.path(), dir.join(&name));
            let is_dir = entry.file_type().await.unwrap().is_dir();
            assert_eq!(is_dir, name.starts_with('d'), "{name}");
            dirs += usize::from(is_dir);
            assert!(seen.insert(name), "an entry was listed twice");
        }
        assert_eq!(seen.len(), 3000);
        assert_eq!(dirs, 300);
        // The end is sticky.
        assert!(entries.next_entry().await.unwrap().is_none());
        assert!(entries.next().await.is_none());

        // Same through the Stream, with metadata.
        let all: Vec<_> = tulipa_fs::read_dir(dir.path())
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(all.len(), 3000);
        let names: HashSet<_> = all
            .into_iter()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, seen);
    });
}

#[test]
fn empty_directory_and_metadata_of_entries() {
    let dir = TempDir::new("readdir-small");
    block_on(async {
        let mut entries = tulipa_fs::read_dir(dir.path()).await.unwrap();
        assert!(entries.next().await.is_none());

        tulipa_fs::write(dir.join("five"), b"12345").await.unwrap();
        let mut entries = tulipa_fs::read_dir(dir.path()).await.unwrap();
        let e = entries.next().await.unwrap().unwrap();
        assert_eq!(e.metadata().await.unwrap().len(), 5);
        assert!(e.file_type().await.unwrap().is_file());
        assert!(e.ino() > 0);
        assert!(format!("{e:?}").contains("five"));
        // Removed after listing: metadata names the path in its error.
        tulipa_fs::remove_file(dir.join("five")).await.unwrap();
        let err = e.metadata().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(err.to_string().contains("five`"), "{err}");
    });
}

#[test]
fn dropping_a_listing_midway_is_fine() {
    let dir = TempDir::new("readdir-drop");
    for i in 0..600 {
        std::fs::write(dir.join(&format!("f{i}")), b"").unwrap();
    }
    block_on(async {
        let mut entries = tulipa_fs::read_dir(dir.path()).await.unwrap();
        for _ in 0..300 {
            entries.next().await.unwrap().unwrap();
        }
        drop(entries);
        let n = tulipa_fs::read_dir(dir.path()).await.unwrap().count().await;
        assert_eq!(n, 600);
    });
}
