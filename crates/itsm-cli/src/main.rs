//! The `itsm` command: pipeline commands (change raise / gate / close), the change
//! manager's decisions, and a demo of the whole change path on the embedded store.
//!
//! Exit codes: 0 success / allowed, 1 error, 2 usage error, 3 denied by policy, 4 backend
//! unreachable or unusable (gates fail closed with 4).

mod app;
mod args;
mod backends;
mod cli;
mod commands;
mod config;
#[cfg(test)]
mod example_configs;
mod exit;
mod output;
mod progress;
mod specialist_config;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, Output};
use config::{Config, Sources};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return exit::code(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let Some(command) = cli.command else {
        let _ = Cli::command().print_help();
        return exit::code(exit::OK);
    };
    let output = cli.global.output;
    // The alert bridge serves many connections at once: all cores; every other command
    // runs on the current thread. Both have timers and I/O: the vendor adapters talk HTTP
    // with timeouts and backoff.
    let runtime = match &command {
        Command::Serve(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("itsm: error: cannot start the async runtime: {e}");
            return exit::code(exit::ERROR);
        }
    };
    let sources = Sources {
        config: cli.global.config,
        db: cli.global.db,
    };
    let result = runtime.block_on(async move {
        if let Command::Demo = command {
            return commands::demo::run(output).await;
        }
        let config = Config::load(&sources)?;
        match command {
            Command::Demo => unreachable!("handled above"),
            Command::Template(t) => commands::template::run(config, output, t).await,
            Command::Change(c) => commands::change::run(config, output, c).await,
            Command::Deploy(d) => commands::deploy::run(config, output, d).await,
            Command::Inventory { at } => commands::audit::inventory(config, output, at).await,
            Command::Trace {
                service,
                from,
                to,
                repo,
            } => commands::audit::trace(config, output, &service, &from, &to, repo).await,
            Command::Dora {
                service,
                since,
                until,
                explain,
            } => commands::audit::dora(config, output, service, since, until, explain).await,
            Command::Audit(a) => commands::audit::run(config, output, a).await,
            Command::Serve(s) => commands::serve::run(config, output, s).await,
            Command::Specialist(s) => commands::specialist::run(config, output, s).await,
            Command::Incident(i) => commands::incident::run(config, output, i).await,
            Command::Tenant(t) => commands::tenant::run(config, output, t).await,
            Command::Oncall(o) => commands::oncall::run(config, output, o).await,
        }
    });
    match result {
        Ok(code) => exit::code(code),
        Err(e) => {
            report(output, &e);
            exit::code(exit::for_kind(e.kind()))
        }
    }
}

fn report(output: Output, e: &itsm_core::Error) {
    if output == Output::Json {
        let json = serde_json::json!({
            "error": { "kind": format!("{:?}", e.kind()), "message": e.to_string() }
        });
        println!("{json}");
    }
    eprintln!("itsm: error: {e}");
}
