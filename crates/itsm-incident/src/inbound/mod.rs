//! Parsers for inbound alert formats: the Prometheus Alertmanager webhook and the generic
//! JSON alert; and [`webhook`], the port through which vendors' webhooks reach the sync
//! engine. The alert parsers are tolerant (unknown fields ignored, optional ones optional) and return
//! an [`ErrorKind::InvalidInput`](itsm_core::ErrorKind::InvalidInput) error that names the
//! field at fault for anything they cannot use.

pub mod alertmanager;
pub mod generic;
pub mod webhook;

use std::collections::BTreeMap;

use itsm_core::{Error, Result, ServiceId};

/// Which labels carry the service, the tenant and the severity, and the service to use when
/// an alert names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// The label naming the affected service (default `service`).
    pub service_label: String,
    /// The label naming the tenant (default `tenant`).
    pub tenant_label: String,
    /// The label carrying the severity (default `severity`).
    pub severity_label: String,
    /// The service for alerts without a service label; `None` refuses such alerts.
    pub default_service: Option<ServiceId>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            service_label: "service".into(),
            tenant_label: "tenant".into(),
            severity_label: "severity".into(),
            default_service: None,
        }
    }
}

impl ParseOptions {
    /// The service of an alert with these labels.
    pub(crate) fn service_of(
        &self,
        labels: &BTreeMap<String, String>,
        which: &str,
    ) -> Result<ServiceId> {
        match labels.get(&self.service_label).filter(|s| !s.trim().is_empty()) {
            Some(name) => ServiceId::new(name)
                .map_err(|e| Error::invalid_input(format!("{which}: label `{}`: {}", self.service_label, e.message()))),
            None => self.default_service.clone().ok_or_else(|| {
                Error::invalid_input(format!(
                    "{which} has no `{}` label; add the label to the alert rule or set a default service",
                    self.service_label
                ))
            }),
        }
    }
}

/// A stable 64-bit FNV-1a hash of a label set, rendered as 16 hex digits: the fingerprint of
/// an alert whose sender gave none. Labels are hashed in name order.
pub fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash = OFFSET;
    for (name, value) in labels {
        for byte in name
            .bytes()
            .chain([0xff])
            .chain(value.bytes())
            .chain([0xfe])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_depends_on_every_label() {
        let mut a = BTreeMap::new();
        a.insert("alertname".to_string(), "Down".to_string());
        a.insert("service".to_string(), "checkout".to_string());
        let first = label_fingerprint(&a);
        assert_eq!(first, label_fingerprint(&a.clone()));
        assert_eq!(first.len(), 16);
        a.insert("service".to_string(), "payments".to_string());
        assert_ne!(first, label_fingerprint(&a));
    }

    #[test]
    fn missing_service_is_refused_unless_a_default_is_set() {
        let labels = BTreeMap::new();
        let err = ParseOptions::default()
            .service_of(&labels, "alert `Down`")
            .unwrap_err();
        assert!(err.to_string().contains("has no `service` label"), "{err}");
        let opts = ParseOptions {
            default_service: Some(ServiceId::new("platform").unwrap()),
            ..Default::default()
        };
        assert_eq!(opts.service_of(&labels, "x").unwrap().as_str(), "platform");
    }
}
