//! Identifier newtypes.
//!
//! Every identifier is a validated, non-empty string: it is trimmed, at most
//! [`MAX_ID_LEN`] bytes long and free of control characters. Domain crates declare their
//! own identifiers with [`define_id!`](crate::define_id) so they all behave the same.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest identifier accepted, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Checks an identifier's text and returns it trimmed.
///
/// `what` names the identifier in the error ("service id").
pub fn validate_id(what: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_input(format!("{what} must not be empty")));
    }
    if trimmed.len() > MAX_ID_LEN {
        return Err(Error::invalid_input(format!(
            "{what} is {} bytes long; at most {MAX_ID_LEN} are allowed",
            trimmed.len()
        )));
    }
    if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
        return Err(Error::invalid_input(format!(
            "{what} {trimmed:?} contains the control character {c:?}; remove it"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Declares a validated string identifier newtype.
///
/// The type gets `new` (validating), `as_str`, `Display`, `FromStr`, `AsRef<str>`, and
/// serde support that validates on deserialisation.
///
/// ```
/// itsm_core::define_id!(
///     /// The id of a widget.
///     WidgetId, "widget id"
/// );
/// let id = WidgetId::new(" w-1 ").unwrap();
/// assert_eq!(id.as_str(), "w-1");
/// assert!(WidgetId::new("").is_err());
/// ```
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier (trimmed, non-empty, no control characters).
            pub fn new(value: impl AsRef<str>) -> $crate::Result<Self> {
                $crate::ids::validate_id($what, value.as_ref()).map(Self)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                Self::new(s)
            }
        }

        impl ::std::convert::TryFrom<String> for $name {
            type Error = $crate::Error;
            fn try_from(s: String) -> $crate::Result<Self> {
                Self::new(s)
            }
        }

        impl ::std::convert::From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

define_id!(
    /// A digital service, COTS application or foundational system (`checkout`, `sap-erp`).
    ServiceId, "service id"
);
define_id!(
    /// A team: an on-call product team, an operations team or a specialist team.
    TeamId, "team id"
);
define_id!(
    /// A tenant whose alerting profile is managed (I9).
    TenantId, "tenant id"
);
define_id!(
    /// A deployable version of a service (`1.4.2`, a build number, a git describe).
    Version, "version"
);
define_id!(
    /// A version-control commit id.
    CommitId, "commit id"
);
define_id!(
    /// A pipeline run (`github:org/repo/actions/runs/123`), the unit re-runs are keyed by.
    PipelineRunId, "pipeline run id"
);

define_id!(
    /// The key that makes a create idempotent.
    ///
    /// Every create in every trait takes one. A retry, a re-run or a duplicated webhook with
    /// the same key finds the existing record instead of creating a second one. Adapters
    /// store it where the vendor allows (PagerDuty dedup key, ServiceNow correlation id, a
    /// Jira issue property or label, a unique column in the local store).
    IdempotencyKey, "idempotency key"
);

impl IdempotencyKey {
    /// The key of one pipeline step: service, version, environment, pipeline run and step.
    ///
    /// ```
    /// use itsm_core::{Environment, IdempotencyKey, PipelineRunId, ServiceId, Version};
    /// let key = IdempotencyKey::for_pipeline_step(
    ///     &ServiceId::new("checkout").unwrap(),
    ///     &Version::new("1.4.2").unwrap(),
    ///     &Environment::new("production").unwrap(),
    ///     &PipelineRunId::new("gh-991").unwrap(),
    ///     "raise",
    /// );
    /// assert_eq!(key.as_str(), "checkout/1.4.2/production/gh-991/raise");
    /// ```
    pub fn for_pipeline_step(
        service: &ServiceId,
        version: &Version,
        environment: &Environment,
        run: &PipelineRunId,
        step: &str,
    ) -> Self {
        IdempotencyKey(bounded(format!(
            "{service}/{version}/{environment}/{run}/{step}"
        )))
    }
}

/// Keeps a derived key within [`MAX_ID_LEN`]: a longer one becomes its first 200 bytes
/// plus `~` and a 64-bit FNV-1a hash of the whole, so it stays unique and deterministic.
fn bounded(key: String) -> String {
    if key.len() <= MAX_ID_LEN {
        return key;
    }
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut cut = 200;
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{hash:016x}", &key[..cut])
}

/// A deployment environment (`dev`, `staging`, `production`).
///
/// Names are lower-cased. An environment is a production one when its name is `production`,
/// `prod`, `prd` or `live`, or starts with one of those followed by `-` or `_`
/// (`prod-eu`, `production_us`). Production environments are the ones that need an approved
/// change (C3) and count for DORA figures (A5).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Environment(String);

const PRODUCTION_NAMES: [&str; 4] = ["production", "prod", "prd", "live"];

impl Environment {
    /// Validates an environment name: lower-cased, letters, digits, `-`, `_` and `.` only.
    pub fn new(name: impl AsRef<str>) -> Result<Self> {
        let name = validate_id("environment", name.as_ref())?.to_lowercase();
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(Error::invalid_input(format!(
                "environment {name:?} contains {c:?}; use letters, digits, '-', '_' or '.'"
            )));
        }
        Ok(Environment(name))
    }

    /// The `production` environment.
    pub fn production() -> Self {
        Environment("production".to_owned())
    }

    /// The name, lower-cased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a production environment (see the type docs for the rule).
    pub fn is_production(&self) -> bool {
        PRODUCTION_NAMES.iter().any(|p| {
            self.0 == *p
                || self
                    .0
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with(['-', '_']))
        })
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Environment {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<Environment> for String {
    fn from(e: Environment) -> String {
        e.0
    }
}

impl std::str::FromStr for Environment {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn ids_are_trimmed_and_validated() {
        assert_eq!(ServiceId::new("  checkout ").unwrap().as_str(), "checkout");
        let err = ServiceId::new("   ").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("service id must not be empty"));
        let err = TeamId::new("a\u{7}b").unwrap_err();
        assert!(err.to_string().contains("control character"), "{err}");
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert!(
            Version::new(&long)
                .unwrap_err()
                .to_string()
                .contains("257 bytes")
        );
    }

    #[test]
    fn ids_validate_when_deserialised() {
        let ok: ServiceId = serde_json::from_str("\"billing\"").unwrap();
        assert_eq!(ok.as_str(), "billing");
        let err = serde_json::from_str::<ServiceId>("\"\"").unwrap_err();
        assert!(err.to_string().contains("must not be empty"), "{err}");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"billing\"");
    }

    #[test]
    fn long_pipeline_step_keys_stay_valid_and_distinct() {
        let long = |c: &str| c.repeat(200);
        let service = ServiceId::new(long("s")).unwrap();
        let version = Version::new("1").unwrap();
        let env = Environment::production();
        let key = |run: &str| {
            IdempotencyKey::for_pipeline_step(
                &service,
                &version,
                &env,
                &PipelineRunId::new(run).unwrap(),
                "raise",
            )
        };
        let a = key(&long("a"));
        let b = key(&long("b"));
        assert!(a.as_str().len() <= MAX_ID_LEN, "{}", a.as_str().len());
        assert_ne!(a, b);
        assert_eq!(a, key(&long("a")), "deterministic");
        // It survives a round trip through serde, which validates.
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<IdempotencyKey>(&json).unwrap(), a);
    }

    #[test]
    fn production_notion() {
        for name in [
            "production",
            "PROD",
            "prd",
            "live",
            "prod-eu",
            "production_us",
        ] {
            assert!(Environment::new(name).unwrap().is_production(), "{name}");
        }
        for name in ["staging", "dev", "preprod", "product", "prodx", "livery"] {
            assert!(!Environment::new(name).unwrap().is_production(), "{name}");
        }
        assert!(Environment::production().is_production());
        assert_eq!(Environment::new("Staging").unwrap().as_str(), "staging");
        let err = Environment::new("prod eu").unwrap_err();
        assert!(err.to_string().contains("' '"), "{err}");
    }
}
