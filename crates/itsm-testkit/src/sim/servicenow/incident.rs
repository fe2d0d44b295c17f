//! The fields of an incident record as an instance keeps them.
//!
//! A real instance answers a Table API read of `incident` with every field of the table,
//! about ninety of them on a base instance (the task fields `incident` inherits, its own,
//! and the custom `u_itsm_*` fields the adapter's docs ask for), most of them empty on a new
//! record. The simulator gives every new incident the same fields, so that a client that
//! does not ask for fewer (`sysparm_fields`) receives and decodes an answer of the size a
//! real one has.

use super::store::{INTEGRATION_USER, Row};

/// Every field of a new incident that neither the request, the table's insert (`sys_id`,
/// `number`, `sys_created_on`, `sys_updated_on`, `sys_created_by`) nor the incident rules
/// (`state`, `impact`, `urgency`, `priority`, `opened_at`) set, with the value a base
/// instance gives it.
const DEFAULTS: [(&str, &str); 84] = [
    ("active", "true"),
    ("activity_due", ""),
    ("additional_assignee_list", ""),
    ("approval", "not requested"),
    ("approval_history", ""),
    ("approval_set", ""),
    ("assigned_to", ""),
    ("assignment_group", ""),
    ("business_duration", ""),
    ("business_impact", ""),
    ("business_service", ""),
    ("business_stc", ""),
    ("calendar_duration", ""),
    ("calendar_stc", ""),
    ("caller_id", ""),
    ("category", "inquiry"),
    ("cause", ""),
    ("caused_by", ""),
    ("child_incidents", "0"),
    ("close_code", ""),
    ("close_notes", ""),
    ("closed_at", ""),
    ("closed_by", ""),
    ("cmdb_ci", ""),
    ("comments", ""),
    ("comments_and_work_notes", ""),
    ("company", ""),
    ("contact_type", ""),
    ("contract", ""),
    ("correlation_display", ""),
    ("correlation_id", ""),
    ("delivery_plan", ""),
    ("delivery_task", ""),
    ("description", ""),
    ("due_date", ""),
    ("escalation", "0"),
    ("expected_start", ""),
    ("follow_up", ""),
    ("group_list", ""),
    ("hold_reason", ""),
    ("knowledge", "false"),
    ("location", ""),
    ("made_sla", "true"),
    ("major_incident_state", ""),
    ("notify", "1"),
    ("order", ""),
    ("origin_id", ""),
    ("origin_table", ""),
    ("parent", ""),
    ("parent_incident", ""),
    ("problem_id", ""),
    ("reassignment_count", "0"),
    ("reopen_count", "0"),
    ("reopened_by", ""),
    ("reopened_time", ""),
    ("resolved_at", ""),
    ("resolved_by", ""),
    ("rfc", ""),
    ("route_reason", ""),
    ("service_offering", ""),
    ("severity", "3"),
    ("short_description", ""),
    ("sla_due", ""),
    ("subcategory", ""),
    ("sys_class_name", "incident"),
    ("sys_domain", "global"),
    ("sys_domain_path", "/"),
    ("sys_mod_count", "0"),
    ("sys_tags", ""),
    ("sys_updated_by", INTEGRATION_USER),
    ("time_worked", ""),
    ("u_itsm_acknowledged", ""),
    ("u_itsm_links", ""),
    ("u_itsm_service_kind", ""),
    ("u_itsm_tenant", ""),
    ("universal_request", ""),
    ("upon_approval", "proceed"),
    ("upon_reject", "cancel"),
    ("user_input", ""),
    ("watch_list", ""),
    ("work_end", ""),
    ("work_notes", ""),
    ("work_notes_list", ""),
    ("work_start", ""),
];

/// Gives a new incident every field it does not have yet, and the fields that follow from
/// who opens it.
pub(super) fn fill_new(row: &mut Row) {
    for (field, value) in DEFAULTS {
        row.entry(field.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    let by = row
        .get("sys_created_by")
        .cloned()
        .unwrap_or_else(|| INTEGRATION_USER.to_owned());
    row.entry("opened_by".into()).or_insert(by);
}

/// Keeps the fields an instance derives on every write: `incident_state` mirrors `state`,
/// and `sys_mod_count` counts updates.
pub(super) fn derive(before: Option<&Row>, row: &mut Row) {
    if let Some(state) = row.get("state").cloned() {
        row.insert("incident_state".into(), state);
    }
    if let Some(before) = before {
        let count = before
            .get("sys_mod_count")
            .and_then(|c| c.parse::<u64>().ok())
            .unwrap_or(0);
        row.insert("sys_mod_count".into(), (count + 1).to_string());
    }
}
