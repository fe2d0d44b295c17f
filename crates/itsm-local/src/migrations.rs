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
    // specialists (S1-S4): teams, offerings, requests, comment keys.
    crate::specialist_table::SPECIALIST_MIGRATION,
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
                "change_approval",
                "change_note",
                "change_request",
                "change_template",
                "notification",
                "specialist_comment",
                "specialist_offering",
                "specialist_request",
                "specialist_team"
            ]
        );
    }
}
