//! Helpers shared by the integration tests (included with `mod common;`).

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use itsm_change::{ChangeKind, NewChange, NewTemplate};
use itsm_core::{Environment, IdempotencyKey, ManualClock, Person, ServiceId, Version};
use itsm_local::LocalStore;
use tempfile::TempDir;
use time::macros::datetime;

/// A store in a fresh temporary directory, with a manual clock at 2026-05-01 10:00 UTC.
pub fn store() -> (TempDir, LocalStore, ManualClock) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(datetime!(2026-05-01 10:00 UTC));
    let store = LocalStore::open(dir.path().join("itsm.db"), Arc::new(clock.clone())).unwrap();
    (dir, store, clock)
}

/// An idempotency key.
pub fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

/// A change of `kind` for `service` 1.0.0 in production, no template.
pub fn new_change(kind: ChangeKind, service: &str) -> NewChange {
    NewChange {
        kind,
        template: None,
        service: ServiceId::new(service).unwrap(),
        version: Version::new("1.0.0").unwrap(),
        environment: Environment::production(),
        summary: format!("Deploy {service} 1.0.0"),
        description: String::new(),
        window: None,
        commits: vec![],
        pipeline_run: None,
        requested_by: None,
        assignment_team: None,
        reasons: vec![],
        retroactive: false,
        links: vec![],
    }
}

/// An approved template for `service`, production only.
pub fn new_template(service: &str) -> NewTemplate {
    NewTemplate {
        service: ServiceId::new(service).unwrap(),
        name: format!("{service} release"),
        description: "Routine release".into(),
        environments: vec![Environment::production()],
        implementation_plan: "pipeline".into(),
        backout_plan: "redeploy previous".into(),
        test_plan: "smoke".into(),
        owner: Person::named("Pat"),
        approved_by: Some(Person::named("Casey")),
        expires_at: None,
    }
}
