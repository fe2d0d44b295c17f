//! Deployment records and the incident links DORA figures are computed from.

use std::fmt;

use itsm_core::{
    CommitId, Environment, Error, ExternalRef, IdempotencyKey, Person, PipelineRunId, ServiceId,
    Version,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How a deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Deployed and healthy.
    Succeeded,
    /// Failed or rolled back.
    Failed,
}

/// A SHA-256 hash linking a ledger record to its predecessor, shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordHash(pub [u8; 32]);

impl RecordHash {
    /// The hash the first record of a ledger points back to (all zeros).
    pub const GENESIS: RecordHash = RecordHash([0; 32]);

    /// Parses 64 hex digits.
    pub fn from_hex(hex: &str) -> itsm_core::Result<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(Error::invalid_input(format!(
                "a record hash has 64 hex digits; got {} characters",
                bytes.len()
            )));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let digit = |b: u8| match b {
                b'0'..=b'9' => Ok(b - b'0'),
                b'a'..=b'f' => Ok(b - b'a' + 10),
                b'A'..=b'F' => Ok(b - b'A' + 10),
                _ => Err(Error::invalid_input(format!(
                    "a record hash has only hex digits; found {:?}",
                    b as char
                ))),
            };
            out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Ok(RecordHash(out))
    }
}

impl fmt::Display for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordHash({self})")
    }
}

impl TryFrom<String> for RecordHash {
    type Error = Error;
    fn try_from(s: String) -> itsm_core::Result<Self> {
        Self::from_hex(&s)
    }
}

impl From<RecordHash> for String {
    fn from(h: RecordHash) -> String {
        h.to_string()
    }
}

/// What a pipeline records about one deployment (A1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeployment {
    /// The service deployed.
    pub service: ServiceId,
    /// The version deployed.
    pub version: Version,
    /// Where.
    pub environment: Environment,
    /// When the deployment started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it finished (not before `started_at`).
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// Who (or which automation) deployed.
    pub deployer: Person,
    /// How it ended.
    pub outcome: Outcome,
    /// The commit deployed.
    pub commit: CommitId,
    /// The artifact's digest (`sha256:...`).
    pub artifact_digest: String,
    /// The pipeline run.
    pub pipeline_run: PipelineRunId,
    /// Where a person can see the pipeline run.
    #[serde(default)]
    pub pipeline_url: Option<itsm_core::url::Url>,
    /// When the first commit shipped by this deployment was made (for lead time, A5);
    /// `None` leaves the deployment out of lead-time figures.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub first_commit_at: Option<OffsetDateTime>,
    /// For production: the change it was deployed under, as it stood at deployment time.
    #[serde(default)]
    pub change: Option<ChangeEvidence>,
}

impl NewDeployment {
    /// Checks what the types cannot: the deployment does not finish before it starts.
    pub fn validate(&self) -> itsm_core::Result<()> {
        if self.finished_at < self.started_at {
            return Err(Error::invalid_input(format!(
                "deployment of {} {} finishes ({}) before it starts ({}); fix the timestamps",
                self.service,
                self.version,
                itsm_core::format_instant(self.finished_at),
                itsm_core::format_instant(self.started_at)
            )));
        }
        if self.artifact_digest.trim().is_empty() {
            return Err(Error::invalid_input(
                "artifact digest must not be empty; pass the digest of the deployed artifact",
            ));
        }
        Ok(())
    }
}

/// What the ledger keeps of the change a production deployment ran under, so that
/// compliance (A4) can be checked from the ledger alone, offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvidence {
    /// The change in its system.
    pub reference: ExternalRef,
    /// Whether the change was approved when the deployment ran.
    pub approved: bool,
    /// The version the change was raised for.
    pub version: Version,
    /// The change's planned window start, when it had one.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub window_start: Option<OffsetDateTime>,
    /// The change's planned window end, when it had one.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub window_end: Option<OffsetDateTime>,
}

/// A deployment record in the ledger: what was recorded, plus its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    /// Position in the ledger, from 1, without gaps.
    pub seq: u64,
    /// The key it was appended with.
    pub key: IdempotencyKey,
    /// What was recorded.
    #[serde(flatten)]
    pub deployment: NewDeployment,
    /// When the ledger accepted it.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// The previous record's hash ([`RecordHash::GENESIS`] for the first).
    pub prev_hash: RecordHash,
    /// This record's hash (over its content and `prev_hash`).
    pub hash: RecordHash,
}

/// Which deployments to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentFilter {
    /// Only this service.
    pub service: Option<ServiceId>,
    /// Only this environment.
    pub environment: Option<Environment>,
    /// Only production environments.
    #[serde(default)]
    pub production_only: bool,
    /// Finished at or after.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Finished before.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

/// An incident that names a deployment as its cause (A5: linked by explicit reference,
/// never by time window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentLink {
    /// The incident in its system.
    pub incident: ExternalRef,
    /// The key of the deployment record the incident names as its cause.
    pub deployment: IdempotencyKey,
    /// When the incident was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// When it was resolved, once resolved.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trips_through_hex() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let h = RecordHash(bytes);
        let hex = h.to_string();
        assert_eq!(hex.len(), 64);
        assert!(hex.starts_with("ab00"));
        assert_eq!(RecordHash::from_hex(&hex).unwrap(), h);
        assert_eq!(RecordHash::from_hex(&hex.to_uppercase()).unwrap(), h);
        assert!(
            RecordHash::from_hex("abc")
                .unwrap_err()
                .to_string()
                .contains("64 hex digits")
        );
        let bad = format!("zz{}", &hex[2..]);
        assert!(
            RecordHash::from_hex(&bad)
                .unwrap_err()
                .to_string()
                .contains("'z'")
        );
    }
}
