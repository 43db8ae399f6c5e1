//! The final table: medians per runtime and tulipa's ratios, as aligned
//! text or as Markdown.
//!
//! One row per benchmark figure and flavour (multi, current); columns are
//! the three libraries' medians and `tulipa / tokio`, `tulipa / smol` of
//! the same flavour. A median whose samples carried a warning is marked
//! `!` and the warnings are listed under the table.

use std::fmt::Write;
use std::time::Duration;

use crate::benches::{Sample, Size};
use crate::rt::{Lib, Threads, WORKERS};
use crate::Results;

/// Everything the report prints.
pub(crate) struct Report<'a> {
    pub(crate) results: &'a [Results],
    pub(crate) rounds: usize,
    pub(crate) size: Size,
    pub(crate) warmup: bool,
}

/// The medians of one benchmark figure and flavour.
struct Medians {
    bench: crate::benches::Bench,
    name: String,
    threads: Threads,
    medians: Vec<Option<(Duration, bool)>>,
}

/// One table row of text cells, in [`HEADER`] order.
struct Row {
    cells: Vec<String>,
}

const HEADER: [&str; 7] = [
    "benchmark",
    "flavour",
    "tulipa",
    "tokio",
    "smol",
    "tulipa/tokio",
    "tulipa/smol",
];

impl Report<'_> {
    fn header_lines(&self) -> Vec<String> {
        let warmup = if self.warmup {
            ", after 1 untimed warm-up round"
        } else {
            ""
        };
        let size = if self.size.quick {
            "--quick sizes (divided by 10)"
        } else {
            "full sizes"
        };
        vec![
            format!(
                "median of {} rounds{warmup}, runtimes interleaved in a rotated order; {size}; \
                 multi = {WORKERS} worker threads, current = the calling thread",
                self.rounds
            ),
            "ratio = tulipa / other of the same flavour: < 1 means tulipa is faster \
             (for idle_cpu: uses less CPU)"
                .to_string(),
        ]
    }

    /// The median of every benchmark figure and flavour, per library in
    /// [`Lib::ALL`] order, with whether any of its samples warned.
    fn medians(&self) -> Vec<Medians> {
        let mut out = Vec::new();
        for results in self.results {
            let bench = results.bench;
            let metrics = bench.metrics();
            for (m, metric) in metrics.iter().enumerate() {
                for threads in Threads::ALL {
                    let medians: Vec<Option<(Duration, bool)>> = Lib::ALL
                        .iter()
                        .map(|&lib| {
                            let (_, samples) = results
                                .samples
                                .iter()
                                .find(|(f, _)| f.lib == lib && f.threads == threads)?;
                            let warned = samples.iter().any(|s| s.warning.is_some());
                            median(samples.iter().map(|s| s.values[m]).collect())
                                .map(|d| (d, warned))
                        })
                        .collect();
                    if medians.iter().all(Option::is_none) {
                        continue;
                    }
                    let name = if metrics.len() > 1 {
                        format!("{} {metric}", bench.name())
                    } else {
                        bench.name().to_string()
                    };
                    out.push(Medians {
                        bench,
                        name,
                        threads,
                        medians,
                    });
                }
            }
        }
        out
    }

    fn rows(&self) -> (Vec<Row>, Vec<String>) {
        let mut rows = Vec::new();
        for Medians {
            bench,
            name,
            threads,
            medians,
        } in self.medians()
        {
            let mut cells = vec![name, threads.name().to_string()];
            for (median, &lib) in medians.iter().zip(&Lib::ALL) {
                cells.push(match median {
                    Some((d, true)) => format!("{}!", duration(*d)),
                    Some((d, false)) => duration(*d),
                    None if !bench.runs_on(lib) => "n/a".to_string(),
                    None => "-".to_string(),
                });
            }
            let tulipa = medians[0].map(|(d, _)| d);
            for (other, &lib) in medians[1..].iter().zip(&Lib::ALL[1..]) {
                cells.push(if bench.runs_on(lib) {
                    ratio(tulipa, other.map(|(d, _)| d))
                } else {
                    "n/a".to_string()
                });
            }
            rows.push(Row { cells });
        }
        let mut notes = Vec::new();
        for results in self.results {
            for (flavour, samples) in &results.samples {
                for (round, s) in samples.iter().enumerate() {
                    if let Some(w) = &s.warning {
                        notes.push(format!(
                            "! {} {} round {}: {w}",
                            results.bench.name(),
                            flavour.name(),
                            round + 1
                        ));
                    }
                }
            }
        }
        (rows, notes)
    }

    /// The medians as tab-separated values for `cargo xtask bench --chart`:
    /// a header line, then `benchmark, flavour` and one column of
    /// nanoseconds per library in [`Lib::ALL`] order (empty where a
    /// library has no figure).
    pub(crate) fn tsv(&self) -> String {
        let mut out = String::from("benchmark\tflavour");
        for lib in Lib::ALL {
            let _ = write!(out, "\t{}_ns", lib.name());
        }
        out.push('\n');
        for row in self.medians() {
            let _ = write!(out, "{}\t{}", row.name, row.threads.name());
            for median in &row.medians {
                out.push('\t');
                if let Some((d, _)) = median {
                    let _ = write!(out, "{}", d.as_nanos());
                }
            }
            out.push('\n');
        }
        out
    }

    /// The rows of the rates table: for each benchmark with a
    /// [`Bench::rate`](crate::benches::Bench::rate), events per second from
    /// the median of its figure, and `tulipa / other` of those rates (so
    /// here > 1 means tulipa is faster).
    fn rate_rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for results in self.results {
            let bench = results.bench;
            let Some((m, events, unit)) = bench.rate(self.size) else {
                continue;
            };
            for threads in Threads::ALL {
                let rates: Vec<Option<f64>> = Lib::ALL
                    .iter()
                    .map(|&lib| {
                        let (_, samples) = results
                            .samples
                            .iter()
                            .find(|(f, _)| f.lib == lib && f.threads == threads)?;
                        let d = median(samples.iter().map(|s| s.values[m]).collect())?;
                        (!d.is_zero()).then(|| events as f64 / d.as_secs_f64())
                    })
                    .collect();
                if rates.iter().all(Option::is_none) {
                    continue;
                }
                let mut cells = vec![
                    format!("{} {unit}", bench.name()),
                    threads.name().to_string(),
                ];
                let missing = |lib: Lib| if bench.runs_on(lib) { "-" } else { "n/a" }.to_string();
                for (rate, &lib) in rates.iter().zip(&Lib::ALL) {
                    cells.push(rate.map_or_else(|| missing(lib), per_second));
                }
                for (other, &lib) in rates[1..].iter().zip(&Lib::ALL[1..]) {
                    cells.push(match (rates[0], other) {
                        (Some(t), Some(o)) => format!("{:.2}", t / o),
                        _ => missing(lib),
                    });
                }
                rows.push(Row { cells });
            }
        }
        rows
    }

    fn descriptions(&self) -> Vec<String> {
        self.results
            .iter()
            .map(|r| r.bench.describe(self.size))
            .collect()
    }

    /// The report as aligned plain text.
    pub(crate) fn text(&self) -> String {
        let (rows, notes) = self.rows();
        let mut widths: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(&row.cells) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: &[String]| aligned(cells, &widths);
        let mut out = String::new();
        out.push('\n');
        for l in self.header_lines() {
            out.push_str(&l);
            out.push('\n');
        }
        out.push('\n');
        let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
        out.push_str(&line(&header));
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        out.push_str(&line(&rule));
        for row in &rows {
            out.push_str(&line(&row.cells));
        }
        let rates = self.rate_rows();
        if !rates.is_empty() {
            out.push('\n');
            let _ = writeln!(out, "{RATES_LINE}");
            out.push('\n');
            let mut widths: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
            for row in &rates {
                for (w, cell) in widths.iter_mut().zip(&row.cells) {
                    *w = (*w).max(cell.len());
                }
            }
            let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
            out.push_str(&aligned(&header, &widths));
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
            out.push_str(&aligned(&rule, &widths));
            for row in &rates {
                out.push_str(&aligned(&row.cells, &widths));
            }
        }
        out.push('\n');
        for d in self.descriptions() {
            let _ = writeln!(out, "- {d}");
        }
        for n in notes {
            let _ = writeln!(out, "{n}");
        }
        out
    }

    /// The report as Markdown: the header lines, a table, then the
    /// descriptions and warnings as lists.
    pub(crate) fn markdown(&self) -> String {
        let (rows, notes) = self.rows();
        let mut out = String::new();
        for l in self.header_lines() {
            let _ = writeln!(out, "{l}.  ");
        }
        out.push('\n');
        let align: Vec<&str> = (0..HEADER.len())
            .map(|i| if i < 2 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "| {} |", HEADER.join(" | "));
        let _ = writeln!(out, "| {} |", align.join(" | "));
        for row in &rows {
            let _ = writeln!(out, "| {} |", row.cells.join(" | "));
        }
        out.push('\n');
        let rates = self.rate_rows();
        if !rates.is_empty() {
            let _ = writeln!(out, "{RATES_LINE}.");
            out.push('\n');
            let _ = writeln!(out, "| {} |", HEADER.join(" | "));
            let _ = writeln!(out, "| {} |", align.join(" | "));
            for row in &rates {
                let _ = writeln!(out, "| {} |", row.cells.join(" | "));
            }
            out.push('\n');
        }
        for d in self.descriptions() {
            let _ = writeln!(out, "- {d}");
        }
        if !notes.is_empty() {
            out.push('\n');
            for n in notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

/// The line above the rates table.
const RATES_LINE: &str = "rates, from the same medians: higher is better; ratio = tulipa / other \
                          of the same flavour: > 1 means tulipa is faster";

/// One line of an aligned text table: the first two cells left-aligned,
/// the others right-aligned.
fn aligned(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            out.push_str("  ");
        }
        if i < 2 {
            let _ = write!(out, "{cell:<w$}");
        } else {
            let _ = write!(out, "{cell:>w$}");
        }
    }
    out.trim_end().to_string() + "\n"
}

/// A rate with thousands grouped, e.g. `123,456`.
fn per_second(rate: f64) -> String {
    crate::benches::grouped(rate.round() as usize)
}

/// The median; the mean of the two middle values for an even count.
fn median(mut values: Vec<Duration>) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    })
}

/// A duration in milliseconds with about three significant digits, or in
/// microseconds under 0.1 ms.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else if ms >= 1.0 {
        format!("{ms:.2} ms")
    } else if ms >= 0.1 {
        format!("{ms:.3} ms")
    } else {
        // Per-request figures (http_hello) are a few microseconds: keep
        // three digits rather than print `0.008 ms`.
        format!("{:.2} us", ms * 1e3)
    }
}

fn ratio(tulipa: Option<Duration>, other: Option<Duration>) -> String {
    match (tulipa, other) {
        (Some(t), Some(o)) if !o.is_zero() => format!("{:.2}", t.as_secs_f64() / o.as_secs_f64()),
        _ => "-".to_string(),
    }
}

/// A sample's figures for the progress line, e.g. `12.3 ms` or
/// `41.0 ms/8.20 ms`.
pub(crate) fn short(sample: &Sample) -> String {
    sample
        .values
        .iter()
        .map(|&d| duration(d))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(super::median(vec![ms(3), ms(1), ms(2)]), Some(ms(2)));
        assert_eq!(
            super::median(vec![ms(4), ms(1), ms(2), ms(3)]),
            Some(ms(2) + ms(1) / 2)
        );
        assert_eq!(super::median(Vec::new()), None);
    }

    #[test]
    fn ratio_is_tulipa_over_other() {
        let ms = Duration::from_millis;
        assert_eq!(super::ratio(Some(ms(1)), Some(ms(2))), "0.50");
        assert_eq!(super::ratio(Some(ms(1)), Some(Duration::ZERO)), "-");
        assert_eq!(super::ratio(None, Some(ms(1))), "-");
    }
}
