//! The command line: which URLs, where the results go, how hard to crawl.
//!
//! ```text
//! crawler URLS_FILE [--out results.txt] [--limit N] [--depth N] [--timeout SECS]
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The usage text, for `--help` and bad arguments.
pub const USAGE: &str = "\
usage: crawler URLS_FILE [--out PATH] [--limit N] [--depth N] [--timeout SECS]

Fetches the URLs listed in URLS_FILE (one per line; blank lines and lines
starting with # are skipped) concurrently, finds the links in each HTML page
and appends one line per link to the results file: SOURCE_URL<TAB>LINK.

options:
  --out PATH       the file to append results to (default results.txt)
  --limit N        the most requests in flight at once (default 100)
  --depth N        also follow links to the same host, up to N links away
                   from a listed URL (default 0: only the listed URLs)
  --timeout SECS   the limit on each request, body included (default 10;
                   fractions such as 0.5 are fine)
  -h, --help       this message

Failed URLs are reported on stderr and do not stop the crawl.";

/// What the crawler was told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file listing the URLs to start from.
    pub urls_file: PathBuf,
    /// The file the results are appended to.
    pub out: PathBuf,
    /// The most requests in flight at once (the number of workers).
    pub limit: usize,
    /// How many links away from a listed URL to follow same-host links.
    pub depth: u32,
    /// The limit on each request, from sending it to the last byte of the
    /// body.
    pub timeout: Duration,
}

impl Config {
    /// The defaults for `urls_file`: `results.txt`, 100 requests in
    /// flight, depth 0, a 10 s timeout.
    pub fn new(urls_file: impl Into<PathBuf>) -> Config {
        Config {
            urls_file: urls_file.into(),
            out: PathBuf::from("results.txt"),
            limit: 100,
            depth: 0,
            timeout: Duration::from_secs(10),
        }
    }

    /// Reads the arguments (without the program name).
    ///
    /// # Errors
    ///
    /// [`ArgsError::Help`] for `-h` / `--help`; [`ArgsError::Invalid`],
    /// naming the argument and how to fix it, for an unknown option, a
    /// missing or bad value, or a missing or second `URLS_FILE`.
    ///
    /// # Examples
    ///
    /// ```
    /// use crawler::config::Config;
    ///
    /// let config = Config::from_args(["urls.txt", "--depth", "2", "--timeout=0.5"]).unwrap();
    /// assert_eq!(config.depth, 2);
    /// assert_eq!(config.timeout.as_millis(), 500);
    /// assert_eq!(config.out.to_str(), Some("results.txt"));
    /// ```
    pub fn from_args<I>(args: I) -> Result<Config, ArgsError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut urls_file = None;
        let mut config = Config::new("");
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let Some(text) = arg.to_str() else {
                // Only a file name may be other than UTF-8.
                set_file(&mut urls_file, arg)?;
                continue;
            };
            let (name, inline) = match text.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.into())),
                _ => (text, None),
            };
            let mut value = |what: &str| {
                inline.clone().or_else(|| args.next()).ok_or_else(|| {
                    ArgsError::Invalid(format!("{name} needs a value: {name} {what}"))
                })
            };
            match name {
                "-h" | "--help" => return Err(ArgsError::Help),
                "--out" => config.out = value("PATH")?.into(),
                "--limit" => {
                    config.limit = parse(name, &value("N")?, "a whole number of at least 1")?;
                    if config.limit == 0 {
                        return Err(ArgsError::Invalid(
                            "--limit 0: nothing could be fetched; give at least 1".into(),
                        ));
                    }
                }
                "--depth" => {
                    config.depth = parse(name, &value("N")?, "a whole number (0 or more)")?
                }
                "--timeout" => {
                    let secs: f64 = parse(name, &value("SECS")?, "a number of seconds")?;
                    config.timeout = Duration::try_from_secs_f64(secs)
                        .ok()
                        .filter(|t| !t.is_zero())
                        .ok_or_else(|| {
                            ArgsError::Invalid(format!(
                                "--timeout {secs}: give a number of seconds above 0, such as 10 or 0.5"
                            ))
                        })?;
                }
                flag if flag.starts_with('-') && flag.len() > 1 => {
                    return Err(ArgsError::Invalid(format!(
                        "unknown option {flag:?}; see --help for the options"
                    )))
                }
                _ => set_file(&mut urls_file, arg)?,
            }
        }
        config.urls_file = urls_file.ok_or_else(|| {
            ArgsError::Invalid("no URLS_FILE given: name the file that lists the URLs".into())
        })?;
        Ok(config)
    }
}

fn set_file(slot: &mut Option<PathBuf>, arg: OsString) -> Result<(), ArgsError> {
    match slot {
        Some(first) => Err(ArgsError::Invalid(format!(
            "two URL files given ({} and {}): give one; put all the URLs in it",
            first.display(),
            PathBuf::from(arg).display()
        ))),
        None => {
            *slot = Some(arg.into());
            Ok(())
        }
    }
}

/// `value` as the number option `name` takes, or an error saying what it
/// should be.
fn parse<T: std::str::FromStr>(name: &str, value: &OsString, what: &str) -> Result<T, ArgsError> {
    value
        .to_str()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ArgsError::Invalid(format!("{name} {}: not {what}", value.to_string_lossy()))
        })
}

/// Why the arguments were not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help` was asked for: print [`USAGE`] and exit successfully.
    Help,
    /// The arguments are wrong; the message says which and how to fix it.
    Invalid(String),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Help => f.write_str("help requested"),
            ArgsError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ArgsError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Config, ArgsError> {
        Config::from_args(list.iter().copied())
    }

    fn invalid(list: &[&str]) -> String {
        match args(list) {
            Err(ArgsError::Invalid(message)) => message,
            other => panic!("{list:?} gave {other:?}"),
        }
    }

    #[test]
    fn defaults_and_every_flag() {
        assert_eq!(args(&["urls.txt"]).unwrap(), Config::new("urls.txt"));
        let config = args(&[
            "--out",
            "o.txt",
            "--limit=7",
            "u",
            "--depth",
            "3",
            "--timeout",
            "1.5",
        ])
        .unwrap();
        assert_eq!(config.urls_file, PathBuf::from("u"));
        assert_eq!(config.out, PathBuf::from("o.txt"));
        assert_eq!(config.limit, 7);
        assert_eq!(config.depth, 3);
        assert_eq!(config.timeout, Duration::from_millis(1500));
        assert_eq!(args(&["u", "--help"]), Err(ArgsError::Help));
        assert_eq!(args(&["-h"]), Err(ArgsError::Help));
        // A lone "-" is a file name (as for most tools), not an option.
        assert_eq!(args(&["-"]).unwrap().urls_file, PathBuf::from("-"));
    }

    #[test]
    fn bad_arguments_name_the_flag_and_the_fix() {
        assert!(invalid(&[]).contains("no URLS_FILE"));
        assert!(invalid(&["a", "b"]).contains("two URL files"));
        assert!(invalid(&["u", "--limit"]).contains("--limit needs a value: --limit N"));
        assert!(invalid(&["u", "--limit", "x"]).contains("--limit x: not a whole number"));
        assert!(invalid(&["u", "--limit", "0"]).contains("at least 1"));
        assert!(invalid(&["u", "--depth", "-1"]).contains("--depth -1: not a whole number"));
        assert!(invalid(&["u", "--timeout", "0"]).contains("above 0"));
        assert!(invalid(&["u", "--timeout", "soon"]).contains("--timeout soon: not a number"));
        assert!(invalid(&["u", "--timeout", "inf"]).contains("above 0"));
        assert!(invalid(&["u", "--verbose"]).contains("unknown option \"--verbose\""));
    }
}
