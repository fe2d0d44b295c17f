//! `itsm demo`: the whole change path on a fresh embedded store in a temporary directory.
//!
//! Each step prints what happened; a step that does not give the expected answer stops the
//! demo with an error, so the demo doubles as a smoke test of an installation.

use std::sync::Arc;

use itsm_change::{
    ApprovalDecision, ChangeKind, ChangeWorkflow, Deployment, DeploymentResult, FreezeWindow,
    GateVerdict, NewTemplate,
};
use itsm_core::{
    Environment, Error, IdempotencyKey, Person, PipelineRunId, Result, ServiceId, SystemClock,
    Version,
};
use time::{Duration, OffsetDateTime};

use crate::app::App;
use crate::cli::Output;
use crate::config::Config;
use crate::exit;

/// Runs the demo.
pub(crate) async fn run(output: Output) -> Result<u8> {
    let dir = tempfile::Builder::new()
        .prefix("itsm-demo-")
        .tempdir()
        .map_err(|e| {
            Error::new(
                itsm_core::ErrorKind::Internal,
                format!("cannot create a temporary directory: {e}"),
            )
        })?;
    let mut config = Config::parse("").expect("the empty configuration is valid");
    config.backend.db = Some(dir.path().join("itsm.db"));
    let app = App::open_with_clock(config, output, Arc::new(SystemClock))?;
    say(&format!(
        "itsm demo: a fresh embedded store at {}",
        app.store.path().display()
    ));
    let wf = &app.workflow;
    let system = wf.system();

    step(
        1,
        "a product manager creates a pre-approved template for checkout",
    );
    let template = system
        .create_template(
            &IdempotencyKey::new("demo/template/checkout")?,
            &NewTemplate {
                service: ServiceId::new("checkout")?,
                name: "Checkout routine release".into(),
                description: "Blue/green release of the checkout service".into(),
                environments: vec![Environment::new("staging")?, Environment::production()],
                implementation_plan: "Pipeline deploys blue/green".into(),
                backout_plan: "Switch traffic back to the previous colour".into(),
                test_plan: "Smoke tests and synthetic checks".into(),
                owner: Person::named("Pat (product manager)"),
                approved_by: Some(Person::named("Casey (change manager)")),
                expires_at: Some(OffsetDateTime::now_utc() + Duration::days(180)),
            },
        )
        .await?;
    say(&format!("   template {} created", template.id));

    let checkout = deployment("checkout", "1.4.2", "demo-run-1")?;
    step(
        2,
        "the last pre-production step passed: raise a change for checkout 1.4.2",
    );
    let raised = wf.raise(&checkout, false).await?;
    expect(
        raised.decision.kind == ChangeKind::Standard,
        "a standard change",
    )?;
    let change = raised.change.as_ref().expect("not a dry run");
    say(&format!("   {} raised; {}", change.id, raised.decision));

    step(3, "before production: the gate");
    expect_allowed(&wf.gate(&checkout, false).await)?;

    step(4, "after production: close the change");
    let closed = wf.close(&checkout, &succeeded()).await?;
    say(&format!(
        "   {} closed: {}",
        closed.id,
        closed.closure.as_ref().map_or("-", |c| c.code.as_str())
    ));

    let billing = deployment("billing", "2.3.0", "demo-run-2")?;
    step(
        5,
        "billing has no template: raise a change for billing 2.3.0",
    );
    let raised = wf.raise(&billing, false).await?;
    expect(
        raised.decision.kind == ChangeKind::Normal,
        "a normal change",
    )?;
    let normal = raised.change.clone().expect("not a dry run");
    say(&format!("   {} raised; {}", normal.id, raised.decision));
    for n in app.store.notifications().await? {
        say(&format!("   notified the change manager: {}", n.subject));
    }

    step(6, "the gate before approval");
    expect_denied(&wf.gate(&billing, false).await)?;

    step(7, "the change manager approves");
    let approved = system
        .decide(
            &normal.id,
            &ApprovalDecision {
                approve: true,
                by: Person::named("Casey (change manager)"),
                comment: Some("Reviewed the rollout plan".into()),
            },
        )
        .await?;
    say(&format!(
        "   {} approval: {}",
        approved.id, approved.approval
    ));

    step(8, "the gate after approval");
    expect_allowed(&wf.gate(&billing, false).await)?;

    step(9, "after production: close the change");
    let closed = wf.close(&billing, &succeeded()).await?;
    say(&format!(
        "   {} closed: {}",
        closed.id,
        closed.closure.as_ref().map_or("-", |c| c.code.as_str())
    ));

    step(
        10,
        "a freeze window starts: the gate refuses checkout 1.4.3",
    );
    let now = OffsetDateTime::now_utc();
    let freeze = FreezeWindow {
        name: "Demo freeze".into(),
        start: now - Duration::minutes(1),
        end: now + Duration::hours(2),
        environments: vec![Environment::production()],
        services: Vec::new(),
    };
    let frozen: ChangeWorkflow = wf.clone().with_freezes(vec![freeze]);
    let next = deployment("checkout", "1.4.3", "demo-run-3")?;
    let raised = frozen.raise(&next, false).await?;
    say(&format!(
        "   raised {}; {}",
        raised.change.as_ref().map(|c| c.id.as_str()).unwrap_or("-"),
        raised.decision
    ));
    if let Some(c) = &raised.change {
        system
            .decide(
                &c.id,
                &ApprovalDecision {
                    approve: true,
                    by: Person::named("Casey (change manager)"),
                    comment: None,
                },
            )
            .await?;
    }
    expect_denied(&frozen.gate(&next, false).await)?;

    crate::commands::specialist::demo::run(&app.store, 11).await?;

    say("demo finished: every step gave the expected answer");
    Ok(exit::OK)
}

fn deployment(service: &str, version: &str, run: &str) -> Result<Deployment> {
    Ok(Deployment {
        service: ServiceId::new(service)?,
        version: Version::new(version)?,
        environment: Environment::production(),
        pipeline_run: PipelineRunId::new(run)?,
        commits: Vec::new(),
        requested_by: Some(Person::named("demo pipeline")),
        links: Vec::new(),
    })
}

fn succeeded() -> DeploymentResult {
    DeploymentResult {
        succeeded: true,
        started_at: Some(OffsetDateTime::now_utc() - Duration::minutes(4)),
        finished_at: None,
        notes: None,
    }
}

fn step(n: u32, what: &str) {
    println!("\n[{n}] {what}");
}

fn say(line: &str) {
    println!("{line}");
}

fn expect(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            itsm_core::ErrorKind::Internal,
            format!("the demo expected {what} and got something else"),
        ))
    }
}

fn expect_allowed(v: &GateVerdict) -> Result<()> {
    say(&format!("   gate: {}", v.reason()));
    expect(v.is_allowed(), "the gate to allow the deployment")
}

fn expect_denied(v: &GateVerdict) -> Result<()> {
    say(&format!("   gate: {}", v.reason()));
    expect(
        matches!(v, GateVerdict::Denied { .. }),
        "the gate to deny the deployment",
    )
}
