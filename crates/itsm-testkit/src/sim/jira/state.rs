//! The simulator's in-memory state: issues, their comments, remote links and approvals,
//! service desks and request types.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Which workflow an issue follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workflow {
    /// `Open`, `Acknowledged`, `Work in progress`, `Pending`, `Resolved`, `Closed`.
    Incident,
    /// `Open`, `Planning`, `Awaiting approval` (an approval step: approving moves to
    /// `Awaiting implementation`, declining to `Declined`), `Awaiting implementation`,
    /// `Implementing`, `Review`, `Completed`, `Canceled`, `Declined`.
    Change,
    /// `Waiting for support`, `Triaged`, `In Progress`, `Waiting for customer`, `Resolved`,
    /// `Declined`, `Canceled`.
    Request,
}

impl Workflow {
    /// Every status, the first being where issues start.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            Workflow::Incident => &[
                "Open",
                "Acknowledged",
                "Work in progress",
                "Pending",
                "Resolved",
                "Closed",
            ],
            Workflow::Change => &[
                "Open",
                "Planning",
                "Awaiting approval",
                "Awaiting implementation",
                "Implementing",
                "Review",
                "Completed",
                "Canceled",
                "Declined",
            ],
            Workflow::Request => &[
                "Waiting for support",
                "Triaged",
                "In Progress",
                "Waiting for customer",
                "Resolved",
                "Declined",
                "Canceled",
            ],
        }
    }

    /// Statuses without outgoing transitions.
    pub fn is_terminal(self, status: &str) -> bool {
        match self {
            Workflow::Incident => status == "Closed",
            Workflow::Change => matches!(status, "Completed" | "Canceled" | "Declined"),
            Workflow::Request => matches!(status, "Resolved" | "Declined" | "Canceled"),
        }
    }

    /// The statuses reachable from `status` (global transitions, except into approval
    /// outcomes, which only a decision reaches).
    pub fn targets(self, status: &str) -> Vec<&'static str> {
        if self.is_terminal(status) {
            return vec![];
        }
        self.statuses()
            .iter()
            .copied()
            .filter(|s| *s != status)
            .filter(|s| !(self == Workflow::Change && *s == "Declined"))
            .filter(|s| {
                !(self == Workflow::Change
                    && status == "Awaiting approval"
                    && *s == "Awaiting implementation")
            })
            .collect()
    }

    /// The status category of `status` (`new`, `indeterminate`, `done`).
    pub fn category(self, status: &str) -> &'static str {
        if self.statuses().first() == Some(&status) {
            "new"
        } else if self.is_terminal(status) || status == "Resolved" {
            "done"
        } else {
            "indeterminate"
        }
    }
}

/// A field a request type asks for.
#[derive(Debug, Clone)]
pub struct SimField {
    /// Field id (`summary`, `customfield_10050`).
    pub id: String,
    /// Name shown.
    pub name: String,
    /// Required on create.
    pub required: bool,
    /// `string`, `number` or `option`.
    pub kind: &'static str,
    /// Allowed values of an `option` field.
    pub options: Vec<String>,
}

impl SimField {
    /// A text field.
    pub fn text(id: &str, name: &str, required: bool) -> Self {
        SimField {
            id: id.into(),
            name: name.into(),
            required,
            kind: "string",
            options: vec![],
        }
    }

    /// A number field.
    pub fn number(id: &str, name: &str, required: bool) -> Self {
        SimField {
            kind: "number",
            ..SimField::text(id, name, required)
        }
    }

    /// A select list.
    pub fn option(id: &str, name: &str, required: bool, options: &[&str]) -> Self {
        SimField {
            kind: "option",
            options: options.iter().map(|s| (*s).to_owned()).collect(),
            ..SimField::text(id, name, required)
        }
    }
}

/// A JSM request type.
#[derive(Debug, Clone)]
pub struct SimRequestType {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The workflow its requests follow.
    pub workflow: Workflow,
    /// Its fields (`labels` is always accepted besides these).
    pub fields: Vec<SimField>,
}

/// A service desk (one project).
#[derive(Debug, Clone)]
pub(crate) struct SimDesk {
    pub(crate) project: String,
    pub(crate) request_types: Vec<SimRequestType>,
}

/// One comment.
#[derive(Debug, Clone)]
pub(crate) struct SimComment {
    pub(crate) id: u64,
    pub(crate) body: Value,
    pub(crate) properties: Vec<Value>,
    pub(crate) created: OffsetDateTime,
}

/// One approval.
#[derive(Debug, Clone)]
pub(crate) struct SimApproval {
    pub(crate) id: u64,
    pub(crate) decision: &'static str,
    pub(crate) created: OffsetDateTime,
    pub(crate) completed: Option<OffsetDateTime>,
}

/// One issue.
#[derive(Debug, Clone)]
pub struct SimIssue {
    pub(crate) id: u64,
    pub(crate) key: String,
    pub(crate) project: String,
    pub(crate) issue_type: String,
    pub(crate) workflow: Workflow,
    pub(crate) status: String,
    pub(crate) labels: Vec<String>,
    pub(crate) properties: Map<String, Value>,
    /// Every other field as Jira shows it (summary, description, priority, components...).
    pub(crate) fields: Map<String, Value>,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
    pub(crate) resolution: Option<String>,
    pub(crate) resolved: Option<OffsetDateTime>,
    pub(crate) history: Vec<(String, OffsetDateTime)>,
    pub(crate) comments: Vec<SimComment>,
    pub(crate) remote_links: Vec<Value>,
    pub(crate) approvals: Vec<SimApproval>,
    pub(crate) request: Option<(String, String)>,
    pub(crate) request_values: Map<String, Value>,
}

impl SimIssue {
    /// The issue key (`OPS-1`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The current status name.
    pub fn status(&self) -> &str {
        &self.status
    }

    /// The labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// How many comments it has.
    pub fn comment_count(&self) -> usize {
        self.comments.len()
    }

    /// Moves to `status`, recording history, opening an approval on entering
    /// `Awaiting approval`, and clearing the resolution when not done.
    pub(crate) fn set_status(&mut self, status: &str, now: OffsetDateTime, next_id: &mut u64) {
        self.status = status.to_owned();
        self.history.push((status.to_owned(), now));
        self.updated = now;
        if self.workflow == Workflow::Change && status == "Awaiting approval" {
            *next_id += 1;
            self.approvals.push(SimApproval {
                id: *next_id,
                decision: "pending",
                created: now,
                completed: None,
            });
        }
        if self.workflow.category(status) != "done" {
            self.resolution = None;
            self.resolved = None;
        }
    }

    /// The issue as `GET /rest/api/3/issue/{key}` shows it.
    pub(crate) fn to_json(&self, base: &str, properties: &[&str]) -> Value {
        let mut fields = self.fields.clone();
        fields.insert("labels".into(), json!(self.labels));
        fields.insert(
            "status".into(),
            json!({ "name": self.status, "statusCategory": { "key": self.workflow.category(&self.status) } }),
        );
        fields.insert("issuetype".into(), json!({ "name": self.issue_type }));
        fields.insert("project".into(), json!({ "key": self.project }));
        fields.insert("created".into(), json!(jira_time(self.created)));
        fields.insert("updated".into(), json!(jira_time(self.updated)));
        fields.insert(
            "resolution".into(),
            self.resolution
                .as_ref()
                .map_or(Value::Null, |r| json!({ "name": r })),
        );
        fields.insert(
            "resolutiondate".into(),
            self.resolved.map_or(Value::Null, |t| json!(jira_time(t))),
        );
        let mut issue = json!({
            "id": self.id.to_string(),
            "key": self.key,
            "self": format!("{base}rest/api/3/issue/{}", self.id),
            "fields": fields,
        });
        if !properties.is_empty() {
            let props: Map<String, Value> = properties
                .iter()
                .filter_map(|p| Some(((*p).to_owned(), self.properties.get(*p)?.clone())))
                .collect();
            issue["properties"] = Value::Object(props);
        }
        issue
    }
}

/// Jira's timestamp format: `2024-05-07T14:32:10.000+0000`.
pub(crate) fn jira_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// JSM's date object.
pub(crate) fn jsm_date(t: OffsetDateTime) -> Value {
    json!({
        "iso8601": jira_time(t),
        "epochMillis": (t.unix_timestamp_nanos() / 1_000_000) as i64,
        "friendly": jira_time(t),
    })
}

/// Everything the simulator holds.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) issues: Vec<SimIssue>,
    pub(crate) desks: BTreeMap<String, SimDesk>,
    pub(crate) next_id: u64,
    pub(crate) counters: BTreeMap<String, u64>,
    pub(crate) lose_create_answers: u32,
    pub(crate) last_time: Option<OffsetDateTime>,
}

impl State {
    /// The current time, strictly after the previous one (so ordering is stable).
    pub(crate) fn now(&mut self) -> OffsetDateTime {
        let mut now = OffsetDateTime::now_utc();
        if let Some(last) = self.last_time
            && now <= last
        {
            now = last + time::Duration::milliseconds(1);
        }
        // Jira keeps milliseconds.
        now = now
            .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
            .unwrap_or(now);
        if let Some(last) = self.last_time
            && now <= last
        {
            now = last + time::Duration::milliseconds(1);
        }
        self.last_time = Some(now);
        now
    }

    pub(crate) fn issue_mut(&mut self, key: &str) -> Option<&mut SimIssue> {
        self.issues
            .iter_mut()
            .find(|i| i.key.eq_ignore_ascii_case(key) || i.id.to_string() == key)
    }

    pub(crate) fn issue(&self, key: &str) -> Option<&SimIssue> {
        self.issues
            .iter()
            .find(|i| i.key.eq_ignore_ascii_case(key) || i.id.to_string() == key)
    }

    /// Adds an issue and returns its key.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_issue(
        &mut self,
        project: &str,
        issue_type: &str,
        workflow: Workflow,
        labels: Vec<String>,
        properties: Map<String, Value>,
        fields: Map<String, Value>,
        request: Option<(String, String)>,
        request_values: Map<String, Value>,
    ) -> String {
        self.next_id += 1;
        let id = 10_000 + self.next_id;
        let counter = self.counters.entry(project.to_owned()).or_default();
        *counter += 1;
        let key = format!("{project}-{counter}");
        let now = self.now();
        let first = workflow.statuses()[0];
        self.issues.push(SimIssue {
            id,
            key: key.clone(),
            project: project.to_owned(),
            issue_type: issue_type.to_owned(),
            workflow,
            status: first.to_owned(),
            labels,
            properties,
            fields,
            created: now,
            updated: now,
            resolution: None,
            resolved: None,
            history: vec![(first.to_owned(), now)],
            comments: vec![],
            remote_links: vec![],
            approvals: vec![],
            request,
            request_values,
        });
        key
    }
}

/// Jira's error body.
pub(crate) fn error_body(message: &str) -> Value {
    json!({ "errorMessages": [message], "errors": {} })
}
