//! The ledger's tables in PostgreSQL and the mapping of its failures.

use itsm_core::Error;

use super::connection::{self, Migrations};

/// What the ledger's tables are called in messages.
const STORE: &str = "the PostgreSQL ledger";

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

/// The ledger's tables, for [`connection::migrate`].
pub(super) const LEDGER: Migrations<'static> = Migrations {
    store: STORE,
    version_table: "audit_schema",
    lock: SCHEMA_LOCK,
    steps: MIGRATIONS,
};

/// Maps a failure of `doing` in the ledger (see [`connection::error`]).
pub(super) fn pg_error(shown: &str, doing: &str, e: &tokio_postgres::Error) -> Error {
    connection::error(STORE, shown, doing, e)
}
