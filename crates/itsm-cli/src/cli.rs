//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success / allowed
  1  error
  2  usage error (bad flags or input, malformed configuration)
  3  denied by policy (no approved change, freeze window, rejected)
  4  the backend could not be reached or gave an unusable answer (gates fail closed with 4)

Environment: ITSM_CONFIG (config file), ITSM_DB (database file), ITSM_OUTPUT (text|json),
ITSM_BACKEND, ITSM_POLICY_MAX_FAILED_DEPLOYMENTS, ITSM_POLICY_LOOKBACK_DAYS,
ITSM_CHANGE_WINDOW_HOURS.";

/// Connects deployment pipelines and alerting to change, incident, audit and specialist
/// processes.
#[derive(Debug, Parser)]
#[command(name = "itsm", version, about, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Configuration file [default: ./itsm.toml when present].
    #[arg(long, global = true, env = "ITSM_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Database file of the embedded store [default: ~/.local/share/itsm/itsm.db].
    #[arg(long, global = true, env = "ITSM_DB", value_name = "FILE")]
    pub(crate) db: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, env = "ITSM_OUTPUT", value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// For people.
    Text,
    /// For programs: one JSON document on stdout.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Pre-approved (standard) change templates.
    #[command(subcommand, after_help = EXIT_CODES)]
    Template(TemplateCommand),
    /// Change requests: raise, gate, close, approve, reject, emergency.
    #[command(subcommand, after_help = EXIT_CODES)]
    Change(ChangeCommand),
    /// Run the whole change path on a fresh embedded store in a temporary directory.
    #[command(after_help = EXIT_CODES)]
    Demo,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub(crate) enum TemplateCommand {
    /// Create a pre-approved change template for a digital service.
    #[command(after_help = EXIT_CODES)]
    Create(TemplateCreate),
    /// List templates.
    #[command(after_help = EXIT_CODES)]
    List {
        /// Only this service's templates.
        #[arg(long)]
        service: Option<String>,
    },
    /// Show one template.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The template id (TPL…).
        id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TemplateCreate {
    /// The service the template covers.
    #[arg(long)]
    pub(crate) service: String,
    /// Short name.
    #[arg(long)]
    pub(crate) name: String,
    /// What changes made from it do.
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    /// Environments it allows (repeat, or comma-separated).
    #[arg(long = "env", required = true, value_delimiter = ',')]
    pub(crate) environments: Vec<String>,
    /// How the change is implemented.
    #[arg(long, default_value = "Automated deployment by the pipeline")]
    pub(crate) implementation_plan: String,
    /// How it is backed out.
    #[arg(long, default_value = "Redeploy the previous version")]
    pub(crate) backout_plan: String,
    /// How it is tested.
    #[arg(long, default_value = "Automated tests in the pipeline")]
    pub(crate) test_plan: String,
    /// The product manager who owns it.
    #[arg(long)]
    pub(crate) owner: String,
    /// Who approved it.
    #[arg(long)]
    pub(crate) approved_by: Option<String>,
    /// Review / expiry date (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub(crate) expires: Option<String>,
}

/// The deployment a pipeline step is about.
#[derive(Debug, Args)]
pub(crate) struct DeploymentArgs {
    /// The service deployed.
    #[arg(long)]
    pub(crate) service: String,
    /// The version deployed.
    #[arg(long)]
    pub(crate) version: String,
    /// The target environment.
    #[arg(long = "env")]
    pub(crate) environment: String,
    /// The pipeline run id (re-running with the same id never creates a second change).
    #[arg(long, env = "ITSM_PIPELINE_RUN")]
    pub(crate) run: String,
    /// Commits shipped (repeat, or comma-separated).
    #[arg(long = "commit", value_delimiter = ',')]
    pub(crate) commits: Vec<String>,
    /// Who deploys.
    #[arg(long)]
    pub(crate) requested_by: Option<String>,
    /// Where the pipeline run can be seen.
    #[arg(long)]
    pub(crate) run_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ChangeCommand {
    /// After the last pre-production step: raise a standard or normal change.
    #[command(after_help = EXIT_CODES)]
    Raise {
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Use this template (it must belong to the service and allow the environment).
        #[arg(long)]
        template: Option<String>,
        /// Show what would be decided; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Before production: exit 0 when an approved change allows the deployment, 3 when
    /// policy denies it, 4 when it cannot be verified.
    #[command(after_help = EXIT_CODES)]
    Gate {
        /// The service deployed.
        #[arg(long)]
        service: String,
        /// The version deployed.
        #[arg(long)]
        version: String,
        /// The target environment.
        #[arg(long = "env")]
        environment: String,
        /// The pipeline run id.
        #[arg(long, env = "ITSM_PIPELINE_RUN", default_value = "gate")]
        run: String,
        /// Decide without recording anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// After production: close the change with the deployment's facts.
    #[command(after_help = EXIT_CODES)]
    Close {
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// How the deployment ended.
        #[arg(long, value_enum)]
        outcome: Outcome,
        /// When it started (RFC 3339).
        #[arg(long)]
        started: Option<String>,
        /// When it finished (RFC 3339) [default: now].
        #[arg(long)]
        finished: Option<String>,
        /// More close notes.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Break-glass: raise an emergency change (possibly after the fact), flagged for audit.
    #[command(after_help = EXIT_CODES)]
    Emergency {
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Why it cannot wait.
        #[arg(long)]
        justification: String,
        /// The deployment already happened.
        #[arg(long)]
        retroactive: bool,
    },
    /// Approve a normal change (as change manager).
    #[command(after_help = EXIT_CODES)]
    Approve(Decide),
    /// Reject a normal change (as change manager).
    #[command(after_help = EXIT_CODES)]
    Reject(Decide),
    /// Show one change.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The change id (CHG…).
        id: String,
    },
    /// List changes, newest first.
    #[command(after_help = EXIT_CODES)]
    List {
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Only this version.
        #[arg(long)]
        version: Option<String>,
        /// Only this environment.
        #[arg(long = "env")]
        environment: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Args)]
pub(crate) struct Decide {
    /// The change id (CHG…).
    pub(crate) id: String,
    /// Who decides.
    #[arg(long)]
    pub(crate) by: String,
    /// Why.
    #[arg(long)]
    pub(crate) comment: Option<String>,
}

/// How a deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Outcome {
    /// Deployed and healthy.
    Success,
    /// Failed or rolled back.
    Failure,
}
