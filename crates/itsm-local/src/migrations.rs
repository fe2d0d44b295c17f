//! The embedded schema migrations.
//!
//! The database's `PRAGMA user_version` is the number of migrations applied. Opening a store
//! applies the missing ones, in order, in one transaction. Migrations are append-only: never
//! edit a released one, add a new one at the end (incident, audit and specialist tables come
//! that way).
//!
//! Every record table keeps the record's full JSON in `body` plus the columns queries filter
//! or join on; the JSON is the source of truth, the columns are derived from it on write.

/// The migrations, oldest first; migration `n` (1-based) moves `user_version` from `n-1`
/// to `n`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: change management (templates, changes, approvals, notes) and the notification outbox.
    r#"
CREATE TABLE change_template (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    key        TEXT NOT NULL UNIQUE,
    service    TEXT NOT NULL,
    active     INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX change_template_service ON change_template (service);

CREATE TABLE change_request (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    service     TEXT NOT NULL,
    version     TEXT NOT NULL,
    environment TEXT NOT NULL,
    state       TEXT NOT NULL,
    approval    TEXT NOT NULL,
    template_id TEXT REFERENCES change_template (id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX change_request_gate ON change_request (service, version, environment);
CREATE INDEX change_request_state ON change_request (state);

CREATE TABLE change_approval (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    change_id  TEXT NOT NULL REFERENCES change_request (id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX change_approval_change ON change_approval (change_id);

CREATE TABLE change_note (
    seq        INTEGER PRIMARY KEY,
    change_id  TEXT NOT NULL REFERENCES change_request (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (change_id, key)
);

CREATE TABLE notification (
    seq        INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    topic      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT,
    body       TEXT NOT NULL
);
"#,
    // 2: incidents, pages, teams and on-call schedules, tenants' alerting profiles, and
    //    delivery bookkeeping for the notification outbox (the chat relay).
    r#"
CREATE TABLE IF NOT EXISTS incident (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    key        TEXT NOT NULL UNIQUE,
    service    TEXT NOT NULL,
    state      TEXT NOT NULL,
    major      INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolution TEXT,
    body       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_service ON incident (service);
CREATE INDEX IF NOT EXISTS incident_state ON incident (state);

CREATE TABLE IF NOT EXISTS incident_note (
    seq         INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (incident_id, key)
);

CREATE TABLE IF NOT EXISTS team (
    id         TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS team_service (
    service TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES team (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS team_schedule (
    team_id    TEXT PRIMARY KEY REFERENCES team (id) ON DELETE CASCADE,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS setting (
    name       TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS page (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    key             TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL,
    team_id         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    escalated_at    TEXT,
    responders      TEXT NOT NULL DEFAULT '[]',
    body            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS page_status ON page (status);

CREATE TABLE IF NOT EXISTS page_note (
    seq        INTEGER PRIMARY KEY,
    page_id    TEXT NOT NULL REFERENCES page (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (page_id, key)
);

CREATE TABLE IF NOT EXISTS page_responder_request (
    seq        INTEGER PRIMARY KEY,
    page_id    TEXT NOT NULL REFERENCES page (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (page_id, key)
);

CREATE TABLE IF NOT EXISTS change_event (
    seq        INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    service    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tenant_profile (
    seq          INTEGER PRIMARY KEY,
    tenant       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    profile_name TEXT NOT NULL,
    toml         TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (tenant, version)
);

ALTER TABLE notification ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notification ADD COLUMN last_error TEXT;
"#,
    // 3: the incident sync engine's state (seen deliveries, field marks, own writes).
    crate::sync_state::MIGRATION,
    // 4: specialists (S1-S4): teams, offerings, requests, comment keys.
    crate::specialist_table::SPECIALIST_MIGRATION,
    // 5: alert resolutions received before their firing.
    crate::early_resolution::MIGRATION,
];

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn every_migration_applies_in_order_on_an_empty_database() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            conn.execute_batch(sql)
                .unwrap_or_else(|e| panic!("migration {} fails: {e}", i + 1));
        }
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            tables,
            [
                "alert_early_resolution",
                "change_approval",
                "change_event",
                "change_note",
                "change_request",
                "change_template",
                "incident",
                "incident_note",
                "notification",
                "page",
                "page_note",
                "page_responder_request",
                "setting",
                "specialist_comment",
                "specialist_offering",
                "specialist_request",
                "specialist_team",
                "sync_mark",
                "sync_seen",
                "sync_write",
                "team",
                "team_schedule",
                "team_service",
                "tenant_profile",
            ]
        );
    }

    #[test]
    fn migration_2_keeps_recorded_notifications_pending() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute(
            "INSERT INTO notification (key, topic, created_at, body) \
             VALUES ('k', 'other', '2026-05-01T10:00:00Z', '{}')",
            [],
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        let (attempts, error, sent): (i64, Option<String>, Option<String>) = conn
            .query_row(
                "SELECT attempts, last_error, sent_at FROM notification WHERE key = 'k'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((attempts, error, sent), (0, None, None));
    }
}
