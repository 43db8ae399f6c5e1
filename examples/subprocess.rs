//! Subprocesses: a pipeline, a conversation over a child's stdin and
//! stdout, and a timeout that kills a slow child.
//!
//! It mirrors this asyncio program:
//!
//! ```python
//! import asyncio
//! from asyncio.subprocess import PIPE
//!
//! async def main():
//!     # ls -l | wc -l
//!     r, w = os.pipe()
//!     ls = await asyncio.create_subprocess_exec("ls", "-l", stdout=w)
//!     wc = await asyncio.create_subprocess_exec("wc", "-l", stdin=r, stdout=PIPE)
//!     print((await wc.communicate())[0])
//!
//!     # feed stdin while reading stdout
//!     tr = await asyncio.create_subprocess_exec("tr", "a-z", "A-Z", stdin=PIPE, stdout=PIPE)
//!     ...
//!
//!     # a slow child, killed after a timeout
//!     slow = await asyncio.create_subprocess_exec("sleep", "30")
//!     try:
//!         await asyncio.wait_for(slow.wait(), 0.5)
//!     except TimeoutError:
//!         slow.kill()
//!         await slow.wait()
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example subprocess`.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_lite::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use futures_lite::StreamExt;
use tulipa::process::Command;

#[tulipa::main]
async fn main() -> io::Result<()> {
    pipeline().await?;
    conversation().await?;
    timeout_kills_a_slow_child().await
}

/// `ls -l | wc -l`: the first child's stdout becomes the second's stdin.
async fn pipeline() -> io::Result<()> {
    let mut ls = Command::new("ls")
        .arg("-l")
        .stdout(Stdio::piped())
        .spawn()?;
    let ls_out = ls.stdout.take().expect("stdout was piped");
    // `Stdio::try_from` hands the pipe end over, back in blocking mode.
    let wc = Command::new("wc")
        .arg("-l")
        .stdin(Stdio::try_from(ls_out)?)
        .output()
        .await?;
    ls.wait().await?;
    println!(
        "ls -l | wc -l  ->  {} line(s)",
        String::from_utf8_lossy(&wc.stdout).trim()
    );
    Ok(())
}

/// Writes 10,000 lines to `tr a-z A-Z` while reading its answers: doing
/// one after the other would deadlock once both pipes are full.
async fn conversation() -> io::Result<()> {
    let mut tr = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = tr.stdin.take().expect("stdin was piped");
    let stdout = tr.stdout.take().expect("stdout was piped");

    let writer = async move {
        for i in 0..10_000 {
            stdin
                .write_all(format!("line number {i}\n").as_bytes())
                .await?;
        }
        // Dropping stdin closes it: `tr` sees end-of-file and exits.
        io::Result::Ok(())
    };
    let reader = async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut count = 0;
        let mut last = String::new();
        while let Some(line) = lines.next().await {
            last = line?;
            count += 1;
        }
        io::Result::Ok((count, last))
    };
    let ((), (count, last)) = futures_lite::future::try_zip(writer, reader).await?;
    let status = tr.wait().await?;
    println!("tr a-z A-Z     ->  {count} lines back, the last one {last:?} ({status})");
    Ok(())
}

/// `asyncio.wait_for(proc.wait(), 0.5)`, then `proc.kill()`.
async fn timeout_kills_a_slow_child() -> io::Result<()> {
    let started = Instant::now();
    let mut slow = Command::new("sleep").arg("30").spawn()?;
    let status = match tulipa::time::timeout(Duration::from_millis(500), slow.wait()).await {
        Ok(status) => status?,
        Err(_elapsed) => {
            println!("sleep 30       ->  still running after 0.5 s: killing it");
            slow.kill().await?;
            slow.wait().await?
        }
    };
    println!(
        "sleep 30       ->  ended by signal {:?} after {:.1?}",
        status.signal(),
        started.elapsed()
    );
    Ok(())
}
