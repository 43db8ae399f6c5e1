//! `rest`: the REST service's command line; see the library's docs.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use rest::config::{ArgsError, Config, USAGE};

fn main() -> ExitCode {
    let database_url = std::env::var("DATABASE_URL").ok();
    let config = match Config::from_args(std::env::args().skip(1), database_url) {
        Ok(config) => config,
        Err(ArgsError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("rest: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match tulipa::run(rest::run(config)) {
        Ok(report) => {
            println!("rest: stopped: {report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rest: {e}");
            ExitCode::FAILURE
        }
    }
}
