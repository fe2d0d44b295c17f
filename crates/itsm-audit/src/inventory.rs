//! Inventory (A2): which version of every service runs in every environment, now or as of
//! any past instant, computed from the deployment records alone.
//!
//! Only a [succeeded](crate::Outcome::Succeeded) deployment changes what runs: a failed one
//! leaves the previous version in place. Deployments are ordered by when they finished
//! (`finished_at`), ties broken by ledger position (`seq`).
//!
//! ```
//! # use itsm_audit::inventory::inventory;
//! // An empty ledger runs nothing anywhere.
//! assert!(inventory(&[], None).is_empty());
//! ```

use std::collections::BTreeMap;

use itsm_core::{Environment, IdempotencyKey, ServiceId, Version};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{DeploymentRecord, Outcome};

/// What runs in one environment for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryEntry {
    /// The service.
    pub service: ServiceId,
    /// The environment.
    pub environment: Environment,
    /// The version running there.
    pub version: Version,
    /// When the deployment that put it there finished.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// The ledger position of that deployment.
    pub seq: u64,
    /// The key of that deployment.
    pub key: IdempotencyKey,
}

/// Which version of every service runs in every environment.
///
/// With `at = None` this is what runs now (every record counts); with `at = Some(t)` only
/// records whose `finished_at <= t` count, giving what ran at `t`. The result is sorted by
/// service, then environment; a service/environment pair with no succeeded deployment (yet)
/// is absent.
pub fn inventory(records: &[DeploymentRecord], at: Option<OffsetDateTime>) -> Vec<InventoryEntry> {
    let mut latest: BTreeMap<(&ServiceId, &Environment), &DeploymentRecord> = BTreeMap::new();
    for record in records {
        let d = &record.deployment;
        if d.outcome != Outcome::Succeeded || at.is_some_and(|at| d.finished_at > at) {
            continue;
        }
        let slot = latest.entry((&d.service, &d.environment)).or_insert(record);
        let current = (slot.deployment.finished_at, slot.seq);
        if (d.finished_at, record.seq) > current {
            *slot = record;
        }
    }
    latest
        .into_values()
        .map(|r| InventoryEntry {
            service: r.deployment.service.clone(),
            environment: r.deployment.environment.clone(),
            version: r.deployment.version.clone(),
            since: r.deployment.finished_at,
            seq: r.seq,
            key: r.key.clone(),
        })
        .collect()
}
