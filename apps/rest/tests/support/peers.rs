//! PostgreSQL's server programs, found by `cargo xtask peers` (which
//! installs them when missing, and is `cargo xtask ci`'s first step) and
//! named in `<target>/peers/env`, one `NAME=/abs/path` a line. A missing
//! program fails the test with the command that installs it: the
//! PostgreSQL tests are never skipped.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// The names this reader knows.
const NAMES: [&str; 2] = ["INITDB", "PG_CTL"];

/// The absolute path of the peer `name`: "INITDB" or "PG_CTL".
///
/// # Panics
///
/// If `name` is not one of those, or the program is not installed: no env
/// file, no line for `name`, or no file at the path it names. The message
/// says to run `cargo xtask peers`.
pub fn peer(name: &str) -> PathBuf {
    assert!(
        NAMES.contains(&name),
        "unknown peer {name:?}: the peers are {NAMES:?}"
    );
    let env_file = target_dir().join("peers").join("env");
    let missing = |why: String| -> ! {
        panic!(
            "{name} is not installed: run `cargo xtask peers` (it installs PostgreSQL's \
             server, Debian package postgresql, among the test peers); {why}"
        )
    };
    let text = std::fs::read_to_string(&env_file)
        .unwrap_or_else(|e| missing(format!("cannot read {}: {e}", env_file.display())));
    let path = text
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
        .map(PathBuf::from)
        .unwrap_or_else(|| missing(format!("{} has no {name}= line", env_file.display())));
    if !path.is_file() {
        missing(format!(
            "{} (named in {}) does not exist",
            path.display(),
            env_file.display()
        ));
    }
    path
}

/// The target dir: `$CARGO_TARGET_DIR` (a relative one taken from the
/// workspace root, as `cargo xtask` does), else the workspace's `target`.
fn target_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}
