//! The simulator's in-memory tables, encoded queries and field rendering.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// One row: field name to stored text (references hold the name they were written with).
pub(super) type Row = BTreeMap<String, String>;

/// The user the simulator records as the creator when the request names none.
pub(super) const INTEGRATION_USER: &str = "itsm.integration";

/// Fields the simulator renders as references (`{link, value}`; display value = stored name).
const REFERENCES: [&str; 28] = [
    "cmdb_ci",
    "assignment_group",
    "requested_by",
    "approver",
    "sysapproval",
    "cat_item",
    "request",
    "opened_by",
    "requested_for",
    "request_item",
    "assigned_to",
    "business_service",
    "caller_id",
    "caused_by",
    "closed_by",
    "company",
    "contract",
    "delivery_plan",
    "delivery_task",
    "location",
    "parent",
    "parent_incident",
    "problem_id",
    "reopened_by",
    "resolved_by",
    "rfc",
    "service_offering",
    "universal_request",
];

/// The tables, in insertion order per table.
#[derive(Debug, Default)]
pub(super) struct Tables {
    pub(super) rows: BTreeMap<String, Vec<Row>>,
    counter: u64,
    numbers: BTreeMap<String, u64>,
}

impl Tables {
    /// A new sys_id (32 hex digits).
    pub(super) fn sys_id(&mut self) -> String {
        self.counter += 1;
        format!("{:032x}", 0x5e55_0000_0000_u64 + self.counter)
    }

    /// The next number of `table` (`INC0010001`, ...).
    pub(super) fn number(&mut self, table: &str) -> String {
        let prefix = match table {
            "incident" => "INC",
            "change_request" => "CHG",
            "sc_req_item" => "RITM",
            "sc_request" => "REQ",
            _ => "REC",
        };
        let n = self.numbers.entry(table.to_owned()).or_insert(10_000);
        *n += 1;
        format!("{prefix}{n:07}")
    }

    /// Inserts `row` with sys_id, number and timestamps; returns the sys_id.
    pub(super) fn insert(&mut self, table: &str, mut row: Row) -> String {
        let id = self.sys_id();
        let now = now_text();
        row.insert("sys_id".into(), id.clone());
        row.entry("number".into())
            .or_insert_with(|| self.number(table));
        row.insert("sys_created_on".into(), now.clone());
        row.insert("sys_updated_on".into(), now);
        row.entry("sys_created_by".into())
            .or_insert_with(|| INTEGRATION_USER.into());
        self.rows.entry(table.to_owned()).or_default().push(row);
        id
    }

    pub(super) fn get(&self, table: &str, id: &str) -> Option<&Row> {
        self.rows
            .get(table)?
            .iter()
            .find(|r| r.get("sys_id").map(String::as_str) == Some(id))
    }

    pub(super) fn get_mut(&mut self, table: &str, id: &str) -> Option<&mut Row> {
        self.rows
            .get_mut(table)?
            .iter_mut()
            .find(|r| r.get("sys_id").map(String::as_str) == Some(id))
    }

    /// The rows of `table` matching `query`, ordered as it asks.
    pub(super) fn query(&self, table: &str, query: &str) -> Vec<Row> {
        let parsed = Query::parse(query);
        let mut rows: Vec<Row> = self
            .rows
            .get(table)
            .map(|rows| rows.iter().filter(|r| parsed.matches(r)).cloned().collect())
            .unwrap_or_default();
        for (field, desc) in parsed.order.iter().rev() {
            rows.sort_by(|a, b| {
                let (x, y) = (a.get(field), b.get(field));
                if *desc { y.cmp(&x) } else { x.cmp(&y) }
            });
        }
        rows
    }
}

/// ServiceNow's internal time format, now, in UTC.
pub(super) fn now_text() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// A parsed encoded query: AND-ed terms and ORDERBY clauses.
struct Query {
    terms: Vec<(String, Op, String)>,
    order: Vec<(String, bool)>,
}

enum Op {
    Eq,
    Ne,
    In,
    Like,
}

impl Query {
    fn parse(query: &str) -> Query {
        let mut terms = Vec::new();
        let mut order = Vec::new();
        // `^^` is an escaped `^` inside a value.
        let placeholder = "\u{0}";
        let text = query.replace("^^", placeholder);
        for raw in text.split('^').filter(|t| !t.is_empty()) {
            let term = raw.replace(placeholder, "^");
            if let Some(field) = term.strip_prefix("ORDERBYDESC") {
                order.push((field.to_owned(), true));
            } else if let Some(field) = term.strip_prefix("ORDERBY") {
                order.push((field.to_owned(), false));
            } else if let Some((at, op, len)) = operator(&term) {
                let (field, value) = (&term[..at], &term[at + len..]);
                terms.push((field.to_owned(), op, value.to_owned()));
            }
        }
        Query { terms, order }
    }

    fn matches(&self, row: &Row) -> bool {
        self.terms.iter().all(|(field, op, value)| {
            // `cmdb_ci.name` compares the reference's name, which is what the simulator stores.
            let stored = row
                .get(field.as_str())
                .or_else(|| field.split_once('.').and_then(|(f, _)| row.get(f)))
                .map(String::as_str)
                .unwrap_or("");
            match op {
                Op::Eq => stored == value || (stored.is_empty() && value.is_empty()),
                Op::Ne => stored != value,
                Op::In => value.split(',').any(|v| v == stored),
                Op::Like => stored.contains(value.as_str()),
            }
        })
    }
}

/// The first operator of a term (the value may hold `=` or `IN` itself): its position,
/// kind and length.
fn operator(term: &str) -> Option<(usize, Op, usize)> {
    [("!=", 0u8), ("=", 1), ("LIKE", 2), ("IN", 3)]
        .into_iter()
        .filter_map(|(text, which)| term.find(text).map(|at| (at, which, text.len())))
        .min_by_key(|(at, which, _)| (*at, *which))
        .map(|(at, which, len)| {
            let op = match which {
                0 => Op::Ne,
                1 => Op::Eq,
                2 => Op::Like,
                _ => Op::In,
            };
            (at, op, len)
        })
}

/// A stable fake sys_id for a reference stored by name.
fn reference_id(name: &str) -> String {
    if name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return name.to_owned();
    }
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}{:016x}", hash.rotate_left(17))
}

/// How the Table API renders a field (`sysparm_display_value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Display {
    /// Values; references as `{link, value}`.
    Raw,
    /// Display values only.
    Names,
    /// `{display_value, value}` (and `link` for references), as `all` and the Change API.
    Both,
}

impl Display {
    pub(super) fn of(param: Option<&str>) -> Display {
        match param {
            Some("all") => Display::Both,
            Some("true") => Display::Names,
            _ => Display::Raw,
        }
    }
}

/// What a Table API answer carries, from the request's `sysparm_display_value`,
/// `sysparm_fields` and `sysparm_exclude_reference_link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct View {
    display: Display,
    /// Only these fields (`None`: every field of the record).
    fields: Option<Vec<String>>,
    /// Whether references carry their `link`.
    links: bool,
}

impl View {
    /// Values and display values of every field, with links (the Change Management API).
    pub(super) fn all() -> View {
        View {
            display: Display::Both,
            fields: None,
            links: true,
        }
    }

    /// The view a Table API request asks for. An empty `sysparm_fields` asks for every
    /// field, as on an instance; names are trimmed and empty ones dropped.
    pub(super) fn of(
        display_value: Option<&str>,
        fields: Option<&str>,
        exclude_reference_link: Option<&str>,
    ) -> View {
        let fields: Option<Vec<String>> = fields
            .map(|f| {
                f.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .filter(|f| !f.is_empty());
        View {
            display: Display::of(display_value),
            fields,
            links: !exclude_reference_link.is_some_and(|e| e.trim().eq_ignore_ascii_case("true")),
        }
    }

    fn shows(&self, field: &str) -> bool {
        self.fields
            .as_ref()
            .is_none_or(|f| f.iter().any(|x| x == field))
    }
}

/// One row as JSON, as `view` asks.
pub(super) fn render(base: &str, row: &Row, view: &View) -> Value {
    let mut out = Map::new();
    for (name, stored) in row {
        if !view.shows(name) {
            continue;
        }
        let is_ref = REFERENCES.contains(&name.as_str()) && !stored.is_empty();
        let value = if is_ref {
            reference_id(stored)
        } else {
            stored.clone()
        };
        let mut json = match (view.display, is_ref) {
            (Display::Raw, true) => json!({ "value": value }),
            (Display::Raw, false) => json!(stored),
            (Display::Names, _) => json!(stored),
            (Display::Both, true) => json!({ "display_value": stored, "value": value }),
            (Display::Both, false) => json!({ "display_value": stored, "value": stored }),
        };
        if let (true, true, Value::Object(obj)) = (is_ref, view.links, &mut json) {
            let link = format!("{base}api/now/table/{name}/{value}");
            obj.insert("link".into(), Value::String(link));
        }
        out.insert(name.clone(), json);
    }
    Value::Object(out)
}
