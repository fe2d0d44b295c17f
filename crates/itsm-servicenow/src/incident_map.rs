//! Incidents to and from ServiceNow Table API records, and the fields asked for.
//!
//! [`ServiceNow::incident_from`] reads an incident from a record; [`INCIDENT_FIELDS`] and
//! the configured field names ([`ServiceNow::incident_fields`]) are exactly the fields it
//! reads, sent as `sysparm_fields` so that ServiceNow answers those and not the hundred
//! or so fields of an incident. A test derives the fields the mapping reads and compares.

use itsm_core::{ExternalRef, IdempotencyKey, Result, ServiceId, TeamId, TenantId};
use itsm_incident::{Assignment, Incident, IncidentId, NewIncident, Priority, ServiceKind};
use serde_json::{Map, Value};

use crate::client::{ServiceNow, bad_record, put};
use crate::config::Fields;
use crate::record::Record;

/// The fields of `incident` that [`ServiceNow::incident_from`] reads under fixed names;
/// the others are named in `[servicenow.fields]` (see [`ServiceNow::incident_fields`]).
pub(crate) const INCIDENT_FIELDS: [&str; 13] = [
    "sys_id",
    "number",
    "short_description",
    "description",
    "state",
    "priority",
    "impact",
    "urgency",
    "major_incident_state",
    "assignment_group",
    "opened_at",
    "sys_created_on",
    "resolved_at",
];

/// `impact` and `urgency` giving `priority` in ServiceNow's default priority lookup
/// (priority = impact + urgency - 1).
pub(crate) fn impact_urgency(priority: Priority) -> (u8, u8) {
    match priority {
        Priority::P1 => (1, 1),
        Priority::P2 => (1, 2),
        Priority::P3 => (2, 2),
        Priority::P4 => (2, 3),
        Priority::P5 => (3, 3),
    }
}

/// The priority of ServiceNow's `priority` number (1 to 5).
pub(crate) fn priority_of(number: i64) -> Option<Priority> {
    Some(match number {
        1 => Priority::P1,
        2 => Priority::P2,
        3 => Priority::P3,
        4 => Priority::P4,
        5 => Priority::P5,
        _ => return None,
    })
}

fn kind_name(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::DigitalService => "digital_service",
        ServiceKind::Cots => "cots",
        ServiceKind::Foundational => "foundational",
    }
}

fn kind_of(text: Option<String>) -> ServiceKind {
    match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        Some("cots") => ServiceKind::Cots,
        Some("foundational") => ServiceKind::Foundational,
        _ => ServiceKind::DigitalService,
    }
}

/// `system:id` lines (an optional URL after a space) of the links field.
pub(crate) fn links_of(text: &str) -> Vec<ExternalRef> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (system, id) = parts.next()?.split_once(':')?;
            let reference = ExternalRef::new(system, id);
            Some(match parts.next().and_then(|u| url::Url::parse(u).ok()) {
                Some(url) => reference.with_url(url),
                None => reference,
            })
        })
        .collect()
}

pub(crate) fn link_line(reference: &ExternalRef) -> String {
    match &reference.url {
        Some(url) => format!("{}:{} {url}", reference.system, reference.id),
        None => format!("{}:{}", reference.system, reference.id),
    }
}

impl ServiceNow {
    /// The `sysparm_fields` of every incident request: [`INCIDENT_FIELDS`] and the
    /// configured fields `incident_from` reads (those turned off left out), comma separated.
    pub(crate) fn incident_fields(fields: &Fields) -> String {
        let configured = [
            &fields.correlation,
            &fields.service,
            &fields.service_kind,
            &fields.acknowledged,
            &fields.links,
            &fields.tenant,
        ];
        let mut names: Vec<&str> = INCIDENT_FIELDS.to_vec();
        for name in configured.into_iter().map(|n| n.trim()) {
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
        names.join(",")
    }

    /// An incident from a Table API record.
    pub(crate) fn incident_from(&self, r: &Record) -> Result<Incident> {
        let f = &self.config.fields;
        let what = "incident";
        let sys_id = r
            .sys_id()
            .ok_or_else(|| bad_record(what, "sys_id", "check the instance URL"))?;
        let service = r
            .display(&f.service)
            .and_then(|s| ServiceId::new(s).ok())
            .ok_or_else(|| bad_record(what, &f.service, "set the incident's configuration item"))?;
        let priority = r
            .number("priority")
            .and_then(priority_of)
            .or_else(|| {
                let sum = r.number("impact")? + r.number("urgency")? - 1;
                priority_of(sum)
            })
            .unwrap_or(Priority::P3);
        let state = self
            .config
            .incident_states
            .state(&r.text("state"), r.flag(&f.acknowledged));
        let major = r.value("major_incident_state").is_some_and(|m| {
            m.eq_ignore_ascii_case(&self.config.incident.major_state)
                || m.eq_ignore_ascii_case("proposed")
        });
        Ok(Incident {
            id: IncidentId::new(&sys_id)?,
            number: r.value("number"),
            key: self.key_of(r),
            summary: r.text("short_description"),
            description: r.text("description"),
            state,
            priority,
            major,
            assignment: Assignment {
                service,
                kind: kind_of(r.value(&f.service_kind)),
                team: r
                    .display("assignment_group")
                    .and_then(|t| TeamId::new(t).ok()),
            },
            tenant: r.value(&f.tenant).and_then(|t| TenantId::new(t).ok()),
            acknowledged_by: None,
            links_to: r.value(&f.links).map(|l| links_of(&l)).unwrap_or_default(),
            links: Vec::new(),
            external: Some(self.external(&self.config.tables.incident, &sys_id)),
            opened_at: r.time("opened_at").or_else(|| r.time("sys_created_on")),
            resolved_at: r.time("resolved_at"),
        })
    }

    pub(crate) fn incident_body(
        &self,
        key: &IdempotencyKey,
        new: &NewIncident,
    ) -> Map<String, Value> {
        let f = &self.config.fields;
        let mut body = Map::new();
        put(&mut body, "short_description", new.summary.clone());
        let mut description = new.description.clone();
        for link in &new.links {
            description.push_str(&format!("\n{}: {}", link.label, link.url));
        }
        put(
            &mut body,
            "description",
            description.trim_start().to_owned(),
        );
        let (impact, urgency) = impact_urgency(new.priority);
        put(&mut body, "impact", impact.to_string());
        put(&mut body, "urgency", urgency.to_string());
        self.put_assignment(&mut body, &new.assignment);
        put(&mut body, &f.correlation, Self::correlation_value(key));
        if let Some(tenant) = &new.tenant {
            put(&mut body, &f.tenant, tenant.as_str());
        }
        if !new.links_to.is_empty() {
            let lines: Vec<String> = new.links_to.iter().map(link_line).collect();
            put(&mut body, &f.links, lines.join("\n"));
        }
        body
    }

    pub(crate) fn put_assignment(&self, body: &mut Map<String, Value>, to: &Assignment) {
        let f = &self.config.fields;
        put(body, &f.service, to.service.as_str());
        put(body, &f.service_kind, kind_name(to.kind));
        // Without a team the group is cleared, so that it is not left with the old service's team.
        put(
            body,
            "assignment_group",
            to.team.as_ref().map_or("", TeamId::as_str),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::ServiceNowConfig;
    use crate::record::reads;
    use serde_json::json;

    fn adapter(fields: Fields) -> ServiceNow {
        let url = url::Url::parse("https://acme.service-now.com/").unwrap();
        let mut config = ServiceNowConfig::basic(url, "itsm.integration", "s3cr3t");
        config.fields = fields;
        ServiceNow::new(config).unwrap()
    }

    /// Custom names, one field turned off.
    fn renamed() -> Fields {
        Fields {
            correlation: "u_key".into(),
            service: "business_service".into(),
            service_kind: "u_kind".into(),
            acknowledged: "u_ack".into(),
            links: String::new(),
            tenant: "u_tenant".into(),
            ..Fields::default()
        }
    }

    fn both(value: &str) -> Value {
        json!({ "display_value": value, "value": value })
    }

    /// An incident record as `sysparm_display_value=all` answers it, every field the
    /// mapping can read set (under `fields`' names), among fields it never reads.
    fn full_record(fields: &Fields) -> Map<String, Value> {
        let mut r = Map::new();
        for other in [
            "caller_id",
            "category",
            "sys_domain",
            "contact_type",
            "u_itsm_notes",
        ] {
            r.insert(other.into(), both("unread"));
        }
        for (name, value) in [
            ("sys_id", "9d385017c611228701d22104cc95c371"),
            ("number", "INC0010023"),
            ("short_description", "Checkout p99 latency above 2s"),
            ("description", "Alertmanager: HighLatency"),
            ("state", "2"),
            ("priority", "2"),
            ("impact", "1"),
            ("urgency", "1"),
            ("major_incident_state", "accepted"),
            ("opened_at", "2026-05-01 10:00:04"),
            ("sys_created_on", "2026-05-01 09:59:00"),
            ("resolved_at", "2026-05-01 11:00:00"),
            (
                fields.correlation.as_str(),
                "alertmanager/checkout/HighLatency",
            ),
            (fields.service_kind.as_str(), "cots"),
            (fields.acknowledged.as_str(), "true"),
            (fields.links.as_str(), "pagerduty:PT4KHLK"),
            (fields.tenant.as_str(), "acme"),
        ] {
            r.insert(name.into(), both(value));
        }
        for (name, display) in [
            ("assignment_group", "team-checkout"),
            (fields.service.as_str(), "checkout"),
        ] {
            let link =
                "https://acme.service-now.com/api/now/table/x/8a5055c9c61122780043563ef53438e3";
            r.insert(
                name.into(),
                json!({ "display_value": display, "value": "8a5055c9c61122780043563ef53438e3", "link": link }),
            );
        }
        r
    }

    /// The records that together make the mapping read every field it can: the full one,
    /// and one without the fields that others stand in for (priority, opened_at).
    fn records(fields: &Fields) -> [Record; 2] {
        let full = full_record(fields);
        let mut fallback = full.clone();
        fallback.remove("priority");
        fallback.remove("opened_at");
        [Record(full), Record(fallback)]
    }

    fn asked(snow: &ServiceNow) -> BTreeSet<String> {
        snow.incident_fields.split(',').map(str::to_owned).collect()
    }

    fn only(record: &Record, names: &BTreeSet<String>) -> Record {
        let mut kept = record.clone();
        kept.0.retain(|name, _| names.contains(name));
        kept
    }

    #[test]
    fn the_fields_asked_for_are_the_fields_the_mapping_reads() {
        for fields in [Fields::default(), renamed()] {
            let snow = adapter(fields.clone());
            let read = reads::during(|| {
                for record in records(&fields) {
                    snow.incident_from(&record).unwrap();
                }
            });
            assert_eq!(read, asked(&snow), "{fields:?}");
        }
        let renamed = adapter(renamed()).incident_fields;
        assert!(renamed.contains("u_key") && renamed.contains("business_service"));
        assert!(!renamed.contains("correlation_id") && !renamed.contains(",,"));
        assert!(
            !renamed.contains("u_itsm_links") && !renamed.ends_with(','),
            "{renamed}"
        );
    }

    #[test]
    fn an_answer_with_only_the_fields_asked_for_reads_the_same_and_each_field_counts() {
        for fields in [Fields::default(), renamed()] {
            let snow = adapter(fields.clone());
            let asked = asked(&snow);
            for record in records(&fields) {
                let kept = only(&record, &asked);
                assert!(kept.0.len() < record.0.len());
                assert_eq!(
                    snow.incident_from(&kept).unwrap(),
                    snow.incident_from(&record).unwrap()
                );
            }
            // Leaving any one field out of the list would change what is read.
            for name in &asked {
                let mut without = asked.clone();
                without.remove(name);
                let changed = records(&fields).iter().any(|record| {
                    snow.incident_from(&only(record, &without)).ok()
                        != snow.incident_from(&only(record, &asked)).ok()
                });
                assert!(
                    changed,
                    "`{name}` is asked for but reads the same without it"
                );
            }
        }
    }

    #[test]
    fn priorities_follow_servicenows_lookup() {
        for p in [
            Priority::P1,
            Priority::P2,
            Priority::P3,
            Priority::P4,
            Priority::P5,
        ] {
            let (i, u) = impact_urgency(p);
            assert_eq!(priority_of(i64::from(i) + i64::from(u) - 1), Some(p), "{p}");
        }
        assert_eq!(priority_of(0), None);
    }

    #[test]
    fn links_round_trip() {
        let a = ExternalRef::new("pagerduty", "PT4KHLK")
            .with_url(url::Url::parse("https://acme.pagerduty.com/incidents/PT4KHLK").unwrap());
        let b = ExternalRef::new("alertmanager", "abc");
        let text = [link_line(&a), link_line(&b), "junk".into()].join("\n");
        assert_eq!(links_of(&text), vec![a, b]);
    }
}
