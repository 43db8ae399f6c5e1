//! `crawler`: the crawler's command line; see the library's docs.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use crawler::config::{ArgsError, Config, USAGE};

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args_os().skip(1)) {
        Ok(config) => config,
        Err(ArgsError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("crawler: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match tulipa::run(crawler::crawl(&config)) {
        Ok(summary) => {
            eprintln!("crawler: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crawler: {e}");
            ExitCode::FAILURE
        }
    }
}
