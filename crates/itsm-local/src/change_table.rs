//! Change requests, approvals and notes in the `change_request`, `change_approval` and
//! `change_note` tables (blocking functions run inside a [`Conn`] transaction).

use itsm_change::{
    Approval, ApprovalDecision, ApprovalState, ChangeFilter, ChangeId, ChangeKind, ChangeRequest,
    NewChange,
};
use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, Listing, Person, Result};
use rusqlite::types::Value;
use time::OffsetDateTime;

use crate::SYSTEM;
use crate::lifecycle;
use crate::records::{
    Page, Table, approval_text, decode, encode, find_by_key, get_by_id, kind_text, state_text,
    timestamp,
};
use crate::store::Conn;
use crate::template;

/// The approver asked by [`request_approval`](itsm_change::ChangeSystem::request_approval).
pub(crate) const CHANGE_MANAGER: &str = "change-manager";

/// Checks what can be checked without the database.
pub(crate) fn validate(change: &NewChange) -> Result<()> {
    if change.summary.trim().is_empty() {
        return Err(Error::invalid_input(
            "change summary must not be empty; describe the change in one line",
        )
        .with_context("field", "summary"));
    }
    if change.kind == ChangeKind::Standard && change.template.is_none() {
        return Err(Error::invalid_input(
            "a standard change needs the template it is made from; give a template id",
        )
        .with_context("field", "template"));
    }
    Ok(())
}

/// Checks that a standard change's template exists and allows it.
fn check_template(conn: &Conn<'_>, change: &NewChange, now: OffsetDateTime) -> Result<()> {
    let Some(id) = &change.template else {
        return Ok(());
    };
    let invalid = |why: String| {
        Error::invalid_input(format!("template {id} {why}")).with_context("field", "template")
    };
    let Some(t) = template::by_id(conn, id)? else {
        return Err(invalid(String::from(
            "does not exist; create it or use another template",
        )));
    };
    if t.service != change.service {
        return Err(invalid(format!(
            "is for service {}, not {}; use a template of {}",
            t.service, change.service, change.service
        )));
    }
    if !t.active {
        return Err(invalid(String::from(
            "is inactive; use an active template or raise a normal change",
        )));
    }
    if let Some(expires) = t.expires_at
        && expires <= now
    {
        return Err(invalid(format!(
            "expired at {expires}; have it reviewed again or raise a normal change"
        )));
    }
    if !t.environments.contains(&change.environment) {
        let allowed: Vec<&str> = t.environments.iter().map(|e| e.as_str()).collect();
        return Err(invalid(format!(
            "does not allow environment {} (it allows {}); raise a normal change",
            change.environment,
            allowed.join(", ")
        )));
    }
    Ok(())
}

/// The table and how its records are named in messages.
const CHANGES: Table = Table {
    name: "change_request",
    what: "change",
    context: "change",
};

fn decode_change(conn: &Conn<'_>, id: &str, body: &str) -> Result<ChangeRequest> {
    decode(conn.path(), "change", id, body)
}

/// The change created with `key`.
pub(crate) fn by_key(conn: &Conn<'_>, key: &IdempotencyKey) -> Result<Option<ChangeRequest>> {
    find_by_key(conn, CHANGES, key)
}

/// The change with `id`, or [`ErrorKind::NotFound`].
pub(crate) fn get(conn: &Conn<'_>, id: &ChangeId) -> Result<ChangeRequest> {
    get_by_id(conn, CHANGES, id.as_str())
}

/// Creates a change, or returns the one created with `key`.
pub(crate) fn create(
    conn: &Conn<'_>,
    key: &IdempotencyKey,
    new: &NewChange,
    now: OffsetDateTime,
) -> Result<ChangeRequest> {
    if let Some(existing) = by_key(conn, key)? {
        return Ok(existing);
    }
    if new.kind == ChangeKind::Standard {
        check_template(conn, new, now)?;
    }
    let (seq, id) = conn.next_id("change_request", "CHG")?;
    let (state, approval) = lifecycle::initial(new.kind);
    let change = ChangeRequest {
        id: ChangeId::new(&id)?,
        number: Some(id.clone()),
        key: Some(key.clone()),
        kind: new.kind,
        state,
        approval,
        service: new.service.clone(),
        version: new.version.clone(),
        environment: new.environment.clone(),
        summary: new.summary.trim().to_owned(),
        description: new.description.clone(),
        template: new.template.clone(),
        window: new.window,
        commits: new.commits.clone(),
        pipeline_run: new.pipeline_run.clone(),
        requested_by: new.requested_by.clone(),
        assignment_team: new.assignment_team.clone(),
        reasons: new.reasons.clone(),
        retroactive: new.retroactive,
        closure: None,
        links: new.links.clone(),
        external: Some(ExternalRef::new(SYSTEM, &id)),
        created_at: Some(now),
        updated_at: Some(now),
    };
    let created = timestamp(now)?;
    let template_id = match new.kind {
        ChangeKind::Standard => new.template.as_ref().map(|t| t.as_str().to_owned()),
        ChangeKind::Normal | ChangeKind::Emergency => None,
    };
    let inserted = conn.insert(
        "INSERT INTO change_request (seq, id, key, kind, service, version, environment, state, \
         approval, template_id, created_at, updated_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)",
        rusqlite::params![
            seq,
            id,
            key.as_str(),
            kind_text(change.kind),
            change.service.as_str(),
            change.version.as_str(),
            change.environment.as_str(),
            state_text(change.state),
            approval_text(change.approval),
            template_id,
            created,
            encode("change", &id, &change)?,
        ],
    )?;
    if inserted {
        return Ok(change);
    }
    // Another writer got there first (the write lock makes this unlikely): theirs wins.
    by_key(conn, key)?.ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!(
                "change {id} could not be inserted into {} and no change has key {key}",
                conn.path().display()
            ),
        )
    })
}

/// Writes back a change whose state, approval or closure moved.
pub(crate) fn save(conn: &Conn<'_>, change: &ChangeRequest) -> Result<()> {
    let updated = change.updated_at.map(timestamp).transpose()?;
    let changed = conn.execute(
        "UPDATE change_request SET state = ?2, approval = ?3, updated_at = COALESCE(?4, updated_at), \
         body = ?5 WHERE id = ?1",
        rusqlite::params![
            change.id.as_str(),
            state_text(change.state),
            approval_text(change.approval),
            updated,
            encode("change", change.id.as_str(), change)?,
        ],
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Internal,
            format!(
                "change {} vanished from {} while being updated",
                change.id,
                conn.path().display()
            ),
        ))
    }
}

/// A page of changes matching `filter`, newest (most recently created) first.
pub(crate) fn list(
    conn: &Conn<'_>,
    filter: &ChangeFilter,
    page: Page,
) -> Result<Listing<ChangeRequest>> {
    let mut sql = String::from("SELECT id, body FROM change_request WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    let mut param = |sql: &mut String, column: &str, value: &str| {
        params.push(Value::Text(value.to_owned()));
        sql.push_str(&format!(" AND {column} = ?{}", params.len()));
    };
    if let Some(service) = &filter.service {
        param(&mut sql, "service", service.as_str());
    }
    if let Some(version) = &filter.version {
        param(&mut sql, "version", version.as_str());
    }
    if let Some(environment) = &filter.environment {
        param(&mut sql, "environment", environment.as_str());
    }
    if !filter.states.is_empty() {
        let mut placeholders = Vec::with_capacity(filter.states.len());
        for state in &filter.states {
            params.push(Value::Text(state_text(*state).to_owned()));
            placeholders.push(format!("?{}", params.len()));
        }
        sql.push_str(&format!(" AND state IN ({})", placeholders.join(", ")));
    }
    params.push(Value::Integer(page.sql_limit()));
    params.push(Value::Integer(page.sql_offset()));
    sql.push_str(&format!(
        " ORDER BY seq DESC LIMIT ?{} OFFSET ?{}",
        params.len() - 1,
        params.len()
    ));
    let rows = conn.rows(&sql, rusqlite::params_from_iter(params), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let items = rows
        .iter()
        .map(|(id, body)| decode_change(conn, id, body))
        .collect::<Result<Vec<_>>>()?;
    Ok(page.finish(items))
}

/// Adds the change manager's approval row, in state requested.
pub(crate) fn add_approval(conn: &Conn<'_>, change: &ChangeId, now: OffsetDateTime) -> Result<()> {
    let (seq, id) = conn.next_id("change_approval", "APR")?;
    let approval = Approval {
        id: id.clone(),
        approver: Some(Person::named(CHANGE_MANAGER)),
        state: ApprovalState::Requested,
        comment: None,
        decided_at: None,
    };
    let at = timestamp(now)?;
    conn.execute(
        "INSERT INTO change_approval (seq, id, change_id, state, created_at, updated_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
        rusqlite::params![
            seq,
            id,
            change.as_str(),
            approval_text(approval.state),
            at,
            encode("approval", &id, &approval)?,
        ],
    )?;
    Ok(())
}

/// The approval rows of a change, oldest first.
pub(crate) fn approvals(conn: &Conn<'_>, change: &ChangeId) -> Result<Vec<Approval>> {
    let rows = conn.rows(
        "SELECT id, body FROM change_approval WHERE change_id = ?1 ORDER BY seq",
        [change.as_str()],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    rows.iter()
        .map(|(id, body)| decode(conn.path(), "approval", id, body))
        .collect()
}

/// Records a decision on every approval row still requested.
pub(crate) fn record_decision(
    conn: &Conn<'_>,
    change: &ChangeId,
    decision: &ApprovalDecision,
    now: OffsetDateTime,
) -> Result<()> {
    let state = if decision.approve {
        ApprovalState::Approved
    } else {
        ApprovalState::Rejected
    };
    let at = timestamp(now)?;
    for mut approval in approvals(conn, change)? {
        if approval.state != ApprovalState::Requested {
            continue;
        }
        approval.state = state;
        approval.approver = Some(decision.by.clone());
        approval.comment = decision.comment.clone();
        approval.decided_at = Some(now);
        conn.execute(
            "UPDATE change_approval SET state = ?2, updated_at = ?3, body = ?4 WHERE id = ?1",
            rusqlite::params![
                approval.id,
                approval_text(state),
                at,
                encode("approval", &approval.id, &approval)?,
            ],
        )?;
    }
    Ok(())
}

/// Adds a note unless one with `key` is already on the change.
pub(crate) fn add_note(
    conn: &Conn<'_>,
    change: &ChangeId,
    key: &IdempotencyKey,
    note: &str,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO change_note (change_id, key, note, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (change_id, key) DO NOTHING",
        rusqlite::params![change.as_str(), key.as_str(), note, timestamp(now)?],
    )?;
    Ok(())
}

/// The notes of a change, oldest first.
pub(crate) fn notes(conn: &Conn<'_>, change: &ChangeId) -> Result<Vec<String>> {
    conn.rows(
        "SELECT note FROM change_note WHERE change_id = ?1 ORDER BY seq",
        [change.as_str()],
        |r| r.get(0),
    )
}
