//! `[specialist]` in `itsm.toml`: the catalog file and the fulfiller command of each
//! automated offering.
//!
//! ```toml
//! [specialist]
//! catalog = "examples/specialists/catalog.toml"   # relative to the current directory
//! timeout_seconds = 60                             # default for every fulfiller
//!
//! [specialist.fulfiller."network.dns-record"]
//! command = ["examples/specialists/fulfil-dns-record.sh"]
//! timeout_seconds = 30
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use itsm_core::{Error, ErrorKind, Result};
use serde::Deserialize;

/// `[specialist]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpecialistConfig {
    /// The catalog file (teams and offerings); loaded into the store by every
    /// `itsm specialist` command.
    #[serde(default)]
    pub(crate) catalog: Option<PathBuf>,
    /// How long a fulfiller may run, unless its own `timeout_seconds` says otherwise.
    #[serde(default = "default_timeout")]
    pub(crate) timeout_seconds: u64,
    /// The command of each automated offering, by offering id.
    #[serde(default, rename = "fulfiller")]
    pub(crate) fulfillers: BTreeMap<String, FulfillerConfig>,
}

impl Default for SpecialistConfig {
    fn default() -> Self {
        SpecialistConfig {
            catalog: None,
            timeout_seconds: default_timeout(),
            fulfillers: BTreeMap::new(),
        }
    }
}

/// `[specialist.fulfiller."<offering>"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FulfillerConfig {
    /// The program and its arguments; it gets the request as JSON on standard input.
    pub(crate) command: Vec<String>,
    /// How long it may run.
    #[serde(default)]
    pub(crate) timeout_seconds: Option<u64>,
}

fn default_timeout() -> u64 {
    60
}

impl SpecialistConfig {
    /// Checks the section.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.timeout_seconds == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "[specialist] timeout_seconds must be at least 1",
            ));
        }
        for (offering, f) in &self.fulfillers {
            if f.command.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "[specialist.fulfiller.\"{offering}\"] command must name a program, \
                         e.g. command = [\"./create-database.sh\"]"
                    ),
                ));
            }
            if f.timeout_seconds == Some(0) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "[specialist.fulfiller.\"{offering}\"] timeout_seconds must be at least 1"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The timeout of `offering`'s fulfiller.
    pub(crate) fn timeout(&self, f: &FulfillerConfig) -> Duration {
        Duration::from_secs(f.timeout_seconds.unwrap_or(self.timeout_seconds))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_section_parses_and_is_checked() {
        let config = Config::parse(
            r#"
            [specialist]
            catalog = "catalog.toml"
            timeout_seconds = 5
            [specialist.fulfiller."dba.new-database"]
            command = ["./create.sh", "--fast"]
            [specialist.fulfiller."network.dns-record"]
            command = ["./dns.sh"]
            timeout_seconds = 2
            "#,
        )
        .unwrap();
        let s = &config.specialist;
        assert_eq!(s.fulfillers.len(), 2);
        let db = &s.fulfillers["dba.new-database"];
        assert_eq!(db.command, ["./create.sh", "--fast"]);
        assert_eq!(s.timeout(db).as_secs(), 5);
        assert_eq!(s.timeout(&s.fulfillers["network.dns-record"]).as_secs(), 2);
        s.validate().unwrap();

        let empty = Config::parse("[specialist.fulfiller.x]\ncommand = []\n").unwrap();
        let err = empty.specialist.validate().unwrap_err();
        assert!(err.message().contains("fulfiller.\"x\""), "{err}");
        let err = Config::parse("[specialist]\ncatalogue = \"x\"\n").unwrap_err();
        assert!(err.message().contains("catalogue"), "{err}");
    }
}
