//! The specialist steps of `itsm demo`: one automated and one manual request against the
//! example catalog (DBA and network teams).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use itsm_core::{Error, ErrorKind, IdempotencyKey, Person, Result, TeamId};
use itsm_local::LocalStore;
use itsm_specialist::{
    Automation, AutomationOutcome, CatalogFile, Fulfiller, Fulfilment, InputValue, NewRequest,
    Offering, OfferingId, RequestState, SpecialistCatalog, SpecialistRequest, Urgency, figures,
};
use time::OffsetDateTime;

/// The example catalog shipped in `examples/specialists/`.
const CATALOG: &str = include_str!("../../../../../examples/specialists/catalog.toml");

/// The demo's fulfiller: pretends to create the database it is asked for.
#[derive(Debug)]
struct DemoDatabaseFulfiller;

#[async_trait]
impl Fulfiller for DemoDatabaseFulfiller {
    async fn fulfil(&self, _: &Offering, request: &SpecialistRequest) -> Result<Fulfilment> {
        let name = request
            .inputs
            .get("database_name")
            .map(ToString::to_string)
            .unwrap_or_default();
        Ok(Fulfilment {
            note: format!("database {name} created; credentials are in the team's vault"),
        })
    }
}

fn inputs(pairs: &[(&str, InputValue)]) -> BTreeMap<String, InputValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Internal,
            format!("the demo expected {what} and got something else"),
        ))
    }
}

/// Runs the specialist steps, numbered from `first`.
pub(crate) async fn run(store: &LocalStore, first: u32) -> Result<()> {
    let file = CatalogFile::parse(CATALOG)?;
    store.load_specialist_catalog(&file).await?;
    let automation = Automation::new(Arc::new(store.clone())).register(
        OfferingId::new("dba.new-database")?,
        Arc::new(DemoDatabaseFulfiller),
    );
    println!("\n[{first}] checkout asks the DBAs for a new database (an automated offering)");
    let handled = automation
        .submit(
            &IdempotencyKey::new("demo/specialist/new-database")?,
            &NewRequest {
                offering: OfferingId::new("dba.new-database")?,
                requester: TeamId::new("checkout")?,
                submitted_by: Some(Person::named("Pat (checkout)")),
                inputs: inputs(&[
                    ("service", InputValue::Text("checkout".into())),
                    ("database_name", InputValue::Text("orders".into())),
                    ("engine", InputValue::Text("postgres".into())),
                    ("size_gb", InputValue::Number(20.0)),
                ]),
                urgency: Urgency::Medium,
            },
        )
        .await?;
    check(
        matches!(handled.automation, AutomationOutcome::Fulfilled { .. })
            && handled.request.state == RequestState::Fulfilled,
        "the automation to fulfil the request",
    )?;
    println!(
        "   {} fulfilled by automation, no person involved: {}",
        handled.request.id,
        handled
            .request
            .transitions
            .last()
            .and_then(|t| t.note.as_deref())
            .unwrap_or("-")
    );

    println!(
        "\n[{}] checkout asks the network team for a firewall rule (a person fulfils it)",
        first + 1
    );
    let request = store
        .submit(
            &IdempotencyKey::new("demo/specialist/firewall")?,
            &NewRequest {
                offering: OfferingId::new("network.firewall-rule")?,
                requester: TeamId::new("checkout")?,
                submitted_by: Some(Person::named("Pat (checkout)")),
                inputs: inputs(&[
                    ("source_zone", InputValue::Text("app".into())),
                    ("destination_zone", InputValue::Text("partner".into())),
                    ("port", InputValue::Number(443.0)),
                    ("protocol", InputValue::Text("tcp".into())),
                    (
                        "justification",
                        InputValue::Text("card scheme callbacks".into()),
                    ),
                ]),
                urgency: Urgency::High,
            },
        )
        .await?;
    println!("   {} in the {} team's queue", request.id, request.team);
    let nia = Person::named("Nia (network)");
    for (to, note) in [
        (RequestState::Triaged, None),
        (RequestState::InProgress, None),
        (
            RequestState::Fulfilled,
            Some("rule app->partner tcp/443 applied".to_owned()),
        ),
    ] {
        let moved = store.transition(&request.id, to, nia.clone(), note).await?;
        println!(
            "   {} -> {} by {nia}",
            moved.id,
            itsm_specialist::fulfil::state_name(moved.state)
        );
    }
    let all = vec![
        store.get_request(&handled.request.id).await?,
        store.get_request(&request.id).await?,
    ];
    let f = figures(
        &all,
        &store.list_offerings(None).await?,
        OffsetDateTime::now_utc(),
    );
    check(
        f.by_offering.len() == 2 && f.by_offering.iter().all(|g| g.fulfilled == 1),
        "figures for both offerings",
    )?;
    for g in &f.by_offering {
        println!(
            "   figures: {} requested {}x, fulfilled {} (automated {})",
            g.group, g.count, g.fulfilled, g.automated
        );
    }
    Ok(())
}
