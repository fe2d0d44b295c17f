//! Change templates in the `change_template` table (blocking functions run inside a
//! [`Conn`] transaction).

use itsm_change::{ChangeTemplate, NewTemplate, TemplateFilter, TemplateId};
use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, Listing, Result};
use time::OffsetDateTime;

use crate::SYSTEM;
use crate::records::{Page, decode, encode, timestamp};
use crate::store::Conn;

/// Checks what can be checked without the database.
pub(crate) fn validate(template: &NewTemplate) -> Result<()> {
    if template.name.trim().is_empty() {
        return Err(Error::invalid_input(
            "template name must not be empty; give the template a short name",
        )
        .with_context("field", "name"));
    }
    if template.environments.is_empty() {
        return Err(Error::invalid_input(
            "template environments must not be empty; list the environments changes from it \
             may target",
        )
        .with_context("field", "environments"));
    }
    Ok(())
}

fn body_to_template(conn: &Conn<'_>, id: &str, body: &str) -> Result<ChangeTemplate> {
    decode(conn.path(), "template", id, body)
}

/// The template created with `key`.
pub(crate) fn by_key(conn: &Conn<'_>, key: &IdempotencyKey) -> Result<Option<ChangeTemplate>> {
    let row = conn.row(
        "SELECT id, body FROM change_template WHERE key = ?1",
        [key.as_str()],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    row.map(|(id, body)| body_to_template(conn, &id, &body))
        .transpose()
}

/// The template with `id`, if any.
pub(crate) fn by_id(conn: &Conn<'_>, id: &TemplateId) -> Result<Option<ChangeTemplate>> {
    let body = conn.row(
        "SELECT body FROM change_template WHERE id = ?1",
        [id.as_str()],
        |r| r.get::<_, String>(0),
    )?;
    body.map(|body| body_to_template(conn, id.as_str(), &body))
        .transpose()
}

/// The template with `id`, or [`ErrorKind::NotFound`].
pub(crate) fn get(conn: &Conn<'_>, id: &TemplateId) -> Result<ChangeTemplate> {
    by_id(conn, id)?.ok_or_else(|| {
        Error::not_found(format!(
            "template {id} does not exist in {}",
            conn.path().display()
        ))
        .with_context("template", id)
    })
}

/// Creates a template, or returns the one created with `key`.
pub(crate) fn create(
    conn: &Conn<'_>,
    key: &IdempotencyKey,
    new: &NewTemplate,
    now: OffsetDateTime,
) -> Result<ChangeTemplate> {
    if let Some(existing) = by_key(conn, key)? {
        return Ok(existing);
    }
    let (seq, id) = conn.next_id("change_template", "TPL")?;
    let template = ChangeTemplate {
        id: TemplateId::new(&id)?,
        service: new.service.clone(),
        name: new.name.trim().to_owned(),
        description: new.description.clone(),
        environments: new.environments.clone(),
        implementation_plan: new.implementation_plan.clone(),
        backout_plan: new.backout_plan.clone(),
        test_plan: new.test_plan.clone(),
        owner: new.owner.clone(),
        approved_by: new.approved_by.clone(),
        approved_at: new.approved_by.as_ref().map(|_| now),
        expires_at: new.expires_at,
        active: true,
        external: Some(ExternalRef::new(SYSTEM, &id)),
    };
    let inserted = conn.insert(
        "INSERT INTO change_template (seq, id, key, service, active, created_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![
            seq,
            id,
            key.as_str(),
            template.service.as_str(),
            template.active,
            timestamp(now)?,
            encode("template", &id, &template)?,
        ],
    )?;
    if inserted {
        return Ok(template);
    }
    // Another writer got there first (the write lock makes this unlikely): theirs wins.
    by_key(conn, key)?.ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!(
                "template {id} could not be inserted into {} and no template has key {key}",
                conn.path().display()
            ),
        )
    })
}

/// A page of templates matching `filter`, oldest first.
pub(crate) fn list(
    conn: &Conn<'_>,
    filter: &TemplateFilter,
    page: Page,
) -> Result<Listing<ChangeTemplate>> {
    let rows = conn.rows(
        "SELECT id, body FROM change_template \
         WHERE (?1 IS NULL OR service = ?1) AND (?2 = 0 OR active = 1) \
         ORDER BY seq LIMIT ?3 OFFSET ?4",
        rusqlite::params![
            filter.service.as_ref().map(|s| s.as_str()),
            filter.active_only,
            page.sql_limit(),
            page.sql_offset(),
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let items = rows
        .iter()
        .map(|(id, body)| body_to_template(conn, id, body))
        .collect::<Result<Vec<_>>>()?;
    Ok(page.finish(items))
}
