//! Helpers shared by the compat tests: both runtime flavours, and (for
//! the PostgreSQL test) the REST app's throwaway PostgreSQL server, which
//! `cargo xtask peers` installs.

// Each test file uses what it needs of these.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

// One copy of the PostgreSQL harness for the workspace: the REST app's.
#[path = "../../../../apps/rest/tests/support/peers.rs"]
pub mod peers;
#[path = "../../../../apps/rest/tests/support/pg.rs"]
pub mod pg;

/// A current-thread and a two-worker multi-thread runtime: the tests run
/// on each.
pub fn runtimes() -> [tulipa::Runtime; 2] {
    [
        tulipa::Runtime::builder().current_thread().build().unwrap(),
        tulipa::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
}

/// A directory under the system's temp dir, removed on drop (the
/// PostgreSQL harness keeps its cluster in one).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("compat-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
