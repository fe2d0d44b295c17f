//! The alert bridge with no processor: it accepts, stores and acknowledges, and leaves every
//! alert pending. Measures the acknowledgement path alone with `alert_load`, and shows the
//! smallest embedding of [`itsm_cli::serve::Server`].
//!
//! ```text
//! cargo run --release -p itsm-cli --example serve_accept_only -- 127.0.0.1:19196 queue.db [normal]
//! ```

use itsm_cli::serve::{ServeConfig, Server, Synchronous, shutdown};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: serve_accept_only ADDR QUEUE_DB [full|normal]";
    let listen = args.next().ok_or(usage)?.parse()?;
    let queue_db = args.next().ok_or(usage)?.into();
    let synchronous = match args.next().as_deref() {
        None | Some("full") => Synchronous::Full,
        Some("normal") => Synchronous::Normal,
        Some(other) => return Err(format!("{other:?}: {usage}").into()),
    };
    let config = ServeConfig {
        listen,
        queue_db: Some(queue_db),
        synchronous,
        ..ServeConfig::default()
    };
    let server = Server::builder(config).bind().await?;
    println!("listening on {}", server.local_addr());
    server.run(shutdown::signal()).await?;
    Ok(())
}
