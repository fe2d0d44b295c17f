//! `itsm serve`: runs the alert bridge until SIGTERM / Ctrl-C.

use std::io::Write as _;

use itsm_cli::serve::{Server, shutdown};
use itsm_core::Result;

use crate::cli::{Output, ServeArgs};
use crate::config::Config;
use crate::exit;

/// Binds, prints where it listens (one line, first on standard output), serves.
///
/// No incident processor is wired yet: the server runs accept-only, so accepted alerts
/// stay `pending` in the queue until a build with a processor starts on the same file.
pub(crate) async fn run(config: Config, output: Output, args: ServeArgs) -> Result<u8> {
    let mut serve = config.serve.clone();
    serve.queue_db = Some(args.queue_db.unwrap_or_else(|| config.queue_db_path()));
    if let Some(listen) = args.listen {
        serve.listen = listen;
    }
    let server = Server::builder(serve).bind().await?;
    let addr = server.local_addr();
    let queue = server.queue_path().display().to_string();
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({ "listening": addr.to_string(), "queue_db": queue })
        ),
        Output::Text => println!("listening on {addr} (alert queue {queue})"),
    }
    let _ = std::io::stdout().flush();
    server.run(shutdown::signal()).await?;
    Ok(exit::OK)
}
