//! The command line and environment: where to listen, which database.
//!
//! ```text
//! rest [--host ADDR] [--port N] [--db PATH]
//! ```
//!
//! `DATABASE_URL=postgres://...` in the environment selects PostgreSQL;
//! otherwise documents go to the SQLite file `--db` (default `rest.db`).

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// The usage text, for `--help` and bad arguments.
pub const USAGE: &str = "\
usage: rest [--host ADDR] [--port N] [--db PATH]

The asyncio tutorial's REST service: GET and PUT JSON documents at /stuff/{id}.

options:
  --host ADDR   the address to listen on (default 127.0.0.1)
  --port N      the port to listen on (default 8080; 0 picks a free one,
                printed at start-up)
  --db PATH     the SQLite file to keep documents in (default rest.db)
  -h, --help    this message

environment:
  DATABASE_URL  postgres://USER@HOST:PORT/DBNAME: keep documents in
                PostgreSQL instead of SQLite

Ctrl-C or SIGTERM stops the service gracefully: requests in flight finish.";

/// Where documents are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL server, by connection URL.
    Postgres(String),
}

/// What the service was told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on.
    pub host: IpAddr,
    /// The port to listen on; `0` lets the OS pick one.
    pub port: u16,
    /// Where documents are kept.
    pub backend: Backend,
}

/// Why the arguments were not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help` was asked for: print [`USAGE`] and exit successfully.
    Help,
    /// The arguments are wrong; the message says how.
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

impl Config {
    /// Reads the arguments (without the program name) and the value of
    /// `DATABASE_URL` (an empty one counts as unset).
    ///
    /// # Errors
    ///
    /// [`ArgsError::Help`] for `-h`/`--help`; [`ArgsError::Invalid`] for an
    /// unknown option, a missing or bad value, `--db` together with
    /// `DATABASE_URL`, or a `DATABASE_URL` that is not `postgres://`.
    ///
    /// # Examples
    ///
    /// ```
    /// use rest::config::{Backend, Config};
    ///
    /// let config = Config::from_args(["--port", "0"].map(String::from), None).unwrap();
    /// assert_eq!(config.port, 0);
    /// assert_eq!(config.backend, Backend::Sqlite("rest.db".into()));
    /// ```
    pub fn from_args<I>(args: I, database_url: Option<String>) -> Result<Config, ArgsError>
    where
        I: IntoIterator<Item = String>,
    {
        let invalid = |message: String| ArgsError::Invalid(message);
        let mut host = IpAddr::from([127, 0, 0, 1]);
        let mut port = 8080;
        let mut db = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => {
                    (name.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let mut value = |what: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| invalid(format!("{name} needs a value: {name} {what}")))
            };
            match name.as_str() {
                "-h" | "--help" => return Err(ArgsError::Help),
                "--port" => {
                    let text = value("N")?;
                    port = text.parse().map_err(|_| {
                        invalid(format!("--port {text}: not a port number (0 to 65535)"))
                    })?;
                }
                "--host" => {
                    let text = value("ADDR")?;
                    host = text.parse().map_err(|_| {
                        invalid(format!(
                            "--host {text}: not an IP address (such as 127.0.0.1 or ::1)"
                        ))
                    })?;
                }
                "--db" => db = Some(PathBuf::from(value("PATH")?)),
                other => return Err(invalid(format!("unknown argument {other:?}"))),
            }
        }
        let backend = match database_url.filter(|url| !url.is_empty()) {
            Some(url) => {
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(invalid(
                        "DATABASE_URL is set but is not a postgres:// URL; unset it to use \
                         SQLite, or set it to postgres://USER@HOST:PORT/DBNAME"
                            .to_owned(),
                    ));
                }
                if let Some(db) = db {
                    return Err(invalid(format!(
                        "--db {} asks for SQLite but DATABASE_URL asks for PostgreSQL; \
                         unset DATABASE_URL to use SQLite",
                        db.display()
                    )));
                }
                Backend::Postgres(url)
            }
            None => Backend::Sqlite(db.unwrap_or_else(|| PathBuf::from("rest.db"))),
        };
        Ok(Config {
            host,
            port,
            backend,
        })
    }
}
