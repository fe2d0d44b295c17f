//! The `itsm` command: pipeline commands (change raise / gate / close), reports, and the
//! webhook bridge (`itsm serve`).

use std::process::ExitCode;

use clap::Parser;

const EXIT_CODES: &str = "\
Exit codes:
  0  success / allowed
  1  error
  2  usage error (bad flags or input)
  3  denied by policy (no approved change, freeze window, rejected)
  4  the backend could not be reached or gave an unusable answer (gates fail closed with 4)";

/// Connects deployment pipelines and alerting to change, incident, audit and specialist
/// processes.
#[derive(Debug, Parser)]
#[command(name = "itsm", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {}

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(_cli) => {
            // No subcommand yet: show what the tool is and how to use it.
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            let _ = cmd.print_help();
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            ExitCode::from(code)
        }
    }
}
