//! The deploy bot as a program, on one machine with no network: the embedded store
//! (changes, the change manager's notifications, change events, the step log) and the
//! SQLite audit ledger share one database file in a data directory.
//!
//! It raises the change for `checkout 1.4.2` in production, approves it as the change
//! manager (a simulated human step), then runs the bot for the deployment and prints each
//! step and the ledger record. Run it again with the same `--data-dir` and `--run` to see a
//! re-run repeat nothing.
//!
//! Exit codes: 0 deployed, 1 the deployment failed (recorded as failed) or an error,
//! 2 bad usage, 3 the gate denied it, 4 the gate could not verify it (retry later).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use embed_in_a_deploy_bot::{DeployBot, DeployReport, Outcome, SimulatedDeployer};
use itsm_audit::AuditStore;
use itsm_audit::sqlite::SqliteAuditStore;
use itsm_change::{ApprovalDecision, ApprovalState, ChangeWorkflow, Deployment};
use itsm_core::{
    Clock, CommitId, Environment, Error, ErrorKind, Person, PipelineRunId, Result, ServiceId,
    SystemClock, Version, format_instant,
};
use itsm_local::LocalStore;
use itsm_pipeline::{Artifact, Pipeline};

const USAGE: &str = "\
usage: embed-in-a-deploy-bot [--data-dir DIR] [--run ID] [--fail] [--skip-approval]

  --data-dir DIR     where the store and the ledger live (itsm.db); default
                     $DEPLOY_BOT_DATA_DIR, else a new directory under the system's temp dir
  --run ID           the pipeline run (default $DEPLOY_BOT_RUN, else bot-run-1)
  --fail             the simulated deployment fails its health checks and is rolled back
  --skip-approval    do not simulate the change manager's approval (the gate denies)

exit codes: 0 deployed, 1 deployment failed or error, 2 bad usage, 3 denied, 4 cannot verify";

const DIGEST: &str = "sha256:4f2a9c1e0b7d";

/// What the command line asks for.
#[derive(Debug)]
struct Args {
    data_dir: Option<PathBuf>,
    run: String,
    fail: bool,
    approve: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> std::result::Result<Args, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut parsed = Args {
        data_dir: env("DEPLOY_BOT_DATA_DIR").map(PathBuf::from),
        run: env("DEPLOY_BOT_RUN").unwrap_or_else(|| "bot-run-1".to_owned()),
        fail: false,
        approve: true,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data-dir" => {
                let dir = args.next().ok_or("--data-dir needs a directory")?;
                parsed.data_dir = Some(PathBuf::from(dir));
            }
            "--run" => parsed.run = args.next().ok_or("--run needs a pipeline run id")?,
            "--fail" => parsed.fail = true,
            "--skip-approval" => parsed.approve = false,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(args.into_iter()) {
        Ok(args) => args,
        Err(problem) => {
            eprintln!("error: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.kind() == ErrorKind::InvalidInput {
                2
            } else {
                1
            })
        }
    }
}

async fn run(args: Args) -> Result<u8> {
    let deployment = Deployment {
        service: ServiceId::new("checkout")?,
        version: Version::new("1.4.2")?,
        environment: Environment::production(),
        pipeline_run: PipelineRunId::new(&args.run)?,
        commits: vec![CommitId::new("1a2b3c4")?, CommitId::new("9fceb02")?],
        requested_by: Some(Person::named("deploy-bot")),
        links: vec![],
    };
    let dir = data_dir(args.data_dir)?;
    let db = dir.join("itsm.db");
    println!(
        "embed-in-a-deploy-bot: the store and the audit ledger are in {}",
        db.display()
    );

    // Wiring: everything the bot needs, on one database file.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(LocalStore::open(&db, clock.clone())?);
    let ledger = Arc::new(SqliteAuditStore::open(&db, clock.clone())?);
    let changes = ChangeWorkflow::new(store.clone(), store.clone(), clock.clone());
    let pipeline = Pipeline::new(changes, clock.clone())
        .with_ledger(ledger.clone())
        .with_pager(store.clone()) // the embedded store records change events
        .with_step_log(store.clone());
    let deployer = if args.fail {
        SimulatedDeployer::failing(clock.clone())
    } else {
        SimulatedDeployer::succeeding(clock.clone())
    };
    let bot = DeployBot::new(pipeline, Arc::new(deployer), clock).with_step_log(store.clone());

    step(
        1,
        &format!(
            "the pipeline raises the change for checkout 1.4.2 in production (run {})",
            deployment.pipeline_run
        ),
    );
    let raised = bot.pipeline().raise(&deployment, false).await?;
    let change = raised.change.ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            "raise returned no change outside a dry run",
        )
    })?;
    if raised.existed {
        say(&format!(
            "{} exists from an earlier run (state {}, approval {})",
            change.id, change.state, change.approval
        ));
    } else {
        say(&format!("{} raised: {}", change.id, raised.decision));
        for n in store.notifications().await? {
            if n.subject.contains(change.id.as_str()) {
                say(&format!("the change manager was notified: {}", n.subject));
            }
        }
    }

    step(2, "SIMULATED HUMAN STEP: the change manager decides");
    if !args.approve {
        say("skipped (--skip-approval): nobody approves the change");
    } else if change.approval == ApprovalState::Requested {
        say(&format!(
            "Casey (change manager) approves {} (in real life: in the change tool, or \
             `itsm change approve {} --by Casey`)",
            change.id, change.id
        ));
        let decision = ApprovalDecision {
            approve: true,
            by: Person::named("Casey (change manager)"),
            comment: Some("Simulated approval by embed-in-a-deploy-bot".into()),
        };
        let approved = bot
            .pipeline()
            .changes()
            .system()
            .decide(&change.id, &decision)
            .await?;
        say(&format!("{} approval: {}", approved.id, approved.approval));
    } else {
        say(&format!(
            "nothing to decide: {} approval is {}",
            change.id, change.approval
        ));
    }

    step(
        3,
        "the deploy bot runs: gate, deploy (simulated), close, record, change event",
    );
    let artifact = Artifact::new(DIGEST);
    let outcome = bot.run(&deployment, &artifact).await?;
    let code = match &outcome {
        Outcome::Denied { reason } => {
            say(&format!("gate:   {reason}"));
            say("not deployed; nothing closed, recorded or sent");
            3
        }
        Outcome::CannotVerify { reason } => {
            say(&format!("gate:   {reason}"));
            say("not deployed (the gate fails closed); run again later");
            4
        }
        Outcome::Deployed(report) => {
            print_report(report);
            step(4, "the audit ledger's record of the deployment");
            print_record(ledger.as_ref(), &deployment).await?;
            step(
                5,
                "the change events the paging platform (the embedded store) holds",
            );
            for event in store.change_events().await? {
                say(&format!(
                    "{}: {}",
                    format_instant(event.timestamp),
                    event.summary
                ));
            }
            if report.succeeded() { 0 } else { 1 }
        }
    };
    println!(
        "\ndone: {}",
        match code {
            0 => "deployed",
            1 => "the deployment failed; it is recorded as failed",
            3 => "denied by the gate",
            _ => "the gate could not verify the change",
        }
    );
    Ok(code)
}

fn print_report(report: &DeployReport) {
    match &report.gate {
        Some(gate) => say(&format!("gate:   {gate}")),
        None => say("gate:   not asked again: an earlier run passed it and deployed"),
    }
    let how = if report.succeeded() {
        "succeeded"
    } else {
        "failed"
    };
    if report.resumed {
        say(&format!(
            "deploy: not again: an earlier run deployed, and it {how}"
        ));
    } else {
        say(&format!(
            "deploy: {how}: {}",
            report.result.notes.as_deref().unwrap_or("-")
        ));
    }
    let change = &report.finished.change;
    say(&format!(
        "close:  {} {} ({})",
        change.id,
        change.state,
        change.closure.as_ref().map_or("-", |c| c.code.as_str())
    ));
    match &report.finished.recorded {
        Some(record) => say(&format!(
            "record: audit ledger record #{} (key {})",
            record.seq, record.key
        )),
        None => say("record: none"),
    }
    match report.finished.change_event {
        Some(sent) if sent.already => say("event:  already sent by an earlier run"),
        Some(_) => say("event:  change event sent to the paging platform"),
        None => say("event:  no paging platform"),
    }
}

async fn print_record(ledger: &dyn AuditStore, deployment: &Deployment) -> Result<()> {
    let key = deployment.step_key("deploy");
    let Some(record) = ledger.find_by_key(&key).await? else {
        say(&format!("no record with key {key}"));
        return Ok(());
    };
    let d = &record.deployment;
    let outcome = match d.outcome {
        itsm_audit::Outcome::Succeeded => "succeeded",
        itsm_audit::Outcome::Failed => "failed",
    };
    say(&format!(
        "#{} {} {} in {}: {outcome}",
        record.seq, d.service, d.version, d.environment
    ));
    say(&format!(
        "commit {}, artifact {}",
        d.commit, d.artifact_digest
    ));
    say(&format!(
        "deployer {}, run {}, {} to {}",
        d.deployer,
        d.pipeline_run,
        format_instant(d.started_at),
        format_instant(d.finished_at)
    ));
    if let Some(c) = &d.change {
        say(&format!(
            "change {} in {}, approved: {}",
            c.reference.id, c.reference.system, c.approved
        ));
    }
    say(&format!(
        "hash {} (previous {})",
        record.hash, record.prev_hash
    ));
    Ok(())
}

/// The data directory: the one given, created if missing, or a new one under the temp dir.
fn data_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    let dir = given.unwrap_or_else(|| {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        std::env::temp_dir().join(format!(
            "embed-in-a-deploy-bot-{}-{stamp}",
            std::process::id()
        ))
    });
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!(
                "cannot create the data directory {}: {e}; pass a writable --data-dir",
                dir.display()
            ),
        )
    })?;
    Ok(dir)
}

fn step(n: u32, what: &str) {
    println!("\n[{n}] {what}");
}

fn say(line: &str) {
    println!("    {line}");
}
