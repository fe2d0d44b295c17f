//! `itsm serve`: runs the alert bridge until SIGTERM / Ctrl-C: every accepted alert goes
//! through the incident workflow on the configured ticketing system and paging platform
//! (page + ticket, resolve both), the vendors' webhooks are synced to the other side, and
//! pages left unacknowledged on the embedded store escalate to the incident manager.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use itsm_cli::incidents::{IncidentConfig, TenantProfiles, WorkflowProcessor};
use itsm_cli::serve::{Leadership, Server, shutdown};
use itsm_core::{Clock, Result, SystemClock};
use itsm_incident::{SyncEngine, SyncSettings};
use itsm_local::{ChatRelay, LocalStore};

use crate::app::Incidents;
use crate::cli::{Output, ServeArgs};
use crate::config::Config;
use crate::exit;

/// How often unacknowledged pages are escalated and notifications relayed to chat.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(30);

/// Binds, prints where it listens (one line, first on standard output), serves.
pub(crate) async fn run(config: Config, output: Output, args: ServeArgs) -> Result<u8> {
    let mut serve = config.serve.clone();
    serve.queue_db = Some(args.queue_db.unwrap_or_else(|| config.queue_db_path()));
    if let Some(listen) = args.listen {
        serve.listen = listen;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let Incidents {
        store,
        backends,
        workflow,
    } = Incidents::open_with_clock(&config, clock.clone()).await?;
    let profiles = TenantProfiles::new(store.clone(), config.incident.default_profile()?);
    let processor = WorkflowProcessor::new(workflow, profiles);
    let sync = SyncEngine::new(
        backends.systems.incidents.clone(),
        backends.systems.pager.clone(),
        Arc::new(store.clone()),
        clock.clone(),
        SyncSettings::default(),
    );
    let mut builder = Server::builder(serve)
        .processor(Arc::new(processor))
        .sync_engine(Arc::new(sync))
        .parse_options(config.incident.parse_options())
        .clock(clock);
    for source in backends.webhooks {
        builder = builder.webhook(source);
    }
    let server = builder.bind().await?;
    // With a shared queue, one replica at a time does the housekeeping.
    let leadership = server.postgres_queue().map(|q| q.leadership());
    let housekeeping = housekeeping(store, &config.incident, leadership)?;
    let addr = server.local_addr();
    let queue = server.queue_description();
    match output {
        Output::Json => {
            let mut line = serde_json::json!({
                "listening": addr.to_string(),
                "queue": config.serve.queue.as_str(),
            });
            if let Some(path) = server.queue_path() {
                line["queue_db"] = path.display().to_string().into();
            }
            if let Some(pg) = server.postgres_queue() {
                line["queue_url"] = pg.url().into();
                line["queue_schema"] = pg.schema().into();
            }
            println!("{line}");
        }
        Output::Text => println!("listening on {addr} (alert queue {queue})"),
    }
    let _ = std::io::stdout().flush();
    let result = server.run(shutdown::signal()).await;
    if let Some(task) = housekeeping {
        task.abort();
    }
    result?;
    Ok(exit::OK)
}

/// Starts the periodic escalation and chat relay, when configured; with `leadership`,
/// only while this replica leads (so that several replicas relay each notification once).
fn housekeeping(
    store: LocalStore,
    incident: &IncidentConfig,
    mut leadership: Option<Leadership>,
) -> Result<Option<tokio::task::JoinHandle<()>>> {
    let escalate_after = incident
        .escalate_after_minutes
        .map(|m| time::Duration::minutes(i64::from(m)));
    let relay = match &incident.chat_webhook_url {
        Some(url) => Some(ChatRelay::new(store.clone(), url.clone())?),
        None => None,
    };
    if escalate_after.is_none() && relay.is_none() {
        return Ok(None);
    }
    Ok(Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
        loop {
            tick.tick().await;
            if let Some(leadership) = &mut leadership
                && !leadership.holds().await
            {
                continue;
            }
            if let Some(after) = escalate_after
                && let Err(e) = store.escalate_unacknowledged(after).await
            {
                eprintln!("itsm serve: escalating unacknowledged pages failed: {e}");
            }
            if let Some(relay) = &relay
                && let Err(e) = relay.relay_pending().await
            {
                eprintln!("itsm serve: relaying notifications to chat failed: {e}");
            }
        }
    })))
}
