//! Code written against the ports, not against a vendor: it works with any
//! [`IncidentSystem`], and its tests use `itsm_testkit::MockIncidentSystem`.

use itsm_core::{IdempotencyKey, Result, ServiceId};
use itsm_incident::{
    Assignment, Incident, IncidentSystem, NewIncident, Priority, ServiceKind, capability,
};

/// An alert, reduced to what opening an incident needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The monitoring tool's deduplication key: the same alert firing again has the same one.
    pub dedup_key: String,
    /// One line.
    pub summary: String,
    /// The service that is failing.
    pub service: ServiceId,
    /// How urgent it is.
    pub priority: Priority,
}

/// Opens the incident for `alert` (or finds the one an earlier delivery opened: the key is
/// `alert/<dedup key>`), and flags a P1 as a major incident when the system supports it.
///
/// # Errors
///
/// Whatever the system answers, and [`ErrorKind::InvalidInput`](itsm_core::ErrorKind) for
/// a dedup key that cannot make an idempotency key (empty, too long).
pub async fn open_incident(system: &dyn IncidentSystem, alert: &Alert) -> Result<Incident> {
    let key = IdempotencyKey::new(format!("alert/{}", alert.dedup_key))?;
    let new = NewIncident {
        summary: alert.summary.clone(),
        description: format!("Opened from alert {}", alert.dedup_key),
        priority: alert.priority,
        assignment: Assignment {
            service: alert.service.clone(),
            kind: ServiceKind::DigitalService,
            team: None,
        },
        tenant: None,
        links_to: vec![],
        links: vec![],
    };
    let incident = system.create_incident(&key, &new).await?;
    let wants_major = alert.priority == Priority::P1 && !incident.major;
    if wants_major && system.capabilities().supports(capability::INCIDENT_MAJOR) {
        return system.set_major(&incident.id, true).await;
    }
    Ok(incident)
}
