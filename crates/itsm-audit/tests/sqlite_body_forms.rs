//! The SQLite ledger's two body forms: new records are stored in the compact binary form;
//! records written as JSON by earlier versions are still read and verified beside them.

mod common;

use itsm_audit::AuditStore;
use itsm_audit::chain::ChainProblemKind;
use itsm_core::ErrorKind;

#[tokio::test]
async fn new_records_are_stored_compactly() {
    let (_dir, store) = common::seeded_sqlite(3).await;
    let records = store.scan(1, 10).await.unwrap();
    let conn = common::raw(&store);
    for record in &records {
        let (kind, len): (String, i64) = conn
            .query_row(
                "SELECT typeof(body), length(body) FROM audit_deployment WHERE seq = ?1",
                [i64::try_from(record.seq).unwrap()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let json = i64::try_from(serde_json::to_vec(&record.deployment).unwrap().len()).unwrap();
        assert_eq!(kind, "blob");
        assert!(len * 2 < json, "{len} bytes stored, {json} as JSON");
    }
}

#[tokio::test]
async fn json_records_of_earlier_versions_read_and_verify_beside_compact_ones() {
    let (_dir, store) = common::seeded_sqlite(6).await;
    let compact = store.scan(1, 10).await.unwrap();
    // What an earlier version wrote: the same deployments as JSON text.
    let conn = common::raw(&store);
    for record in &compact[..3] {
        conn.execute(
            "UPDATE audit_deployment SET body = ?1 WHERE seq = ?2",
            rusqlite::params![
                serde_json::to_string(&record.deployment).unwrap(),
                i64::try_from(record.seq).unwrap()
            ],
        )
        .unwrap();
    }
    let kinds: Vec<String> = conn
        .prepare("SELECT typeof(body) FROM audit_deployment ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kinds, ["text", "text", "text", "blob", "blob", "blob"]);

    let (mixed, report) = common::verify_store(&store, 4).await;
    assert_eq!(mixed, compact);
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.checked, 6);

    // A JSON record that was edited is named as changed, as a compact one is.
    conn.execute(
        "UPDATE audit_deployment SET body = replace(body, 'gh-2', 'gh-20') WHERE seq = 2",
        [],
    )
    .unwrap();
    let (_, report) = common::verify_store(&store, 4).await;
    let problem = report.first_problem.expect("tampering found");
    assert_eq!((problem.seq, problem.kind), (2, ChainProblemKind::Changed));
}

#[tokio::test]
async fn a_damaged_compact_body_is_an_error_naming_the_record() {
    let (_dir, store) = common::seeded_sqlite(5).await;
    let conn = common::raw(&store);
    // Cut short: the last byte dropped.
    conn.execute(
        "UPDATE audit_deployment SET body = substr(body, 1, length(body) - 1) WHERE seq = 2",
        [],
    )
    .unwrap();
    let err = store.scan(1, 10).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains("ledger record 2"), "{err}");
    assert!(err.to_string().contains("body is damaged"), "{err}");
    assert_eq!(err.context_value("seq"), Some("2"));

    // Turned into text that is not UTF-8 (an edit with a text function): still named.
    conn.execute(
        "UPDATE audit_deployment SET body = CAST(x'01ff' AS TEXT) WHERE seq = 2",
        [],
    )
    .unwrap();
    let err = store.scan(2, 1).await.unwrap_err();
    assert!(err.to_string().contains("ledger record 2"), "{err}");
}
