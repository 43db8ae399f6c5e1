//! `cargo xtask tidy`: house rules that rustfmt and clippy do not check.
//!
//! Every `.rs` file under `crates/`, `xtask/`, `benches/` and `examples/`
//! (tests included; `target/` and hidden directories skipped):
//!
//! - starts with a `//!` module doc;
//! - has a `// SAFETY:` comment on or above every unsafe block, at most
//!   three lines up, not counting the comment lines in between;
//! - uses no `todo!`, `unimplemented!` or `dbg!` outside test code (files
//!   under a `tests/` directory, and items under `#[cfg(test)]` or `#[test]`);
//! - is at most 1,500 lines long (a warning above 1,000: time to split).
//!
//! And every library under `crates/` either forbids unsafe code in its
//! `src/lib.rs` or has clippy's `undocumented_unsafe_blocks` lint on, through
//! `[lints] workspace = true` or an attribute in `src/lib.rs`.
//!
//! The checks are line-based heuristics: no parser, so a `//` or brace
//! inside a string literal can confuse them. They report every violation as
//! `file:line: message` and fail at the end.

use std::fs;
use std::path::{Path, PathBuf};

const DIRS: [&str; 5] = ["crates", "apps", "xtask", "benches", "examples"];
const MAX_LINES: usize = 1_500;
const WARN_LINES: usize = 1_000;
/// Built with `concat!` so that this file does not trip its own check.
const FORBIDDEN_MACROS: [&str; 3] = [
    concat!("todo", "!("),
    concat!("unimplemented", "!("),
    concat!("dbg", "!("),
];

pub(crate) fn run(root: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    for dir in DIRS {
        collect_rs_files(&root.join(dir), &mut files)?;
    }
    files.sort();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path)
            .map_err(|e| format!("tidy: cannot read {}: {e}", path.display()))?;
        let rel = path.strip_prefix(root).unwrap_or(path);
        let test_file = rel.components().any(|c| c.as_os_str() == "tests");
        check_file(
            &rel.display().to_string(),
            &text,
            test_file,
            &mut errors,
            &mut warnings,
        );
    }
    check_unsafe_policy(root, &mut errors)?;
    for warning in &warnings {
        println!("warning: {warning}");
    }
    for error in &errors {
        println!("error: {error}");
    }
    println!(
        "tidy: {} files checked, {} violation(s), {} warning(s)",
        files.len(),
        errors.len(),
        warnings.len()
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tidy found {} violation(s), listed above",
            errors.len()
        ))
    }
}

fn collect_rs_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    if !dir.is_dir() {
        return Ok(());
    }
    let entries =
        fs::read_dir(dir).map_err(|e| format!("tidy: cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("tidy: cannot list {}: {e}", dir.display()))?
            .path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                collect_rs_files(&path, files)?;
            }
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
    Ok(())
}

fn check_file(
    rel: &str,
    text: &str,
    test_file: bool,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    if !first.is_some_and(|i| lines[i].starts_with("//!")) {
        errors.push(format!(
            "{rel}:{}: file does not start with a `//!` module doc",
            first.map_or(1, |i| i + 1)
        ));
    }
    if lines.len() > MAX_LINES {
        errors.push(format!(
            "{rel}:{}: {} lines, over the {MAX_LINES}-line limit; split the file",
            lines.len(),
            lines.len()
        ));
    } else if lines.len() > WARN_LINES {
        warnings.push(format!(
            "{rel}:{}: {} lines, over {WARN_LINES}; consider splitting",
            lines.len(),
            lines.len()
        ));
    }

    // Test code: a `#[cfg(test)]` or `#[test]` attribute starts it; the item
    // it applies to ends when the braces opened on its first line close.
    let mut pending_test_attr = false;
    let mut test_depth = 0_i64;
    for (i, line) in lines.iter().enumerate() {
        let code = line.find("//").map_or(*line, |at| &line[..at]);
        let trimmed = code.trim();
        let in_test = test_file || pending_test_attr || test_depth > 0;
        if test_depth > 0 {
            test_depth += brace_balance(code);
        } else if pending_test_attr && !trimmed.is_empty() && !trimmed.starts_with("#[") {
            // The first line of the item under the attribute.
            test_depth = brace_balance(code).max(0);
            pending_test_attr =
                trimmed.ends_with(',') || (!code.contains('{') && !trimmed.ends_with(';'));
        }
        if test_depth == 0 && is_test_attribute(trimmed) {
            pending_test_attr = true;
        }

        if has_unsafe_block(code) && !has_safety_comment(&lines, i) {
            errors.push(format!(
                "{rel}:{}: unsafe block without a `// SAFETY:` comment within 3 lines above",
                i + 1
            ));
        }
        if !in_test {
            for needle in FORBIDDEN_MACROS {
                if code.contains(needle) {
                    errors.push(format!("{rel}:{}: `{needle}` in non-test code", i + 1));
                }
            }
        }
    }
}

fn is_test_attribute(trimmed: &str) -> bool {
    trimmed.starts_with("#[test]")
        || (trimmed.starts_with("#[cfg(")
            && trimmed.contains("test")
            && !trimmed.contains("not(test"))
}

fn brace_balance(code: &str) -> i64 {
    code.chars()
        .map(|c| i64::from(c == '{') - i64::from(c == '}'))
        .sum()
}

/// Whether `code` has the keyword `unsafe` followed by `{` (an unsafe block,
/// not an `unsafe fn`, `unsafe impl` or `unsafe trait`).
fn has_unsafe_block(code: &str) -> bool {
    let keyword = "unsafe";
    code.match_indices(keyword).any(|(at, _)| {
        let before_ok = !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        before_ok && code[at + keyword.len()..].trim_start().starts_with('{')
    })
}

/// Whether a `SAFETY:` comment is on line `i` or at most three lines above
/// it, not counting the comment lines in between (a proof may be long).
fn has_safety_comment(lines: &[&str], i: usize) -> bool {
    if lines[i].contains("// SAFETY:") {
        return true;
    }
    let mut code_lines = 0;
    for line in lines[..i].iter().rev() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") || trimmed.starts_with("/*") || trimmed.starts_with('*') {
            if trimmed.contains("SAFETY:") {
                return true;
            }
        } else {
            code_lines += 1;
            if code_lines == 3 {
                return false;
            }
        }
    }
    false
}

/// Every library crate under `crates/` forbids unsafe code or has
/// `clippy::undocumented_unsafe_blocks` on.
fn check_unsafe_policy(root: &Path, errors: &mut Vec<String>) -> Result<(), String> {
    let crates = root.join("crates");
    if !crates.is_dir() {
        return Ok(());
    }
    let entries = fs::read_dir(&crates)
        .map_err(|e| format!("tidy: cannot list {}: {e}", crates.display()))?;
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    dirs.sort();
    for dir in dirs {
        let lib = dir.join("src/lib.rs");
        let (Ok(lib_text), Ok(manifest)) = (
            fs::read_to_string(&lib),
            fs::read_to_string(dir.join("Cargo.toml")),
        ) else {
            continue;
        };
        let forbids = lib_text
            .lines()
            .any(|l| l.trim().replace(' ', "") == "#![forbid(unsafe_code)]");
        let lint_attr = lib_text.lines().any(|l| {
            l.trim_start().starts_with("#![") && l.contains("clippy::undocumented_unsafe_blocks")
        });
        if !forbids && !lint_attr && !inherits_workspace_lints(&manifest) {
            let rel = lib.strip_prefix(root).unwrap_or(&lib).display().to_string();
            errors.push(format!(
                "{rel}:1: neither `#![forbid(unsafe_code)]` nor `clippy::undocumented_unsafe_blocks`; \
                 add the forbid, or `[lints] workspace = true` to the crate's Cargo.toml"
            ));
        }
    }
    Ok(())
}

/// Whether a manifest has `[lints] workspace = true` (or `lints.workspace = true`).
fn inherits_workspace_lints(manifest: &str) -> bool {
    let mut in_lints = false;
    for line in manifest.lines() {
        let line: String = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if line.starts_with('[') {
            in_lints = line == "[lints]";
        } else if line == "lints.workspace=true" || (in_lints && line == "workspace=true") {
            return true;
        }
    }
    false
}
