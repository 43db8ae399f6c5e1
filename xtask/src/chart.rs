//! `cargo xtask bench --chart`: draws `docs/benchmarks.svg` from the
//! medians the benchmark binary writes with `--tsv`.
//!
//! One row per benchmark figure and flavour, two bars in it: tulipa's time
//! over tokio's and over smol's, of the same flavour. The horizontal axis is
//! logarithmic (base 2) and centred on the line at 1.0, so "twice as fast"
//! and "twice as slow" are bars of the same length on either side of it;
//! left of the line tulipa is faster. Ratios beyond the axis (below 1/4 or
//! above 4) are drawn to its edge with an arrow, and the text beside every
//! bar gives the exact ratio.
//!
//! The SVG is written by hand (a few element kinds, no dependency): the
//! xtask stays std-only.

use std::fmt::Write;

/// One row of the TSV: a benchmark figure on one flavour, with a median in
/// nanoseconds per library (tulipa, tokio, smol), `None` where the library
/// has no figure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) flavour: String,
    pub(crate) tulipa: Option<f64>,
    pub(crate) tokio: Option<f64>,
    pub(crate) smol: Option<f64>,
}

impl Row {
    fn ratio(&self, other: Option<f64>) -> Option<f64> {
        match (self.tulipa, other) {
            (Some(t), Some(o)) if t > 0.0 && o > 0.0 => Some(t / o),
            _ => None,
        }
    }
}

/// Parses the `--tsv` output of `tulipa-benches`: a header naming the
/// columns `benchmark flavour tulipa_ns tokio_ns smol_ns`, then one row per
/// line.
///
/// # Errors
///
/// A message naming the line and what was wrong with it.
pub(crate) fn parse(tsv: &str) -> Result<Vec<Row>, String> {
    let mut lines = tsv.lines();
    let header = lines.next().ok_or("the TSV file is empty")?;
    let expected = "benchmark\tflavour\ttulipa_ns\ttokio_ns\tsmol_ns";
    if header != expected {
        return Err(format!(
            "line 1: expected the header `{}`, found `{}`; write the file with \
             `tulipa-benches --tsv PATH`",
            expected.replace('\t', " "),
            header.replace('\t', " ")
        ));
    }
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        if cells.len() != 5 {
            return Err(format!(
                "line {}: expected 5 tab-separated cells, found {}",
                i + 2,
                cells.len()
            ));
        }
        let number = |cell: &str| -> Result<Option<f64>, String> {
            if cell.is_empty() {
                return Ok(None);
            }
            cell.parse::<f64>().map(Some).map_err(|_| {
                format!(
                    "line {}: `{cell}` is not a number of nanoseconds (or empty for none)",
                    i + 2
                )
            })
        };
        rows.push(Row {
            name: cells[0].to_string(),
            flavour: cells[1].to_string(),
            tulipa: number(cells[2])?,
            tokio: number(cells[3])?,
            smol: number(cells[4])?,
        });
    }
    Ok(rows)
}

/// Left edge of the plot area, after the row labels.
const PLOT_LEFT: f64 = 250.0;
/// Width of the plot area.
const PLOT_WIDTH: f64 = 560.0;
/// Octaves shown on each side of 1.0: the axis runs from 1/4 to 4.
const OCTAVES: f64 = 2.0;
const WIDTH: f64 = 900.0;
const TOP: f64 = 70.0;
const ROW_HEIGHT: f64 = 24.0;
const BAR_HEIGHT: f64 = 8.0;
const TOKIO_COLOUR: &str = "#4e79a7";
const SMOL_COLOUR: &str = "#f28e2b";

/// The x coordinate of a ratio on the log axis, clamped to the plot.
fn x_of(ratio: f64) -> f64 {
    let centre = PLOT_LEFT + PLOT_WIDTH / 2.0;
    let per_octave = PLOT_WIDTH / 2.0 / OCTAVES;
    let octaves = ratio.log2().clamp(-OCTAVES, OCTAVES);
    centre + octaves * per_octave
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Draws the chart. Rows where tulipa has no ratio to either peer are left
/// out.
pub(crate) fn svg(rows: &[Row]) -> String {
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|r| r.ratio(r.tokio).is_some() || r.ratio(r.smol).is_some())
        .collect();
    let height = TOP + rows.len() as f64 * ROW_HEIGHT + 40.0;
    let centre = x_of(1.0);
    let plot_top = TOP - 10.0;
    let plot_bottom = TOP + rows.len() as f64 * ROW_HEIGHT;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">tulipa's time / the other runtime's, same flavour (log scale)</text>"#
    );
    let _ = writeln!(
        out,
        r##"<text x="10" y="38">left of 1.0: tulipa is faster. <tspan fill="{TOKIO_COLOUR}">■ vs tokio</tspan>  <tspan fill="{SMOL_COLOUR}">■ vs smol</tspan>  (medians of one `cargo xtask bench -- --chart` run)</text>"##
    );
    // Shade the two halves and draw the grid.
    let _ = writeln!(
        out,
        r##"<rect x="{PLOT_LEFT}" y="{plot_top}" width="{:.1}" height="{:.1}" fill="#eef7ee"/>"##,
        centre - PLOT_LEFT,
        plot_bottom - plot_top
    );
    let _ = writeln!(
        out,
        r##"<rect x="{centre:.1}" y="{plot_top}" width="{:.1}" height="{:.1}" fill="#fbeeee"/>"##,
        PLOT_LEFT + PLOT_WIDTH - centre,
        plot_bottom - plot_top
    );
    for (ratio, label) in [
        (0.25, "0.25"),
        (0.5, "0.5"),
        (1.0, "1.0"),
        (2.0, "2"),
        (4.0, "4"),
    ] {
        let x = x_of(ratio);
        let (colour, width) = if ratio == 1.0 {
            ("#333", 1.5)
        } else {
            ("#ccc", 1.0)
        };
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{plot_top}" x2="{x:.1}" y2="{plot_bottom:.1}" stroke="{colour}" stroke-width="{width}"/>"#
        );
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
            plot_top - 4.0
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + i as f64 * ROW_HEIGHT;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{} ({})</text>"#,
            PLOT_LEFT - 8.0,
            y + ROW_HEIGHT / 2.0,
            escape(&row.name),
            escape(&row.flavour)
        );
        for (k, (other, colour)) in [(row.tokio, TOKIO_COLOUR), (row.smol, SMOL_COLOUR)]
            .into_iter()
            .enumerate()
        {
            let Some(ratio) = row.ratio(other) else {
                continue;
            };
            let bar_y = y + 3.0 + k as f64 * (BAR_HEIGHT + 2.0);
            let end = x_of(ratio);
            let (left, width) = if end < centre {
                (end, centre - end)
            } else {
                (centre, end - centre)
            };
            let _ = writeln!(
                out,
                r#"<rect x="{left:.1}" y="{bar_y:.1}" width="{:.1}" height="{BAR_HEIGHT}" fill="{colour}"><title>{} ({}): {ratio:.2}</title></rect>"#,
                width.max(1.0),
                escape(&row.name),
                escape(&row.flavour)
            );
            let clamped = ratio.log2().abs() > OCTAVES;
            let arrow = if clamped {
                if ratio < 1.0 {
                    "◀ "
                } else {
                    " ▶"
                }
            } else {
                ""
            };
            // A bar clamped at the left edge carries its figure inside, in
            // white: outside it would run into the row's label.
            let (text_x, anchor, text, fill) = if clamped && ratio < 1.0 {
                (left + 3.0, "start", format!("{arrow}{ratio:.2}"), "white")
            } else if ratio < 1.0 {
                (left - 3.0, "end", format!("{arrow}{ratio:.2}"), "black")
            } else {
                (
                    left + width + 3.0,
                    "start",
                    format!("{ratio:.2}{arrow}"),
                    "black",
                )
            };
            let _ = writeln!(
                out,
                r#"<text x="{text_x:.1}" y="{:.1}" font-size="9" text-anchor="{anchor}" fill="{fill}">{text}</text>"#,
                bar_y + BAR_HEIGHT - 1.0
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "benchmark\tflavour\ttulipa_ns\ttokio_ns\tsmol_ns\n\
                       spawn_many\tmulti\t50\t100\t25\n\
                       crawl_site\tcurrent\t10\t20\t\n\
                       nothing\tmulti\t\t\t\n";

    #[test]
    fn parses_rows_and_empty_cells() {
        let rows = parse(TSV).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].name, "spawn_many");
        assert_eq!(rows[0].flavour, "multi");
        assert_eq!(rows[0].ratio(rows[0].tokio), Some(0.5));
        assert_eq!(rows[0].ratio(rows[0].smol), Some(2.0));
        assert_eq!(rows[1].smol, None);
        assert_eq!(rows[2].ratio(rows[2].tokio), None);
    }

    #[test]
    fn bad_input_names_the_line() {
        let err = parse("nope\n").unwrap_err();
        assert!(err.contains("line 1") && err.contains("--tsv"), "{err}");
        let err =
            parse("benchmark\tflavour\ttulipa_ns\ttokio_ns\tsmol_ns\na\tb\tx\t1\t2\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("`x`"), "{err}");
        let err = parse("benchmark\tflavour\ttulipa_ns\ttokio_ns\tsmol_ns\na\tb\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("found 2"), "{err}");
    }

    #[test]
    fn the_axis_is_logarithmic_around_one() {
        let centre = x_of(1.0);
        assert_eq!(centre, PLOT_LEFT + PLOT_WIDTH / 2.0);
        let twice = x_of(2.0) - centre;
        let half = centre - x_of(0.5);
        assert!((twice - half).abs() < 1e-9 && twice > 0.0);
        assert!((x_of(4.0) - centre - 2.0 * twice).abs() < 1e-9);
        // Beyond the axis: clamped to its edges.
        assert_eq!(x_of(100.0), PLOT_LEFT + PLOT_WIDTH);
        assert_eq!(x_of(0.001), PLOT_LEFT);
    }

    #[test]
    fn one_bar_per_ratio_and_rows_without_any_are_left_out() {
        let svg = svg(&parse(TSV).unwrap());
        assert_eq!(svg.matches("<title>").count(), 3, "{svg}");
        assert!(svg.contains("spawn_many (multi): 0.50"));
        assert!(svg.contains("spawn_many (multi): 2.00"));
        assert!(svg.contains("crawl_site (current): 0.50"));
        assert!(!svg.contains("nothing"));
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
    }

    #[test]
    fn clamped_bars_get_an_arrow_and_names_are_escaped() {
        let rows = vec![Row {
            name: "a<b>&c".into(),
            flavour: "multi".into(),
            tulipa: Some(10.0),
            tokio: Some(1.0),
            smol: Some(100.0),
        }];
        let svg = svg(&rows);
        assert!(svg.contains("a&lt;b&gt;&amp;c (multi)"));
        assert!(svg.contains("10.00 ▶"));
        assert!(svg.contains("◀ 0.10"));
    }
}
