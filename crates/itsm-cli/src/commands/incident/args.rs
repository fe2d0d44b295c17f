//! The flags of `itsm incident ...`.

use clap::{Subcommand, ValueEnum};
use itsm_incident::{IncidentState, ServiceKind};

use crate::cli::EXIT_CODES;

#[derive(Debug, Subcommand)]
pub(crate) enum IncidentCommand {
    /// List incidents, newest first.
    #[command(after_help = EXIT_CODES)]
    List {
        /// Only incidents assigned to this service.
        #[arg(long)]
        service: Option<String>,
        /// Only these states (repeat, or comma-separated) [default: any].
        #[arg(long = "state", value_enum, value_delimiter = ',')]
        states: Vec<StateArg>,
        /// Only major incidents.
        #[arg(long)]
        major: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one incident: its page and the page's status, notes, links and responders.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The incident id (INC…).
        id: String,
    },
    /// Acknowledge the incident and its page.
    #[command(after_help = EXIT_CODES)]
    Ack {
        /// The incident id (INC…).
        id: String,
        /// Who acknowledges.
        #[arg(long)]
        by: Option<String>,
    },
    /// Reassign the incident to a service (and its page to the team).
    #[command(after_help = EXIT_CODES)]
    Reassign {
        /// The incident id (INC…).
        id: String,
        /// The digital service, COTS application or foundational system.
        #[arg(long)]
        service: String,
        /// What kind of thing the service is.
        #[arg(long, value_enum, default_value_t = KindArg::DigitalService)]
        kind: KindArg,
        /// The team that should work it [default: the service's owner].
        #[arg(long)]
        team: Option<String>,
    },
    /// Declare a major incident: notify the incident manager, engage the on-call product
    /// teams, list the teams without out-of-hours cover with their runbook contact.
    #[command(after_help = EXIT_CODES)]
    Major {
        /// The incident id (INC…).
        id: String,
        /// Who declares it.
        #[arg(long)]
        by: String,
        /// What the teams are told.
        #[arg(long)]
        message: String,
    },
    /// Add an in-progress note to the incident and its page.
    #[command(after_help = EXIT_CODES)]
    Note {
        /// The incident id (INC…).
        id: String,
        /// The note.
        #[arg(long)]
        text: String,
        /// Who writes.
        #[arg(long)]
        by: Option<String>,
        /// Idempotency key: the same key twice notes once [default: derived from the
        /// incident and the text, so a re-run does not add the note twice].
        #[arg(long)]
        key: Option<String>,
    },
    /// Resolve the incident and its page.
    #[command(after_help = EXIT_CODES)]
    Resolve {
        /// The incident id (INC…).
        id: String,
        /// The close code.
        #[arg(long)]
        code: String,
        /// What was done.
        #[arg(long)]
        notes: String,
        /// Who resolves it.
        #[arg(long)]
        by: Option<String>,
    },
    /// Engage a specialist team as responders on the incident's page (S5).
    #[command(after_help = EXIT_CODES)]
    Engage {
        /// The incident id (INC…).
        id: String,
        /// The specialist team (from the `[specialist] catalog`, else a `[[team]]`).
        #[arg(long)]
        team: String,
        /// What the team is needed for.
        #[arg(long)]
        message: String,
        /// Who asks (the incident commander).
        #[arg(long)]
        by: String,
        /// The specialist request opened for the incident (REQ…), linked to it.
        #[arg(long)]
        request: Option<String>,
    },
}

/// Incident states as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StateArg {
    /// Opened, nobody has taken it yet.
    New,
    /// Acknowledged.
    Acknowledged,
    /// Being worked on.
    InProgress,
    /// Waiting on someone else.
    OnHold,
    /// Service restored.
    Resolved,
    /// Closed after resolution.
    Closed,
}

impl From<StateArg> for IncidentState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::New => IncidentState::New,
            StateArg::Acknowledged => IncidentState::Acknowledged,
            StateArg::InProgress => IncidentState::InProgress,
            StateArg::OnHold => IncidentState::OnHold,
            StateArg::Resolved => IncidentState::Resolved,
            StateArg::Closed => IncidentState::Closed,
        }
    }
}

/// Service kinds as flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KindArg {
    /// A digital service run by an on-call product team.
    DigitalService,
    /// A commercial off-the-shelf application run by operations.
    Cots,
    /// A foundational system run by operations.
    Foundational,
}

impl From<KindArg> for ServiceKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::DigitalService => ServiceKind::DigitalService,
            KindArg::Cots => ServiceKind::Cots,
            KindArg::Foundational => ServiceKind::Foundational,
        }
    }
}
