//! Process CPU time from `/proc`, for `idle_cpu`.
//!
//! The precise source is the sum over this process's live threads of the
//! first field of `/proc/self/task/<tid>/schedstat` (nanoseconds on a CPU).
//! Where that is missing (kernels without schedstats), the fallback is
//! `utime + stime` of `/proc/self/stat`, in clock ticks of 10 ms. Off Linux
//! both are missing and the figure is zero, which the report cannot tell
//! from "idle": `idle_cpu` is a Linux measurement.
//!
//! The thread sum misses threads that exited between two readings; the
//! runtimes under test start their threads before the first reading and
//! stop them after the last.

use std::fs;
use std::time::Duration;

/// CPU time used by this process so far (see the module docs for the
/// source and its limits).
pub(crate) fn process_cpu_time() -> Duration {
    schedstat_sum().or_else(stat_ticks).unwrap_or_default()
}

fn schedstat_sum() -> Option<Duration> {
    let mut total_ns: u64 = 0;
    for entry in fs::read_dir("/proc/self/task").ok()? {
        let Ok(entry) = entry else { continue };
        // A thread can exit between the listing and the read: skip it.
        let Ok(text) = fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        total_ns += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total_ns))
}

fn stat_ticks() -> Option<Duration> {
    let text = fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields from after the last ')'. utime and stime are fields 14
    // and 15, so the 12th and 13th after it.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture Rust supports.
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_grows_with_work() {
        let before = super::process_cpu_time();
        let mut x = 0_u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(super::process_cpu_time() > before);
    }
}
