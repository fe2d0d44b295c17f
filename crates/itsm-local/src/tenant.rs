//! Tenants' alerting profiles (I9): the profile a tenant was onboarded with and every
//! tuning since, kept as versioned TOML text (the profile type lives in the incident domain).

use itsm_core::{Error, ErrorKind, Result, TenantId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::records::timestamp;
use crate::store::{Conn, LocalStore};

/// One version of a tenant's alerting profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// The tenant.
    pub tenant: TenantId,
    /// The profile's name (`default`, `payments-strict`).
    pub profile_name: String,
    /// The profile version, increasing with each change.
    pub version: u32,
    /// The profile as TOML text.
    pub toml: String,
    /// When this version was stored.
    pub updated_at: OffsetDateTime,
}

fn check(profile_name: &str, version: u32) -> Result<()> {
    if profile_name.trim().is_empty() {
        return Err(Error::invalid_input(
            "profile name must not be empty; name the alerting profile (for example `default`)",
        )
        .with_context("field", "profile_name"));
    }
    if version == 0 {
        return Err(
            Error::invalid_input("profile version must be at least 1; start at 1")
                .with_context("field", "version"),
        );
    }
    Ok(())
}

impl LocalStore {
    /// Onboards a tenant with its first (default) alerting profile.
    ///
    /// Errors: [`ErrorKind::Conflict`] when the tenant is already onboarded (tune it with
    /// [`set_tenant_profile`](LocalStore::set_tenant_profile)); [`ErrorKind::InvalidInput`]
    /// for an empty profile name or version 0.
    pub async fn onboard_tenant(
        &self,
        tenant: &TenantId,
        profile_name: &str,
        profile_toml: &str,
        version: u32,
    ) -> Result<TenantRecord> {
        check(profile_name, version)?;
        let record = TenantRecord {
            tenant: tenant.clone(),
            profile_name: profile_name.trim().to_owned(),
            version,
            toml: profile_toml.to_owned(),
            updated_at: self.now(),
        };
        self.write(move |conn| {
            if latest(conn, &record.tenant)?.is_some() {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "tenant {} is already onboarded; change its profile with set_tenant_profile",
                        record.tenant
                    ),
                )
                .with_context("tenant", &record.tenant));
            }
            insert(conn, &record)?;
            Ok(record)
        })
        .await
    }

    /// Stores a new version of an onboarded tenant's profile; earlier versions are kept
    /// ([`tenant_profile_history`](LocalStore::tenant_profile_history)).
    ///
    /// Errors: [`ErrorKind::NotFound`] for a tenant never onboarded; [`ErrorKind::Conflict`]
    /// when `version` is not greater than the current one; [`ErrorKind::InvalidInput`] for an
    /// empty profile name or version 0.
    pub async fn set_tenant_profile(
        &self,
        tenant: &TenantId,
        profile_name: &str,
        profile_toml: &str,
        version: u32,
    ) -> Result<TenantRecord> {
        check(profile_name, version)?;
        let record = TenantRecord {
            tenant: tenant.clone(),
            profile_name: profile_name.trim().to_owned(),
            version,
            toml: profile_toml.to_owned(),
            updated_at: self.now(),
        };
        self.write(move |conn| {
            let Some(current) = latest(conn, &record.tenant)? else {
                return Err(Error::not_found(format!(
                    "tenant {} is not onboarded; onboard it with onboard_tenant first",
                    record.tenant
                ))
                .with_context("tenant", &record.tenant));
            };
            if record.version <= current.version {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "tenant {} is at profile version {}; give a version above it, not {}",
                        record.tenant, current.version, record.version
                    ),
                )
                .with_context("tenant", &record.tenant));
            }
            insert(conn, &record)?;
            Ok(record)
        })
        .await
    }

    /// A tenant's current profile, `None` when it was never onboarded.
    pub async fn tenant(&self, tenant: &TenantId) -> Result<Option<TenantRecord>> {
        let tenant = tenant.clone();
        self.read(move |conn| latest(conn, &tenant)).await
    }

    /// Every version of a tenant's profile, oldest first (empty when never onboarded).
    pub async fn tenant_profile_history(&self, tenant: &TenantId) -> Result<Vec<TenantRecord>> {
        let tenant = tenant.clone();
        self.read(move |conn| {
            select(
                conn,
                "SELECT tenant, profile_name, version, toml, updated_at FROM tenant_profile \
                 WHERE tenant = ?1 ORDER BY version",
                Some(&tenant),
            )
        })
        .await
    }

    /// Every tenant's current profile, ordered by tenant id.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        self.read(|conn| {
            select(
                conn,
                "SELECT t.tenant, t.profile_name, t.version, t.toml, t.updated_at \
                 FROM tenant_profile t WHERE t.version = \
                 (SELECT MAX(version) FROM tenant_profile u WHERE u.tenant = t.tenant) \
                 ORDER BY t.tenant",
                None,
            )
        })
        .await
    }
}

fn insert(conn: &Conn<'_>, record: &TenantRecord) -> Result<()> {
    conn.execute(
        "INSERT INTO tenant_profile (tenant, version, profile_name, toml, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![
            record.tenant.as_str(),
            record.version,
            record.profile_name,
            record.toml,
            timestamp(record.updated_at)?,
        ],
    )?;
    Ok(())
}

fn latest(conn: &Conn<'_>, tenant: &TenantId) -> Result<Option<TenantRecord>> {
    Ok(select(
        conn,
        "SELECT tenant, profile_name, version, toml, updated_at FROM tenant_profile \
         WHERE tenant = ?1 ORDER BY version DESC LIMIT 1",
        Some(tenant),
    )?
    .pop())
}

fn select(conn: &Conn<'_>, sql: &str, tenant: Option<&TenantId>) -> Result<Vec<TenantRecord>> {
    let map = |r: &rusqlite::Row<'_>| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    };
    let rows = match tenant {
        Some(t) => conn.rows(sql, [t.as_str()], map)?,
        None => conn.rows(sql, [], map)?,
    };
    rows.into_iter()
        .map(|(tenant, profile_name, version, toml, updated_at)| {
            let updated_at = OffsetDateTime::parse(&updated_at, &Rfc3339).map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!(
                        "tenant {tenant} in database {} has an unreadable timestamp: {e}",
                        conn.path().display()
                    ),
                )
            })?;
            Ok(TenantRecord {
                tenant: TenantId::new(tenant)?,
                profile_name,
                version,
                toml,
                updated_at,
            })
        })
        .collect()
}
