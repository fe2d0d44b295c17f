//! The catalog as data (S1): specialist teams and their offerings in one TOML file.
//!
//! ```toml
//! [[team]]
//! id = "dba"
//! name = "Database administration"
//! pager_team = "dba-oncall"    # who the paging platform pages when the team is engaged (S5)
//!
//! [[offering]]
//! id = "dba.new-database"
//! team = "dba"
//! name = "New database"
//! description = "A PostgreSQL database with backups and monitoring"
//! response_target_minutes = 60
//! resolution_target_minutes = 480
//! automated = true
//! inputs = [
//!   { name = "database_name", type = "text", required = true },
//!   { name = "engine", type = "choice", options = ["postgres", "mariadb"], required = true },
//!   { name = "size_gb", type = "number" },
//!   { name = "replicas", type = "boolean" },
//! ]
//! ```
//!
//! [`CatalogFile::parse`] checks the whole file: every offering belongs to a team of the
//! file, ids are unique, inputs are unique per offering, choices have options and targets
//! are positive with the response target not after the resolution target. Errors are
//! [`ErrorKind::InvalidInput`](itsm_core::ErrorKind::InvalidInput) naming the team,
//! offering or input at fault.

use std::collections::BTreeSet;

use itsm_core::{Error, Result, TeamId};
use serde::{Deserialize, Serialize};

use crate::model::{InputKind, Offering};

/// A specialist team: the owner of offerings and of the queue their requests land in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialistTeam {
    /// Its id (`dba`, `network`).
    pub id: TeamId,
    /// Its name for people.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// The team the paging platform knows it as, when engaged on an incident (S5);
    /// default: `id`.
    #[serde(default)]
    pub pager_team: Option<TeamId>,
}

impl SpecialistTeam {
    /// The team to page when this team is engaged on an incident.
    pub fn paged_as(&self) -> &TeamId {
        self.pager_team.as_ref().unwrap_or(&self.id)
    }
}

/// A catalog file: teams and offerings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFile {
    /// The specialist teams.
    #[serde(default, rename = "team")]
    pub teams: Vec<SpecialistTeam>,
    /// Their offerings.
    #[serde(default, rename = "offering")]
    pub offerings: Vec<Offering>,
}

impl CatalogFile {
    /// Parses and [checks](CatalogFile::validate) catalog TOML.
    pub fn parse(text: &str) -> Result<CatalogFile> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| {
            Error::invalid_input(format!(
                "the specialist catalog is not valid: {}",
                e.to_string().trim_end()
            ))
        })?;
        file.validate()?;
        Ok(file)
    }

    /// Checks the catalog's consistency (see the module documentation).
    pub fn validate(&self) -> Result<()> {
        let mut teams = BTreeSet::new();
        for team in &self.teams {
            if !teams.insert(&team.id) {
                return Err(Error::invalid_input(format!(
                    "team {} is defined twice in the specialist catalog; keep one",
                    team.id
                )));
            }
            if team.name.trim().is_empty() {
                return Err(Error::invalid_input(format!(
                    "team {} needs a name in the specialist catalog",
                    team.id
                )));
            }
        }
        let mut offerings = BTreeSet::new();
        for offering in &self.offerings {
            if !offerings.insert(&offering.id) {
                return Err(Error::invalid_input(format!(
                    "offering {} is defined twice in the specialist catalog; keep one",
                    offering.id
                )));
            }
            if !teams.contains(&offering.team) {
                return Err(Error::invalid_input(format!(
                    "offering {} belongs to team {}, which the catalog does not define; add a \
                     [[team]] with id = \"{}\"",
                    offering.id, offering.team, offering.team
                )));
            }
            check_offering(offering)?;
        }
        Ok(())
    }

    /// The team with `id`, if the catalog defines it.
    pub fn team(&self, id: &TeamId) -> Option<&SpecialistTeam> {
        self.teams.iter().find(|t| &t.id == id)
    }
}

fn check_offering(offering: &Offering) -> Result<()> {
    let id = &offering.id;
    if offering.name.trim().is_empty() {
        return Err(Error::invalid_input(format!("offering {id} needs a name")));
    }
    if offering.response_target_minutes == 0 || offering.resolution_target_minutes == 0 {
        return Err(Error::invalid_input(format!(
            "offering {id}: response_target_minutes and resolution_target_minutes must be at \
             least 1"
        )));
    }
    if offering.response_target_minutes > offering.resolution_target_minutes {
        return Err(Error::invalid_input(format!(
            "offering {id}: the response target ({} min) is after the resolution target ({} \
             min); a first response cannot come after fulfilment",
            offering.response_target_minutes, offering.resolution_target_minutes
        )));
    }
    let mut names = BTreeSet::new();
    for input in &offering.inputs {
        if input.name.trim().is_empty() {
            return Err(Error::invalid_input(format!(
                "offering {id} has an input without a name"
            )));
        }
        if !names.insert(input.name.as_str()) {
            return Err(Error::invalid_input(format!(
                "offering {id} defines input {:?} twice",
                input.name
            )));
        }
        if let InputKind::Choice { options } = &input.kind
            && options.is_empty()
        {
            return Err(Error::invalid_input(format!(
                "input {:?} of offering {id} is a choice without options; list them",
                input.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use itsm_core::ErrorKind;

    const GOOD: &str = r#"
        [[team]]
        id = "dba"
        name = "Database administration"
        pager_team = "dba-oncall"
        unknown_field = "ignored"

        [[team]]
        id = "network"
        name = "Networking"

        [[offering]]
        id = "dba.new-database"
        team = "dba"
        name = "New database"
        response_target_minutes = 60
        resolution_target_minutes = 480
        automated = true
        inputs = [
          { name = "database_name", type = "text", required = true },
          { name = "engine", type = "choice", options = ["postgres", "mariadb"], required = true },
          { name = "size_gb", type = "number" },
        ]

        [[offering]]
        id = "network.firewall-rule"
        team = "network"
        name = "Firewall rule"
        response_target_minutes = 30
        resolution_target_minutes = 1440
        inputs = [{ name = "port", type = "number", required = true }]
    "#;

    #[test]
    fn a_catalog_file_parses_into_teams_and_offerings() {
        let file = CatalogFile::parse(GOOD).unwrap();
        assert_eq!(file.teams.len(), 2);
        assert_eq!(file.offerings.len(), 2);
        let dba = file.team(&TeamId::new("dba").unwrap()).unwrap();
        assert_eq!(dba.paged_as().as_str(), "dba-oncall");
        let net = file.team(&TeamId::new("network").unwrap()).unwrap();
        assert_eq!(net.paged_as().as_str(), "network");
        let db = &file.offerings[0];
        assert!(db.automated);
        assert_eq!(db.inputs.len(), 3);
        assert_eq!(
            db.inputs[1].kind,
            InputKind::Choice {
                options: vec!["postgres".into(), "mariadb".into()]
            }
        );
        assert!(!db.inputs[2].required);
        assert!(!file.offerings[1].automated);
    }

    fn error_of(text: &str) -> String {
        let e = CatalogFile::parse(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        e.to_string()
    }

    #[test]
    fn inconsistent_catalogs_name_what_is_wrong() {
        let orphan = GOOD.replace("team = \"network\"", "team = \"storage\"");
        assert!(error_of(&orphan).contains("team storage"));
        let twice = format!("{GOOD}\n[[team]]\nid = \"dba\"\nname = \"again\"\n");
        assert!(error_of(&twice).contains("team dba is defined twice"));
        let late = GOOD.replace(
            "response_target_minutes = 30",
            "response_target_minutes = 9999",
        );
        assert!(error_of(&late).contains("network.firewall-rule"));
        let zero = GOOD.replace(
            "resolution_target_minutes = 480",
            "resolution_target_minutes = 0",
        );
        assert!(error_of(&zero).contains("at least 1"));
        let empty = GOOD.replace("options = [\"postgres\", \"mariadb\"]", "options = []");
        assert!(error_of(&empty).contains("\"engine\""));
        let dup = GOOD.replace("\"size_gb\"", "\"engine\"");
        assert!(error_of(&dup).contains("input \"engine\" twice"));
        let bad_type = GOOD.replace("type = \"number\" }", "type = \"date\" }");
        assert!(error_of(&bad_type).contains("not valid"));
    }
}
