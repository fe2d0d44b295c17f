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
ITSM_CHANGE_WINDOW_HOURS, ITSM_SERVE_TOKEN (bearer token `itsm serve` requires),
ITSM_SERVE_LISTEN.";

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
    /// Record deployments in the audit ledger; link incidents to them.
    #[command(subcommand, after_help = EXIT_CODES)]
    Deploy(DeployCommand),
    /// Which version of every service runs in every environment, now or at a past instant.
    #[command(after_help = EXIT_CODES)]
    Inventory {
        /// The instant (RFC 3339 or YYYY-MM-DD) [default: now].
        #[arg(long)]
        at: Option<String>,
    },
    /// The commits between two deployed versions of a service, classified by what they touch.
    #[command(after_help = EXIT_CODES)]
    Trace {
        /// The service.
        #[arg(long)]
        service: String,
        /// The older deployed version.
        #[arg(long)]
        from: String,
        /// The newer deployed version.
        #[arg(long)]
        to: String,
        /// The git repository [default: `repo` in the trace settings, or the current directory].
        #[arg(long)]
        repo: Option<PathBuf>,
    },
    /// DORA figures: deployment frequency, lead time, change failure rate, time to restore.
    #[command(after_help = EXIT_CODES)]
    Dora {
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Start of the period (RFC 3339 or YYYY-MM-DD) [default: 30 days before --until].
        #[arg(long)]
        since: Option<String>,
        /// End of the period, exclusive [default: now].
        #[arg(long)]
        until: Option<String>,
        /// List the records behind every figure.
        #[arg(long)]
        explain: bool,
    },
    /// The audit ledger: reports for change managers, chain verification.
    #[command(subcommand, after_help = EXIT_CODES)]
    Audit(AuditCommand),
    /// Specialists as a service: the catalog, requests, their lifecycle, response figures.
    #[command(subcommand, after_help = EXIT_CODES)]
    Specialist(crate::commands::specialist::args::SpecialistCommand),
    /// Incidents: list, show, acknowledge, reassign, note, resolve, declare major, engage
    /// specialists.
    #[command(subcommand, after_help = EXIT_CODES)]
    Incident(crate::commands::incident::args::IncidentCommand),
    /// Tenants and their alerting profiles: onboard, show, tune.
    #[command(subcommand, after_help = EXIT_CODES)]
    Tenant(TenantCommand),
    /// Who is on call, per team, and which teams have nobody.
    #[command(subcommand, after_help = EXIT_CODES)]
    Oncall(OncallCommand),
    /// Run the whole change path on a fresh embedded store in a temporary directory.
    #[command(after_help = EXIT_CODES)]
    Demo,
    /// The alert bridge: receive Alertmanager and generic alerts over HTTP, queue them
    /// durably, process them in the background (stops on SIGTERM / Ctrl-C).
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
}

/// `itsm serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on [default: `[serve] listen`, or 127.0.0.1:9095]; port 0 picks a
    /// free port (the address is printed).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// The alert queue's SQLite file [default: `[serve] queue_db`, or alert-queue.db next to
    /// the database].
    #[arg(long, value_name = "FILE")]
    pub(crate) queue_db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub(crate) enum DeployCommand {
    /// Record one deployment (flags, or a JSON document with --json).
    #[command(after_help = EXIT_CODES)]
    Record(RecordArgs),
    /// Record that an incident names a deployment as its cause (for DORA figures).
    #[command(after_help = EXIT_CODES)]
    LinkIncident {
        /// The incident, as SYSTEM:ID (`servicenow:INC0010001`).
        #[arg(long)]
        incident: String,
        /// The key of the deployment record (shown by `itsm deploy record`).
        #[arg(long)]
        deployment: String,
        /// When the incident was opened.
        #[arg(long)]
        opened: String,
        /// When it was resolved.
        #[arg(long)]
        resolved: Option<String>,
    },
}

/// `itsm deploy record`.
#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// Read the deployment as JSON from FILE (`-` for standard input) instead of flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "service", "version", "environment", "started", "finished", "deployer", "outcome",
        "commit", "artifact_digest", "run", "run_url", "first_commit_at", "change"
    ])]
    pub(crate) json: Option<String>,
    /// The service deployed.
    #[arg(long, required_unless_present = "json")]
    pub(crate) service: Option<String>,
    /// The version deployed.
    #[arg(long, required_unless_present = "json")]
    pub(crate) version: Option<String>,
    /// Where.
    #[arg(long = "env", required_unless_present = "json")]
    pub(crate) environment: Option<String>,
    /// When the deployment started (RFC 3339).
    #[arg(long, required_unless_present = "json")]
    pub(crate) started: Option<String>,
    /// When it finished (RFC 3339).
    #[arg(long, required_unless_present = "json")]
    pub(crate) finished: Option<String>,
    /// Who (or which automation) deployed.
    #[arg(long, required_unless_present = "json")]
    pub(crate) deployer: Option<String>,
    /// How it ended.
    #[arg(long, value_enum, required_unless_present = "json")]
    pub(crate) outcome: Option<Outcome>,
    /// The commit deployed.
    #[arg(long, required_unless_present = "json")]
    pub(crate) commit: Option<String>,
    /// The artifact's digest (`sha256:...`).
    #[arg(long, required_unless_present = "json")]
    pub(crate) artifact_digest: Option<String>,
    /// The pipeline run.
    #[arg(long, env = "ITSM_PIPELINE_RUN", required_unless_present = "json")]
    pub(crate) run: Option<String>,
    /// Where the pipeline run can be seen.
    #[arg(long)]
    pub(crate) run_url: Option<String>,
    /// When the first commit shipped by this deployment was made (for lead time).
    #[arg(long)]
    pub(crate) first_commit_at: Option<String>,
    /// The change it ran under [default: for production, the approved change for this
    /// service, version and environment in the local store, if any].
    #[arg(long)]
    pub(crate) change: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// A report for change managers: Markdown, JSON, CSV or a self-contained HTML page.
    #[command(after_help = EXIT_CODES)]
    Report {
        /// Start of the period (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        since: String,
        /// End of the period, exclusive.
        #[arg(long)]
        until: String,
        /// md, json, csv or html.
        #[arg(long, default_value = "md")]
        format: String,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check the whole hash chain; names the first record changed, removed or reordered.
    #[command(after_help = EXIT_CODES)]
    Verify,
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
        /// The deployed artifact's digest: with it, the deployment is also recorded in the
        /// audit ledger (the last --commit is the deployed commit).
        #[arg(long)]
        artifact_digest: Option<String>,
        /// When the first commit shipped was made (for lead time in the ledger).
        #[arg(long)]
        first_commit_at: Option<String>,
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
    #[value(alias = "succeeded")]
    Success,
    /// Failed or rolled back.
    #[value(alias = "failed")]
    Failure,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Onboard a tenant with an alerting profile (stored as version 1).
    #[command(after_help = EXIT_CODES)]
    Onboard {
        /// The tenant id.
        tenant: String,
        /// A TOML alerting profile [default: `[incident] default_profile`, or the built-in
        /// profile].
        #[arg(long, value_name = "FILE")]
        profile: Option<PathBuf>,
    },
    /// Show a tenant's current profile (and with --history, every version).
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The tenant id.
        tenant: String,
        /// List every version, oldest first.
        #[arg(long)]
        history: bool,
    },
    /// Store a new version of a tenant's profile and print what changed.
    #[command(after_help = EXIT_CODES)]
    SetProfile {
        /// The tenant id.
        tenant: String,
        /// The TOML alerting profile.
        #[arg(long, value_name = "FILE")]
        profile: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OncallCommand {
    /// Who is on call per team (level 1, the incident manager at level 2), and the teams
    /// with nobody on call, with their runbook contact.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
        /// The instant (RFC 3339 or YYYY-MM-DD) [default: now].
        #[arg(long)]
        at: Option<String>,
    },
}
