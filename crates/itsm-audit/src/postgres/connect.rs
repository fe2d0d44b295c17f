//! Connecting to PostgreSQL: URL redaction, the ledger's schema, and error mapping.

use itsm_core::{Error, ErrorKind, Result};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

/// The advisory lock (transaction scoped) held while the schema is created or upgraded,
/// so that processes starting at once do not race (`itsmaudt` in ASCII).
const SCHEMA_LOCK: i64 = 0x6974_736d_6175_6474;

/// The ledger's migrations; `audit_schema.version` is how many were applied.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE audit_deployment (
    seq BIGINT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    production BOOLEAN NOT NULL,
    finished_at TEXT COLLATE "C" NOT NULL,
    recorded_at TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
CREATE INDEX audit_deployment_service ON audit_deployment (service, seq);
CREATE INDEX audit_deployment_environment ON audit_deployment (environment, seq);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
CREATE TABLE audit_incident_link (
    system TEXT NOT NULL,
    id TEXT NOT NULL,
    url TEXT,
    deployment_key TEXT NOT NULL,
    opened_at TEXT COLLATE "C" NOT NULL,
    resolved_at TEXT COLLATE "C",
    PRIMARY KEY (system, id)
);
CREATE INDEX audit_incident_link_deployment ON audit_incident_link (deployment_key);
"#];

/// `url` with any password replaced by `REDACTED`, for messages and `Debug`; works for
/// URLs (`postgres://user:secret@host/db`, `?password=secret`) and key-value strings
/// (`host=db password=secret`).
///
/// ```
/// use itsm_audit::postgres::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db:5432/ledger"),
///     "postgres://app:REDACTED@db:5432/ledger"
/// );
/// assert_eq!(redact_url("host=db password=s3cret"), "host=db password=REDACTED");
/// ```
pub fn redact_url(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        if let Ok(mut parsed) = itsm_core::url::Url::parse(url) {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("REDACTED"));
            }
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k.eq_ignore_ascii_case("password") {
                        "REDACTED".to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            return parsed.to_string();
        }
        // Unparseable: keep the scheme and host part only.
        return match url.rfind('@') {
            Some(at) => format!(
                "{}REDACTED{}",
                &url[..url.find("://").map_or(0, |i| i + 3)],
                &url[at..]
            ),
            None => url.to_owned(),
        };
    }
    url.split_whitespace()
        .map(|pair| {
            if pair.to_ascii_lowercase().starts_with("password=") {
                "password=REDACTED"
            } else {
                pair
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a schema name: lower-case letters, digits and `_`, not starting with a digit, at
/// most 63 bytes (so that it needs no quoting).
pub(super) fn check_schema(schema: &str) -> Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Config,
            format!(
                "PostgreSQL schema name {schema:?} is not usable: use lower-case letters, \
                 digits and `_`, at most 63, not starting with a digit"
            ),
        ))
    }
}

/// Parses the connection string.
pub(super) fn parse(url: &str) -> Result<Config> {
    url.parse::<Config>().map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!(
                "PostgreSQL connection string {} is not valid: {e}; give a URL like \
                 postgres://user@host:5432/database",
                redact_url(url)
            ),
        )
    })
}

/// Opens one connection (driven by a task on the current tokio runtime) with the schema
/// on its search path.
pub(super) async fn connect(config: &Config, shown: &str, schema: Option<&str>) -> Result<Client> {
    let (client, connection) = config.connect(NoTls).await.map_err(|e| {
        let kind = match e.code() {
            Some(c) if c.code().starts_with("28") => ErrorKind::Unauthenticated,
            _ => ErrorKind::Unavailable,
        };
        Error::new(
            kind,
            format!("cannot connect to PostgreSQL at {shown}: {}", describe(&e)),
        )
        .with_context("url", shown)
    })?;
    tokio::spawn(async move {
        // Errors surface on the client's next query as a closed connection.
        let _ = connection.await;
    });
    if let Some(schema) = schema {
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .map_err(|e| pg_error(shown, "setting the schema", &e))?;
    }
    Ok(client)
}

/// Creates the schema and the ledger's tables when missing, or upgrades them, under an
/// advisory lock so that processes starting at once do not race.
pub(super) async fn migrate(client: &mut Client, shown: &str, schema: Option<&str>) -> Result<()> {
    let err = |e: tokio_postgres::Error| pg_error(shown, "creating the ledger schema", &e);
    let tx = client.transaction().await.map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(err)?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(err)?;
    }
    tx.batch_execute("CREATE TABLE IF NOT EXISTS audit_schema (version INTEGER NOT NULL)")
        .await
        .map_err(err)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM audit_schema",
            &[],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(err)?;
    let latest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > latest {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "the audit ledger at {shown} has schema version {current}, newer than the \
                 {latest} this version of itsm knows; upgrade itsm"
            ),
        ));
    }
    for sql in MIGRATIONS
        .iter()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.batch_execute(sql).await.map_err(err)?;
    }
    if current < latest {
        tx.execute("DELETE FROM audit_schema", &[])
            .await
            .map_err(err)?;
        let version = i32::try_from(latest).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO audit_schema (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Maps a failure of an operation: lock and serialisation failures are retryable
/// conflicts, a lost connection is unavailability, anything else an internal error.
pub(super) fn pg_error(shown: &str, doing: &str, e: &tokio_postgres::Error) -> Error {
    let code = e.code();
    let kind = match code {
        None => ErrorKind::Unavailable,
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE => ErrorKind::Conflict,
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED => ErrorKind::Conflict,
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => ErrorKind::Conflict,
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => ErrorKind::PermissionDenied,
        Some(c) if c.code().starts_with("08") || c.code().starts_with("57") => {
            ErrorKind::Unavailable
        }
        Some(_) => ErrorKind::Internal,
    };
    let err = Error::new(
        kind,
        format!(
            "{doing} in the PostgreSQL ledger at {shown} failed: {}",
            describe(e)
        ),
    )
    .with_context("url", shown);
    if kind == ErrorKind::Conflict {
        err.with_retryable(true)
    } else {
        err
    }
}
