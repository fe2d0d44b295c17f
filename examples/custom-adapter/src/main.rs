//! `cargo run -p custom-adapter`: starts Tickety on a loopback port and walks an incident
//! and a change through the adapter, then shows a throttled call retried and a lost answer
//! recovered by the idempotency key.

use std::process::ExitCode;
use std::sync::Arc;

use custom_adapter::adapter::{Tickety, TicketyConfig};
use custom_adapter::server::TicketyServer;
use custom_adapter::triage::{Alert, open_incident};
use itsm_change::{
    ApprovalDecision, ChangeKind, ChangeState, ChangeSystem, CloseCode, Closure, NewChange,
    NewTemplate,
};
use itsm_core::{
    Environment, IdempotencyKey, ListRequest, Person, PipelineRunId, ServiceId, Version,
};
use itsm_incident::{IncidentFilter, IncidentState, IncidentSystem, Note, Priority, Resolution};

type DemoResult = Result<(), Box<dyn std::error::Error>>;

/// The demo's API token. A real one comes from a secret store, never from source code.
const DEMO_TOKEN: &str = "demo-token-not-a-secret";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // itsm errors' Display says what happened and what to do.
            eprintln!("custom-adapter demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> DemoResult {
    let server = TicketyServer::start(DEMO_TOKEN).await?;
    println!("Tickety is serving on {}", server.base_url());
    let tickety = Tickety::new(TicketyConfig::new(server.base_url(), DEMO_TOKEN))?;
    let incidents: Arc<dyn IncidentSystem> = Arc::new(tickety.clone());
    let changes: Arc<dyn ChangeSystem> = Arc::new(tickety);

    println!("\nAn incident");
    incident_demo(&server, incidents.as_ref()).await?;
    println!("\nA change");
    change_demo(changes.as_ref()).await?;
    println!("\nRetries and idempotency");
    retry_demo(&server, incidents.as_ref()).await?;
    Ok(())
}

async fn incident_demo(server: &TicketyServer, system: &dyn IncidentSystem) -> DemoResult {
    let alert = Alert {
        dedup_key: "checkout-5xx".into(),
        summary: "Checkout answers 5xx for 12% of requests".into(),
        service: ServiceId::new("checkout")?,
        priority: Priority::P1,
    };
    let incident = open_incident(system, &alert).await?;
    println!(
        "  opened {} ({}, major: {}) for alert {}",
        incident.id, incident.priority, incident.major, alert.dedup_key
    );
    let again = open_incident(system, &alert).await?;
    println!("  the alert fired again: still {}", again.id);

    let on_call = Person::named("Ada (on call)");
    let acked = system
        .set_state(
            &incident.id,
            IncidentState::Acknowledged,
            Some(on_call.clone()),
        )
        .await?;
    println!(
        "  acknowledged by {}",
        name_of(acked.acknowledged_by.as_ref())
    );
    let note = Note {
        text: "Rolling back checkout 1.4.2".into(),
        author: Some(on_call.clone()),
    };
    let note_key = IdempotencyKey::new("alert/checkout-5xx/note/rollback")?;
    system.add_note(&incident.id, &note_key, &note).await?;
    system.add_note(&incident.id, &note_key, &note).await?;
    println!(
        "  noted twice with one key: {} comment in Tickety",
        server.comment_count(incident.id.as_str())
    );
    let resolution = Resolution {
        code: "rolled_back".into(),
        notes: "1.4.1 restored; error rate back to 0.1%".into(),
        by: Some(on_call),
    };
    let resolved = system.resolve(&incident.id, &resolution).await?;
    println!("  resolved: {:?}", resolved.state);
    Ok(())
}

async fn change_demo(system: &dyn ChangeSystem) -> DemoResult {
    let caps = system.capabilities();
    let names: Vec<&str> = caps.iter().map(|c| c.name()).collect();
    println!("  the adapter declares: {}", names.join(", "));

    let service = ServiceId::new("checkout")?;
    let version = Version::new("1.4.3")?;
    let environment = Environment::production();
    let run = PipelineRunId::new("github:acme/checkout/actions/runs/4711")?;
    let key = IdempotencyKey::for_pipeline_step(&service, &version, &environment, &run, "raise");
    let new = NewChange {
        kind: ChangeKind::Normal,
        template: None,
        service,
        version,
        environment,
        summary: "Deploy checkout 1.4.3 to production".into(),
        description: "Fixes the 5xx regression of 1.4.2".into(),
        window: None,
        commits: vec![],
        pipeline_run: Some(run),
        requested_by: Some(Person::named("deploy-bot")),
        assignment_team: None,
        reasons: vec!["the service has no standard change template in Tickety".into()],
        retroactive: false,
        links: vec![],
    };
    let change = system.create_change(&key, &new).await?;
    println!(
        "  raised {} ({:?}, approval {})",
        change.id, change.state, change.approval
    );
    let id = change.id;
    let submitted = system.request_approval(&id).await?;
    println!(
        "  submitted: {:?}, approval {}",
        submitted.state, submitted.approval
    );
    for approval in system.approvals(&id).await? {
        println!(
            "  approval {} asks {}",
            approval.id,
            name_of(approval.approver.as_ref())
        );
    }
    let decision = ApprovalDecision {
        approve: true,
        by: Person::named("Casey (change manager)"),
        comment: Some("Fix for an ongoing incident".into()),
    };
    let approved = system.decide(&id, &decision).await?;
    println!("  approved: {:?}", approved.state);
    system.transition(&id, ChangeState::Implement).await?;
    let closure = Closure {
        code: CloseCode::Successful,
        notes: "Deployed by run 4711 in 6 minutes".into(),
        closed_at: None,
    };
    let closed = system.close(&id, &closure).await?;
    let code = closed.closure.map(|c| c.code.to_string());
    println!(
        "  closed: {:?} ({})",
        closed.state,
        code.unwrap_or_default()
    );

    let template = NewTemplate {
        service: ServiceId::new("checkout")?,
        name: "Checkout release".into(),
        description: "Routine release".into(),
        environments: vec![Environment::production()],
        implementation_plan: "Pipeline".into(),
        backout_plan: "Redeploy the previous version".into(),
        test_plan: "Smoke tests".into(),
        owner: Person::named("Pat (product)"),
        approved_by: None,
        expires_at: None,
    };
    let template_key = IdempotencyKey::new("template/checkout-release")?;
    if let Err(e) = system.create_template(&template_key, &template).await {
        println!("  create_template: {e}");
    }
    Ok(())
}

async fn retry_demo(server: &TicketyServer, system: &dyn IncidentSystem) -> DemoResult {
    let alert = Alert {
        dedup_key: "search-latency".into(),
        summary: "Search p99 above 2 s".into(),
        service: ServiceId::new("search")?,
        priority: Priority::P3,
    };
    // Tickety makes the ticket but the answer is lost; itsm-http repeats the create (it is
    // marked idempotent), and the same Idempotency-Key gets the first ticket back.
    server.lose_next_write_answers(1);
    let before = server.requests_seen();
    let incident = open_incident(system, &alert).await?;
    let requests = server.requests_seen() - before;
    let service = ServiceId::new("search")?;
    let filter = IncidentFilter {
        service: Some(service),
        ..IncidentFilter::default()
    };
    let listed = system
        .list_incidents(&filter, &ListRequest::first())
        .await?;
    println!(
        "  opened {} although the answer to the create was lost ({requests} requests); \
         tickets for search: {}",
        incident.id,
        listed.items.len()
    );
    // Tickety throttles the next two requests with `429` and `Retry-After: 0`.
    server.fail_next(2, 429, Some(0));
    let before = server.requests_seen();
    let got = system.get_incident(&incident.id).await?;
    println!(
        "  read {} after being throttled twice ({} requests)",
        got.id,
        server.requests_seen() - before
    );
    Ok(())
}

fn name_of(person: Option<&Person>) -> &str {
    person.map_or("nobody", |p| p.name.as_str())
}
