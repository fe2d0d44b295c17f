//! What every PostgreSQL store of itsm-rs (the ledger here, the shared alert queue of
//! `itsm serve`) shares: parsing and redacting connection strings, opening a connection
//! with a schema on its search path, creating or upgrading tables under an advisory lock,
//! and mapping failures to [`Error`]s the same way wherever they are met (the URL is
//! named with its password redacted; a lock or serialisation failure is a retryable
//! [`ErrorKind::Conflict`], a lost connection [`ErrorKind::Unavailable`]).
//!
//! Connections are plain TCP without TLS: use a local server or a TLS-terminating proxy on
//! the same host.

use itsm_core::{Error, ErrorKind, Result};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

/// `url` with any password replaced by `REDACTED`, for messages and `Debug`; works for
/// URLs (`postgres://user:secret@host/db`, `?password=secret`) and key-value strings
/// (`host=db password=secret`).
///
/// ```
/// use itsm_audit::postgres::connection::redact_url;
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
///
/// ```
/// use itsm_audit::postgres::connection::check_schema;
/// assert!(check_schema("itsm_queue").is_ok());
/// assert!(check_schema("Queue; DROP TABLE x").is_err());
/// ```
pub fn check_schema(schema: &str) -> Result<()> {
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

/// Parses the connection string (a URL or `key=value` pairs); a malformed one is an
/// [`ErrorKind::Config`] error that shows it with its password redacted.
pub fn parse(url: &str) -> Result<Config> {
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

/// Opens one connection (driven by a task on the current tokio runtime) with `schema`, when
/// given, on its search path. `shown` is the redacted URL, for messages.
///
/// Errors: [`ErrorKind::Unauthenticated`] when the server refuses the credentials,
/// [`ErrorKind::Unavailable`] when it cannot be reached or setting the schema fails.
pub async fn connect(config: &Config, shown: &str, schema: Option<&str>) -> Result<Client> {
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
            .map_err(|e| error("PostgreSQL", shown, "setting the schema", &e))?;
    }
    Ok(client)
}

/// A store's tables and how they evolved, for [`migrate`].
#[derive(Debug, Clone, Copy)]
pub struct Migrations<'a> {
    /// What the tables hold, for messages (e.g. `the PostgreSQL ledger`).
    pub store: &'a str,
    /// The table recording how many steps were applied (created when missing).
    pub version_table: &'a str,
    /// The key of the transaction-scoped advisory lock held while migrating; distinct per
    /// store.
    pub lock: i64,
    /// The SQL of each step, oldest first; a step is applied once.
    pub steps: &'a [&'a str],
}

/// Creates `schema` (when given) and the store's tables when missing, or upgrades them, in
/// one transaction under an advisory lock, so that processes starting at once do not race.
///
/// Errors: [`ErrorKind::Config`] when the database was written by a newer version (more
/// steps than known); others as [`error`] maps them.
pub async fn migrate(
    client: &mut Client,
    shown: &str,
    schema: Option<&str>,
    migrations: &Migrations<'_>,
) -> Result<()> {
    let store = migrations.store;
    let table = migrations.version_table;
    let err = |e: tokio_postgres::Error| error(store, shown, "creating the tables", &e);
    let tx = client.transaction().await.map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&migrations.lock])
        .await
        .map_err(err)?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(err)?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)"
    ))
    .await
    .map_err(err)?;
    let current: i64 = tx
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0)::BIGINT FROM {table}"),
            &[],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(err)?;
    let latest = i64::try_from(migrations.steps.len()).unwrap_or(i64::MAX);
    if current > latest {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "{store} at {shown} has schema version {current}, newer than the {latest} \
                 this version of itsm knows; upgrade itsm"
            ),
        ));
    }
    for sql in migrations
        .steps
        .iter()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.batch_execute(sql).await.map_err(err)?;
    }
    if current < latest {
        tx.execute(&format!("DELETE FROM {table}"), &[])
            .await
            .map_err(err)?;
        let version = i32::try_from(latest).unwrap_or(i32::MAX);
        tx.execute(
            &format!("INSERT INTO {table} (version) VALUES ($1)"),
            &[&version],
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

/// The server's message and SQLSTATE, or the client's error and its cause.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Maps a failure of `doing` in `store` (e.g. `the PostgreSQL ledger`) at `shown` (the
/// redacted URL): lock and serialisation failures are retryable conflicts, a lost
/// connection is unavailability, a refused privilege is permission denied, anything else
/// an internal error.
pub fn error(store: &str, shown: &str, doing: &str, e: &tokio_postgres::Error) -> Error {
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
        format!("{doing} in {store} at {shown} failed: {}", describe(e)),
    )
    .with_context("url", shown);
    if kind == ErrorKind::Conflict {
        err.with_retryable(true)
    } else {
        err
    }
}
