//! The flags of `itsm specialist ...`.

use clap::{Args, Subcommand, ValueEnum};
use itsm_specialist::{RequestState, Urgency};

use crate::cli::EXIT_CODES;

#[derive(Debug, Subcommand)]
pub(crate) enum SpecialistCommand {
    /// The specialist teams and their offerings, with the inputs each needs.
    #[command(after_help = EXIT_CODES)]
    Catalog {
        /// Only this team's offerings.
        #[arg(long)]
        team: Option<String>,
    },
    /// Submit a request; an automated offering with a configured fulfiller is fulfilled at
    /// once, a failed automation leaves the request in the team's queue.
    #[command(after_help = EXIT_CODES)]
    Request(RequestArgs),
    /// Show one request with its transitions and comments.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The request id (REQ…).
        id: String,
    },
    /// A team's queue, or a requesting team's requests, oldest first.
    #[command(after_help = EXIT_CODES)]
    Queue {
        /// Only this specialist team's queue.
        #[arg(long)]
        team: Option<String>,
        /// Only requests from this team.
        #[arg(long)]
        requester: Option<String>,
        /// Only these states (repeat, or comma-separated) [default: the open ones].
        #[arg(long = "state", value_enum, value_delimiter = ',')]
        states: Vec<StateArg>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Comment on a request.
    #[command(after_help = EXIT_CODES)]
    Comment {
        /// The request id (REQ…).
        id: String,
        /// Who writes.
        #[arg(long)]
        by: String,
        /// The comment.
        #[arg(long)]
        text: String,
        /// Idempotency key: the same key twice comments once [default: a new one].
        #[arg(long)]
        key: Option<String>,
    },
    /// First response: the specialist team has looked at the request.
    #[command(after_help = EXIT_CODES)]
    Triage(Move),
    /// Work on the request has started (again, after waiting on the requester).
    #[command(after_help = EXIT_CODES)]
    Start(Move),
    /// The request is waiting for the requester.
    #[command(after_help = EXIT_CODES)]
    Wait(Move),
    /// Fulfil the request (or, with --automate, run its configured fulfiller again).
    #[command(after_help = EXIT_CODES)]
    Fulfil {
        #[command(flatten)]
        change: Move,
        /// Run the offering's configured fulfiller instead of marking it fulfilled by hand.
        #[arg(long)]
        automate: bool,
    },
    /// Refuse the request (--note says why).
    #[command(after_help = EXIT_CODES)]
    Reject(Move),
    /// Withdraw the request.
    #[command(after_help = EXIT_CODES)]
    Cancel(Move),
    /// Demand and response-time figures per offering and per requesting team.
    #[command(after_help = EXIT_CODES)]
    Stats {
        /// Only requests submitted at or after this instant (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Only requests submitted before this instant.
        #[arg(long)]
        until: Option<String>,
        /// List the requests behind every figure.
        #[arg(long)]
        explain: bool,
    },
}

/// `itsm specialist request`.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The offering (see `itsm specialist catalog`).
    #[arg(long)]
    pub(crate) offering: String,
    /// The requesting team.
    #[arg(long)]
    pub(crate) requester: String,
    /// An input as NAME=VALUE (repeat for each).
    #[arg(long = "input", value_name = "NAME=VALUE")]
    pub(crate) inputs: Vec<String>,
    /// Read inputs as a JSON object from FILE (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub(crate) inputs_json: Option<String>,
    /// How urgent.
    #[arg(long, value_enum, default_value_t = UrgencyArg::Medium)]
    pub(crate) urgency: UrgencyArg,
    /// Who submits.
    #[arg(long)]
    pub(crate) by: Option<String>,
    /// Idempotency key: submitting again with it returns the first request [default: a new
    /// one].
    #[arg(long)]
    pub(crate) key: Option<String>,
}

/// A lifecycle move.
#[derive(Debug, Args)]
pub(crate) struct Move {
    /// The request id (REQ…).
    pub(crate) id: String,
    /// Who moves it.
    #[arg(long)]
    pub(crate) by: String,
    /// Why, or what was done.
    #[arg(long)]
    pub(crate) note: Option<String>,
}

/// Urgency flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UrgencyArg {
    /// Blocking production.
    High,
    /// Needed soon.
    Medium,
    /// Whenever.
    Low,
}

impl From<UrgencyArg> for Urgency {
    fn from(u: UrgencyArg) -> Urgency {
        match u {
            UrgencyArg::High => Urgency::High,
            UrgencyArg::Medium => Urgency::Medium,
            UrgencyArg::Low => Urgency::Low,
        }
    }
}

/// State flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StateArg {
    /// Not looked at yet.
    Submitted,
    /// Looked at.
    Triaged,
    /// Being worked.
    InProgress,
    /// Waiting for the requester.
    WaitingOnRequester,
    /// Done.
    Fulfilled,
    /// Refused.
    Rejected,
    /// Withdrawn.
    Cancelled,
}

impl From<StateArg> for RequestState {
    fn from(s: StateArg) -> RequestState {
        match s {
            StateArg::Submitted => RequestState::Submitted,
            StateArg::Triaged => RequestState::Triaged,
            StateArg::InProgress => RequestState::InProgress,
            StateArg::WaitingOnRequester => RequestState::WaitingOnRequester,
            StateArg::Fulfilled => RequestState::Fulfilled,
            StateArg::Rejected => RequestState::Rejected,
            StateArg::Cancelled => RequestState::Cancelled,
        }
    }
}
