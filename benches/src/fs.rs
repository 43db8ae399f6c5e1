//! File benchmarks: reading a 256 MiB file, tulipa (`tulipa::fs`) against
//! tokio (`tokio::fs`) and smol (`smol::fs`, the `async-fs` crate).
//!
//! - `fs_read_file`: open the file and read it sequentially through the
//!   library's `File` into one 64 KiB buffer until end of file.
//! - `fs_read_all`: the library's `fs::read` of the whole file into a
//!   `Vec`.
//! - `fs_write_file`: create a file and write 64 MiB (8 MiB with `--quick`)
//!   to it through the library's `File` in 64 KiB writes, then flush (no
//!   `fsync`: the page cache, not the disk, is measured).
//!
//! The file is written once per process (in a fresh directory under the
//! system temp dir, 32 MiB with `--quick`), on first use, so every run
//! reads it from the page cache: the figures measure the runtime's
//! overhead (thread hops, copies), not the disk. [`cleanup`] deletes it at
//! the end of the run.
//!
//! As in `blocking.rs`, the [`Rt`] trait knows nothing of files, so the
//! runtime under test is recognised by its type and the matching library
//! is called.

use std::any::TypeId;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use crate::benches::{Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

/// The read buffer of `fs_read_file`.
const CHUNK: usize = 64 * 1024;

#[derive(Clone, Copy)]
enum Lib {
    Tulipa,
    Tokio,
    Smol,
}

fn lib_of<R: Rt>() -> Lib {
    let t = TypeId::of::<R>();
    if t == TypeId::of::<Tulipa>() {
        Lib::Tulipa
    } else if t == TypeId::of::<Tokio>() {
        Lib::Tokio
    } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
        Lib::Smol
    } else {
        unreachable!("a runtime without a file library in the benchmarks")
    }
}

/// Which file benchmark to run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    ReadFile,
    ReadAll,
    WriteFile,
}

fn file_len(size: Size) -> usize {
    if size.quick {
        32 << 20
    } else {
        256 << 20
    }
}

/// The directory holding the test file, made on first use.
static DIR: OnceLock<PathBuf> = OnceLock::new();

/// The benchmark directory, made on first use.
fn test_dir() -> &'static Path {
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tulipa-bench-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cannot create the benchmark directory");
        dir
    })
}

/// The test file of `len` bytes, written on first use.
fn test_file(len: usize) -> PathBuf {
    let dir = test_dir();
    let path = dir.join(format!("data-{len}"));
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(len as u64) {
        let mut f = std::fs::File::create(&path).expect("cannot create the benchmark file");
        let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        for _ in 0..len / block.len() {
            f.write_all(&block)
                .expect("cannot write the benchmark file");
        }
        f.sync_all().expect("cannot write the benchmark file");
    }
    path
}

/// Deletes the test file and its directory, if they were made.
pub(crate) fn cleanup() {
    if let Some(dir) = DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The report line of a file benchmark.
pub(crate) fn describe(shape: Shape, size: Size) -> String {
    let mib = file_len(size) >> 20;
    match shape {
        Shape::ReadFile => format!(
            "fs_read_file: open a {mib} MiB file (page-cached) and read it sequentially through \
             File into a 64 KiB buffer (tulipa::fs::File, tokio::fs::File, smol::fs::File)"
        ),
        Shape::ReadAll => format!(
            "fs_read_all: fs::read a {mib} MiB file (page-cached) into a Vec \
             (tulipa::fs::read, tokio::fs::read, smol::fs::read)"
        ),
        Shape::WriteFile => format!(
            "fs_write_file: create a file and write {} MiB through File in 64 KiB writes, then \
             flush, no fsync (tulipa::fs::File, tokio::fs::File, smol::fs::File)",
            mib / 4
        ),
    }
}

/// Runs one file benchmark on the runtime `R`.
pub(crate) async fn run<R: Rt>(_rt: R, shape: Shape, size: Size) -> Sample {
    let lib = lib_of::<R>();
    if let Shape::WriteFile = shape {
        let len = file_len(size) / 4;
        let path = test_dir().join("written");
        let start = Instant::now();
        write_file(lib, &path, len).await;
        let elapsed = start.elapsed();
        let written = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert_eq!(written, len as u64, "the written file has the wrong size");
        return Sample::one(elapsed);
    }
    let len = file_len(size);
    let path = test_file(len);
    let start = Instant::now();
    let n = match shape {
        Shape::ReadFile => read_file(lib, &path).await,
        Shape::ReadAll => read_all(lib, &path).await,
        Shape::WriteFile => unreachable!("handled above"),
    };
    let elapsed = start.elapsed();
    assert_eq!(
        n, len,
        "read a different number of bytes than the file holds"
    );
    Sample::one(elapsed)
}

async fn read_file(lib: Lib, path: &Path) -> usize {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    match lib {
        Lib::Tulipa => {
            use futures_lite::AsyncReadExt;
            let mut f = tulipa::fs::File::open(path).await.unwrap();
            loop {
                let n = f.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
            }
        }
        Lib::Tokio => {
            use tokio::io::AsyncReadExt;
            let mut f = tokio::fs::File::open(path).await.unwrap();
            loop {
                let n = f.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
            }
        }
        Lib::Smol => {
            use futures_lite::AsyncReadExt;
            let mut f = smol::fs::File::open(path).await.unwrap();
            loop {
                let n = f.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
            }
        }
    }
    std::hint::black_box(&buf);
    total
}

async fn read_all(lib: Lib, path: &Path) -> usize {
    let data = match lib {
        Lib::Tulipa => tulipa::fs::read(path).await.unwrap(),
        Lib::Tokio => tokio::fs::read(path).await.unwrap(),
        Lib::Smol => smol::fs::read(path).await.unwrap(),
    };
    std::hint::black_box(&data).len()
}

async fn write_file(lib: Lib, path: &Path, len: usize) {
    let chunk: Vec<u8> = (0..CHUNK).map(|i| (i % 253) as u8).collect();
    let writes = len / CHUNK;
    match lib {
        Lib::Tulipa => {
            use futures_lite::AsyncWriteExt;
            let mut f = tulipa::fs::File::create(path).await.unwrap();
            for _ in 0..writes {
                f.write_all(&chunk).await.unwrap();
            }
            f.flush().await.unwrap();
        }
        Lib::Tokio => {
            use tokio::io::AsyncWriteExt;
            let mut f = tokio::fs::File::create(path).await.unwrap();
            for _ in 0..writes {
                f.write_all(&chunk).await.unwrap();
            }
            f.flush().await.unwrap();
        }
        Lib::Smol => {
            use futures_lite::AsyncWriteExt;
            let mut f = smol::fs::File::create(path).await.unwrap();
            for _ in 0..writes {
                f.write_all(&chunk).await.unwrap();
            }
            f.flush().await.unwrap();
        }
    }
}
