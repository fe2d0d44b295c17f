//! `itsm serve`: the alert bridge. It receives alerts over HTTP (Alertmanager's webhook on
//! `POST /v1/alerts/alertmanager`, the generic JSON alert on `POST /v1/alerts`; see
//! `docs/alerts.md`), answers 202 once they are durably queued (in SQLite, or in
//! PostgreSQL shared by several replicas: [`QueueKind`], [`PostgresQueue`]), and then
//! hands them to an [`AlertProcessor`] in the background. Vendor webhooks (one
//! [`WebhookSource`] each, on `POST /v1/webhooks/<name>`) are verified, parsed, queued the
//! same way and applied by a [`SyncEngine`].
//!
//! ```no_run
//! # async fn demo(processor: std::sync::Arc<dyn itsm_cli::serve::AlertProcessor>) -> itsm_core::Result<()> {
//! use itsm_cli::serve::{Server, ServeConfig};
//!
//! let config = ServeConfig {
//!     listen: "127.0.0.1:0".parse().unwrap(),
//!     queue_db: Some("/tmp/alert-queue.db".into()),
//!     ..ServeConfig::default()
//! };
//! let server = Server::builder(config).processor(processor).bind().await?;
//! println!("listening on {}", server.local_addr());
//! server.run(itsm_cli::serve::shutdown::signal()).await?;
//! # Ok(())
//! # }
//! ```

mod attempt;
mod auth;
mod config;
mod intake;
mod metrics;
mod postgres;
mod priority;
mod processor;
pub mod queue;
mod routes;
pub mod shutdown;
mod worker;
mod writer;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use itsm_core::{Clock, Error, ErrorKind, Result, SystemClock};
use itsm_incident::SyncEngine;
use itsm_incident::inbound::ParseOptions;
use itsm_incident::inbound::webhook::WebhookSource;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, watch};

use priority::ProcessingRuntime;

pub use config::{
    DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, DEFAULT_PROCESSING_NICE, DEFAULT_QUEUE_LEASE_MS,
    DEFAULT_QUEUE_POLL_MS, QueueKind, RetryConfig, ServeConfig, Synchronous,
};
pub use postgres::{Leadership, PostgresQueue};
pub use processor::AlertProcessor;
#[cfg(feature = "mock")]
pub use processor::MockAlertProcessor;
pub use queue::{QueueItem, QueueRow, QueueStats, RowState};

use attempt::Processing;
use intake::Intake;
use metrics::Metrics;
use postgres::{PgWorker, PgWriter};
use worker::Worker;
use writer::{Queued, Writer};

/// The alert bridge server; see [`Server::builder`].
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Starts configuring a server.
    pub fn builder(config: ServeConfig) -> ServerBuilder {
        ServerBuilder {
            config,
            processor: None,
            clock: Arc::new(SystemClock),
            parse: ParseOptions::default(),
            webhooks: Vec::new(),
            sync: None,
        }
    }
}

/// Configures a [`Server`] before it binds its address.
#[derive(Debug)]
pub struct ServerBuilder {
    config: ServeConfig,
    processor: Option<Arc<dyn AlertProcessor>>,
    clock: Arc<dyn Clock>,
    parse: ParseOptions,
    webhooks: Vec<Arc<dyn WebhookSource>>,
    sync: Option<Arc<SyncEngine>>,
}

impl ServerBuilder {
    /// Serves `source` on `POST /v1/webhooks/<source.name()>`. Its events are queued and
    /// applied by the [sync engine](Self::sync_engine) (with the processor's worker).
    pub fn webhook(mut self, source: Arc<dyn WebhookSource>) -> Self {
        self.webhooks.push(source);
        self
    }

    /// The engine that applies webhook sync events to the other side. Without one, queued
    /// sync events become dead letters that say so.
    pub fn sync_engine(mut self, engine: Arc<SyncEngine>) -> Self {
        self.sync = Some(engine);
        self
    }

    /// The processor queued alerts are handed to. Without one the server only accepts and
    /// queues: alerts stay pending for a later start that has a processor.
    pub fn processor(mut self, processor: Arc<dyn AlertProcessor>) -> Self {
        self.processor = Some(processor);
        self
    }

    /// The clock for receipt and retry times (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Which labels name the service, tenant and severity (default [`ParseOptions::default`]).
    pub fn parse_options(mut self, options: ParseOptions) -> Self {
        self.parse = options;
        self
    }

    /// Opens the queue (creating it) and binds the listening address.
    pub async fn bind(self) -> Result<BoundServer> {
        let mut webhooks = HashMap::new();
        for source in self.webhooks {
            let name = source.name().to_owned();
            if let Some(first) = webhooks.insert(name.clone(), source) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "two webhook sources are named {name:?} ({first:?} and another); \
                         configure each vendor once"
                    ),
                ));
            }
        }
        // Started before the queue opens, so that a bad nice value is refused first.
        let processing_runtime = match self.processor {
            Some(_) => ProcessingRuntime::start(self.config.processing_nice)?,
            None => None,
        };
        let opening = match self.config.queue {
            QueueKind::Sqlite => open_sqlite(&self.config).await?,
            QueueKind::Postgres => open_postgres(&self.config).await?,
        };
        let listener = TcpListener::bind(self.config.listen).await.map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "cannot listen on {}: {e}; choose another address with --listen or [serve] listen",
                    self.config.listen
                ),
            )
            .with_source(e)
        })?;
        let local_addr = listener.local_addr().map_err(|e| {
            Error::new(ErrorKind::Internal, format!("no local address: {e}")).with_source(e)
        })?;
        let metrics = Arc::new(Metrics::default());
        let queue = match opening {
            Opening::Sqlite {
                path,
                conn,
                pending,
            } => {
                metrics.queue_depth.store(depth(pending), Ordering::Relaxed);
                let (committed_tx, committed_rx) = match self.processor {
                    Some(_) => {
                        let (tx, rx) = mpsc::unbounded_channel();
                        (Some(tx), Some(rx))
                    }
                    None => (None, None),
                };
                let writer = Writer::spawn(conn, path.clone(), self.clock.clone(), committed_tx)?;
                Queue::Sqlite {
                    path,
                    writer,
                    committed: committed_rx,
                }
            }
            Opening::Postgres { queue, pending } => {
                metrics.queue_depth.store(depth(pending), Ordering::Relaxed);
                let committed = Arc::new(Notify::new());
                let writer = PgWriter::spawn(queue.conn(), self.clock.clone(), committed.clone());
                Queue::Postgres {
                    lease: Duration::from_millis(self.config.queue_lease_ms),
                    poll: Duration::from_millis(self.config.queue_poll_ms),
                    replica: postgres::claim::replica_id(),
                    queue,
                    writer,
                    committed,
                }
            }
        };
        Ok(BoundServer {
            listener,
            local_addr,
            config: self.config,
            processor: self.processor,
            clock: self.clock,
            parse: Arc::new(self.parse),
            webhooks: Arc::new(webhooks),
            sync: self.sync,
            metrics,
            queue,
            processing_runtime,
        })
    }
}

/// A queue opened, before the writer starts.
enum Opening {
    Sqlite {
        path: PathBuf,
        conn: rusqlite::Connection,
        pending: u64,
    },
    Postgres {
        queue: PostgresQueue,
        pending: u64,
    },
}

async fn open_sqlite(config: &ServeConfig) -> Result<Opening> {
    let path = config.queue_db.clone().ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            "the alert queue has no file; set [serve] queue_db",
        )
    })?;
    let sync = config.synchronous.pragma();
    tokio::task::spawn_blocking(move || {
        let conn = queue::open_writer(&path, sync)?;
        let stats = queue::read_stats(&conn, &path)?;
        Ok::<_, Error>(Opening::Sqlite {
            path,
            conn,
            pending: stats.pending,
        })
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Internal, format!("queue opening failed: {e}")))?
}

async fn open_postgres(config: &ServeConfig) -> Result<Opening> {
    postgres::claim::check_timing(
        Duration::from_millis(config.queue_lease_ms),
        Duration::from_millis(config.queue_poll_ms),
    )?;
    let url = config.require_queue_url()?;
    let queue = PostgresQueue::connect(url.expose_secret(), config.queue_schema.as_deref()).await?;
    let pending = queue.stats().await?.pending;
    Ok(Opening::Postgres { queue, pending })
}

fn depth(pending: u64) -> i64 {
    i64::try_from(pending).unwrap_or(i64::MAX)
}

/// The open queue and its writer.
#[derive(Debug)]
enum Queue {
    Sqlite {
        path: PathBuf,
        writer: Writer,
        /// Where the worker receives rows after their commit (when a processor runs).
        committed: Option<Committed>,
    },
    Postgres {
        queue: PostgresQueue,
        writer: PgWriter,
        /// Woken by the writer after a commit that stored rows.
        committed: Arc<Notify>,
        replica: String,
        lease: Duration,
        poll: Duration,
    },
}

/// Where the worker receives rows after their commit.
type Committed = mpsc::UnboundedReceiver<Vec<Queued>>;

/// A server with its address bound and its queue open; [`BoundServer::run`] serves.
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: ServeConfig,
    processor: Option<Arc<dyn AlertProcessor>>,
    clock: Arc<dyn Clock>,
    parse: Arc<ParseOptions>,
    webhooks: Arc<HashMap<String, Arc<dyn WebhookSource>>>,
    sync: Option<Arc<SyncEngine>>,
    metrics: Arc<Metrics>,
    queue: Queue,
    /// Where processing runs when it runs at a lower priority (`None`: on this runtime).
    processing_runtime: Option<ProcessingRuntime>,
}

impl BoundServer {
    /// The address it listens on (the actual port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The SQLite queue's database file (`None` for the PostgreSQL queue).
    pub fn queue_path(&self) -> Option<&Path> {
        match &self.queue {
            Queue::Sqlite { path, .. } => Some(path),
            Queue::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL queue (`None` for the SQLite queue).
    pub fn postgres_queue(&self) -> Option<&PostgresQueue> {
        match &self.queue {
            Queue::Postgres { queue, .. } => Some(queue),
            Queue::Sqlite { .. } => None,
        }
    }

    /// Where the queue is, for people: the file, or the PostgreSQL URL (password
    /// redacted) and schema.
    pub fn queue_description(&self) -> String {
        match &self.queue {
            Queue::Sqlite { path, .. } => path.display().to_string(),
            Queue::Postgres { queue, .. } => match queue.schema() {
                Some(schema) => format!("{} schema {schema}", queue.url()),
                None => queue.url().to_owned(),
            },
        }
    }

    /// Serves until `shutdown` completes; then stops accepting, finishes the requests in
    /// flight, lets the worker finish the alerts in hand, writes what is queued and
    /// returns. Unprocessed alerts stay pending for the next start.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let BoundServer {
            listener,
            config,
            processor,
            clock,
            parse,
            webhooks,
            sync,
            metrics,
            queue,
            processing_runtime,
            ..
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let processing = processor.map(|processor| Processing {
            processor,
            sync,
            metrics: metrics.clone(),
            retry: config.retry,
            runtime: processing_runtime
                .as_ref()
                .and_then(ProcessingRuntime::handle),
        });
        let (intake, worker, writer) = match queue {
            Queue::Sqlite {
                path,
                writer,
                committed,
            } => {
                let worker = processing.zip(committed).map(|(processing, incoming)| {
                    let worker = Worker {
                        processing,
                        writer: writer.tx.clone(),
                        clock: clock.clone(),
                        concurrency: config.concurrency,
                        path,
                    };
                    tokio::spawn(worker.run(incoming, stop_rx))
                });
                (
                    Intake::Sqlite(writer.tx.clone()),
                    worker,
                    QueueWriter::Sqlite(writer),
                )
            }
            Queue::Postgres {
                queue,
                writer,
                committed,
                replica,
                lease,
                poll,
            } => {
                let worker = processing.map(|processing| {
                    let worker = PgWorker {
                        processing,
                        conn: queue.conn(),
                        replica,
                        lease,
                        poll,
                        concurrency: config.concurrency,
                        committed,
                    };
                    tokio::spawn(worker.run(stop_rx))
                });
                (
                    Intake::Postgres(writer.tx.clone()),
                    worker,
                    QueueWriter::Postgres(writer),
                )
            }
        };
        let state = routes::AppState {
            intake,
            metrics,
            token: auth::TokenCheck::new(config.token.as_ref()),
            max_body_bytes: config.max_body_bytes,
            parse,
            clock,
            webhooks,
        };
        let served = axum::serve(listener, routes::router(state))
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop_tx.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        // The worker has finished the alerts in hand: nothing runs there any more.
        drop(processing_runtime);
        match writer {
            QueueWriter::Sqlite(writer) => writer.stop().await,
            QueueWriter::Postgres(writer) => writer.stop().await,
        }
        served.map_err(|e| {
            Error::new(ErrorKind::Internal, format!("the server failed: {e}")).with_source(e)
        })
    }
}

/// The writer of either queue, stopped last.
enum QueueWriter {
    Sqlite(Writer),
    Postgres(PgWriter),
}
