//! Files with tasks, asyncio's `aiofiles` exercise: write a list of URLs to
//! a file, read it back line by line, "fetch" every URL concurrently (a
//! fake fetch that sleeps and computes), and append one result line per URL
//! to `results.txt`, all in a fresh temporary directory.
//!
//! It mirrors:
//!
//! ```python
//! import asyncio, aiofiles
//!
//! async def fetch(url):
//!     checksum = page_hash(url) % 997
//!     await asyncio.sleep(checksum % 50 / 1000)
//!     return checksum
//!
//! async def handle(url, path):
//!     checksum = await fetch(url)
//!     async with aiofiles.open(path, "a") as f:
//!         await f.write(f"{url} {checksum}\n")
//!
//! async def main(dir):
//!     async with aiofiles.open(f"{dir}/urls.txt", "w") as f:
//!         await f.write("\n".join(URLS) + "\n")
//!     async with aiofiles.open(f"{dir}/urls.txt") as f:
//!         urls = [line.strip() async for line in f]
//!     await asyncio.gather(*(handle(u, f"{dir}/results.txt") for u in urls))
//!
//! asyncio.run(main(tempfile.mkdtemp()))
//! ```
//!
//! Run it with `cargo run -p tulipa --example url_file`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tulipa::fs::{File, OpenOptions};
use tulipa::io::{AsyncBufReadExt, AsyncWriteExt};
use tulipa::stream::StreamExt;

const URLS: usize = 40;

/// A stand-in for an HTTP GET: "hashes the page", then waits as long as a
/// slow server would (0 to 49 ms, depending on the URL).
async fn fetch(url: &str) -> u32 {
    let checksum = url
        .bytes()
        .fold(17u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 997;
    tulipa::time::sleep(Duration::from_millis(u64::from(checksum % 50))).await;
    checksum
}

/// Fetches one URL and appends its result line. Every task opens the file
/// in append mode and writes its line in one `write_all`, so lines from
/// concurrent tasks never mix (the OS appends each write whole).
async fn handle(url: String, results: PathBuf) -> io::Result<()> {
    let checksum = fetch(&url).await;
    let mut out = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&results)
        .await?;
    out.write_all(format!("{url} {checksum}\n").as_bytes())
        .await?;
    // Flush before dropping to see any write error here (dropping would
    // write the line too, in the background).
    out.flush().await
}

async fn main_async(dir: &Path) -> io::Result<()> {
    let input = dir.join("urls.txt");
    let results = dir.join("results.txt");

    let mut f = File::create(&input).await?;
    for i in 0..URLS {
        f.write_all(format!("https://example.invalid/page/{i}\n").as_bytes())
            .await?;
    }
    f.flush().await?;
    drop(f);

    // A tulipa File buffers its reads itself (one blocking read per 64 KiB
    // or more), so it reads lines with no BufReader around it.
    let mut lines = File::open(&input).await?.lines();
    let mut tasks = Vec::new();
    while let Some(line) = lines.next().await {
        let url = line?.trim().to_string();
        tasks.push(tulipa::spawn(handle(url, results.clone())));
    }
    for t in tasks {
        t.await.map_err(io::Error::from)??;
    }

    let summary = tulipa::fs::read_to_string(&results).await?;
    let done: Vec<&str> = summary.lines().collect();
    println!("fetched {} URLs into {}", done.len(), results.display());
    println!("first three to finish:");
    for line in done.iter().take(3) {
        println!("  {line}");
    }
    let total: u32 = done
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u32>().ok())
        .sum();
    println!("sum of checksums: {total}");
    assert_eq!(done.len(), URLS, "every URL has exactly one result line");
    Ok(())
}

fn main() -> io::Result<()> {
    let dir = std::env::temp_dir().join(format!("tulipa-url-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = tulipa::run(main_async(&dir));
    std::fs::remove_dir_all(&dir)?;
    println!("(removed the temporary directory)");
    result
}
