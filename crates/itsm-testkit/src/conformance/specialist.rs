//! The conformance suite of [`SpecialistCatalog`].
//!
//! The suite needs a catalog with at least one offering (load one into the backend first;
//! [`run_all`] panics naming the backend otherwise). Every check submits its own requests
//! from a requesting team unique to the call (`conformance-<token>-<check>`), with inputs
//! built from the offering's input specs, and relies only on the rules stated on
//! [`SpecialistCatalog`] plus these, which every backend keeps:
//!
//! - a submitted request is in state submitted, in the offering's team's queue, with its
//!   inputs and a recorded submitted transition; the same key returns the same request;
//! - inputs that do not fit the offering are [`ErrorKind::InvalidInput`] naming the input,
//!   and nothing is stored under that key;
//! - every legal move is recorded as a transition with its time and note; an illegal move is
//!   [`ErrorKind::Conflict`] and changes nothing; moving to the current state changes nothing;
//! - the same comment key twice adds one comment;
//! - `list_requests` filters by team, requester and states, and pages with `next`;
//! - an unknown offering or request is [`ErrorKind::NotFound`].
//!
//! [`run_all`] runs every check; each is also a public function.

use std::collections::BTreeMap;

use itsm_core::{ErrorKind, ListRequest, Person, Result, TeamId};
use itsm_specialist::{
    Comment, InputKind, InputValue, NewRequest, Offering, OfferingId, RequestFilter, RequestId,
    RequestState, SpecialistCatalog, Urgency, capability,
};

use super::scope::CheckScope;
use super::{Outcome, Report, skip_unless};

/// Names, keys and requests unique to one check's call.
struct Scope(CheckScope);

impl std::ops::Deref for Scope {
    type Target = CheckScope;
    fn deref(&self) -> &CheckScope {
        &self.0
    }
}

impl Scope {
    fn new(check: &'static str, catalog: &dyn SpecialistCatalog) -> Scope {
        Scope(CheckScope::new(check, catalog.capabilities().backend()))
    }

    fn requester(&self) -> TeamId {
        TeamId::new(format!("conformance-{}-{}", self.token, self.check)).expect("a valid team id")
    }

    /// The first offering of the catalog (the suite needs one).
    async fn offering(&self, catalog: &dyn SpecialistCatalog) -> Result<Offering> {
        let offerings = catalog.list_offerings(None).await?;
        let first = offerings.into_iter().next();
        self.expect(
            first.is_some(),
            "the catalog has no offering; load one before running the suite",
        );
        Ok(first.expect("checked above"))
    }

    fn request(&self, offering: &Offering) -> NewRequest {
        NewRequest {
            offering: offering.id.clone(),
            requester: self.requester(),
            submitted_by: Some(Person::named("itsm-testkit")),
            inputs: valid_inputs(offering),
            urgency: Urgency::Medium,
        }
    }
}

/// Values that fit every input of `offering` (optional ones included).
fn valid_inputs(offering: &Offering) -> BTreeMap<String, InputValue> {
    offering
        .inputs
        .iter()
        .map(|spec| {
            let value = match &spec.kind {
                InputKind::Text => InputValue::Text(String::from("conformance")),
                InputKind::Choice { options } => {
                    InputValue::Text(options.first().cloned().unwrap_or_default())
                }
                InputKind::Number => InputValue::Number(1.0),
                InputKind::Boolean => InputValue::Boolean(true),
            };
            (spec.name.clone(), value)
        })
        .collect()
}

/// Runs every check of the suite, in order, and reports which ran and which were skipped.
///
/// # Panics
///
/// When a check fails: the message names the check, the backend and what went wrong.
pub async fn run_all(catalog: &dyn SpecialistCatalog) -> Report {
    let mut report = Report::default();
    let mut record = |name: &'static str, result: Result<Outcome>| match result {
        Ok(outcome) => report.checks.push((name, outcome)),
        Err(e) => panic!(
            "conformance check {name} on the {} backend failed with an unexpected error: {e}",
            catalog.capabilities().backend()
        ),
    };
    record("catalog", catalog_lookups(catalog).await);
    record("submit", submit(catalog).await);
    record("invalid_inputs", invalid_inputs(catalog).await);
    record("lifecycle", lifecycle(catalog).await);
    record("illegal_transition", illegal_transition(catalog).await);
    record("comments", comments(catalog).await);
    record("list_requests", list_requests(catalog).await);
    report
}

/// Offerings are listed, looked up by id, filtered by team; unknown ones are not found.
pub async fn catalog_lookups(catalog: &dyn SpecialistCatalog) -> Result<Outcome> {
    let s = Scope::new("catalog", catalog);
    let offering = s.offering(catalog).await?;
    let again = catalog.get_offering(&offering.id).await?;
    s.expect(
        again == offering,
        format!("get_offering should return the listed offering: {again:?} vs {offering:?}"),
    );
    let of_team = catalog.list_offerings(Some(offering.team.clone())).await?;
    s.expect(
        of_team.iter().any(|o| o.id == offering.id)
            && of_team.iter().all(|o| o.team == offering.team),
        format!(
            "list_offerings({}) should hold only that team's offerings",
            offering.team
        ),
    );
    let nobody = catalog.list_offerings(Some(s.requester())).await?;
    s.expect(
        nobody.is_empty(),
        "a team without offerings should list none",
    );
    let missing = OfferingId::new(format!("conformance-missing-{}", s.token)).expect("valid");
    s.expect_err(
        catalog.get_offering(&missing).await,
        ErrorKind::NotFound,
        "looking up an unknown offering",
    );
    let missing = RequestId::new(format!("conformance-missing-{}", s.token)).expect("valid");
    s.expect_err(
        catalog.get_request(&missing).await,
        ErrorKind::NotFound,
        "looking up an unknown request",
    );
    Ok(Outcome::Passed)
}

/// A request is routed to the offering's team, submitted, and idempotent by key.
pub async fn submit(catalog: &dyn SpecialistCatalog) -> Result<Outcome> {
    let s = Scope::new("submit", catalog);
    let offering = s.offering(catalog).await?;
    let new = s.request(&offering);
    let key = s.key("request");
    let request = catalog.submit(&key, &new).await?;
    s.expect(
        request.state == RequestState::Submitted
            && request.team == offering.team
            && request.requester == new.requester
            && request.offering == offering.id
            && request.inputs == new.inputs,
        format!(
            "a submitted request should be in {}'s queue as given: {request:?}",
            offering.team
        ),
    );
    s.expect(
        request.transitions.first().map(|t| t.to) == Some(RequestState::Submitted)
            && request.submitted_at.is_some(),
        format!("a submitted request should record when it was submitted: {request:?}"),
    );
    let again = catalog.submit(&key, &new).await?;
    s.expect(
        again.id == request.id,
        format!(
            "the same key should return request {}, got {}",
            request.id, again.id
        ),
    );
    let found = catalog.find_request_by_key(&key).await?;
    s.expect(
        found.as_ref().map(|r| &r.id) == Some(&request.id),
        format!("find_request_by_key should find {}: {found:?}", request.id),
    );
    let got = catalog.get_request(&request.id).await?;
    s.expect(
        got == request,
        format!("get_request should return the request: {got:?}"),
    );
    Ok(Outcome::Passed)
}

/// Inputs that do not fit are refused naming the input, and nothing is stored.
pub async fn invalid_inputs(catalog: &dyn SpecialistCatalog) -> Result<Outcome> {
    let s = Scope::new("invalid_inputs", catalog);
    let offering = s.offering(catalog).await?;
    let mut unknown = s.request(&offering);
    unknown.inputs.insert(
        String::from("conformance_no_such_input"),
        InputValue::Boolean(true),
    );
    let key = s.key("unknown");
    match catalog.submit(&key, &unknown).await {
        Err(e) if e.kind() == ErrorKind::InvalidInput => s.expect(
            e.to_string().contains("conformance_no_such_input"),
            format!("the error should name the unknown input: {e}"),
        ),
        other => s.expect_err(
            other,
            ErrorKind::InvalidInput,
            "submitting an unknown input",
        ),
    }
    s.expect(
        catalog.find_request_by_key(&key).await?.is_none(),
        "a refused request should not be stored",
    );
    if let Some(required) = offering.inputs.iter().find(|i| i.required) {
        let mut missing = s.request(&offering);
        missing.inputs.remove(&required.name);
        let key = s.key("missing");
        match catalog.submit(&key, &missing).await {
            Err(e) if e.kind() == ErrorKind::InvalidInput => s.expect(
                e.to_string().contains(&required.name),
                format!(
                    "the error should name the missing input {}: {e}",
                    required.name
                ),
            ),
            other => s.expect_err(other, ErrorKind::InvalidInput, "omitting a required input"),
        }
        s.expect(
            catalog.find_request_by_key(&key).await?.is_none(),
            "a refused request should not be stored",
        );
    }
    let mut unknown_offering = s.request(&offering);
    unknown_offering.offering =
        OfferingId::new(format!("conformance-missing-{}", s.token)).expect("valid");
    let result = catalog
        .submit(&s.key("no-offering"), &unknown_offering)
        .await;
    s.expect(
        matches!(&result, Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound)),
        format!("submitting to an unknown offering should fail: {result:?}"),
    );
    Ok(Outcome::Passed)
}

/// Triage, work, wait on the requester, work, fulfil: each move recorded with its note.
pub async fn lifecycle(catalog: &dyn SpecialistCatalog) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "lifecycle",
        &catalog.capabilities(),
        &[capability::TRANSITIONS],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("lifecycle", catalog);
    let offering = s.offering(catalog).await?;
    let request = catalog
        .submit(&s.key("request"), &s.request(&offering))
        .await?;
    let by = Person::named("itsm-testkit specialist");
    let path = [
        RequestState::Triaged,
        RequestState::InProgress,
        RequestState::WaitingOnRequester,
        RequestState::InProgress,
        RequestState::Fulfilled,
    ];
    let mut last = request.clone();
    for (i, to) in path.into_iter().enumerate() {
        let note = format!("step {i}");
        last = catalog
            .transition(&request.id, to, by.clone(), Some(note.clone()))
            .await?;
        let recorded = last.transitions.last();
        s.expect(
            last.state == to
                && recorded.map(|t| t.to) == Some(to)
                && recorded.and_then(|t| t.note.as_deref()) == Some(note.as_str()),
            format!("moving to {to:?} should be recorded with its note: {last:?}"),
        );
    }
    s.expect(
        last.transitions.len() == path.len() + 1,
        format!("every move should be recorded once: {:?}", last.transitions),
    );
    s.expect(
        last.transitions.windows(2).all(|w| w[0].at <= w[1].at),
        "transitions should be in time order",
    );
    let same = catalog
        .transition(&request.id, RequestState::Fulfilled, by.clone(), None)
        .await?;
    s.expect(
        same.transitions.len() == last.transitions.len(),
        "moving to the current state should change nothing",
    );
    let rejected = catalog
        .submit(&s.key("reject"), &s.request(&offering))
        .await?;
    let rejected = catalog
        .transition(
            &rejected.id,
            RequestState::Rejected,
            by,
            Some("out of scope".into()),
        )
        .await?;
    s.expect(
        rejected.state == RequestState::Rejected,
        format!("a submitted request can be rejected: {rejected:?}"),
    );
    Ok(Outcome::Passed)
}

/// An illegal move is a conflict and changes nothing; a finished request cannot move.
pub async fn illegal_transition(catalog: &dyn SpecialistCatalog) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "illegal_transition",
        &catalog.capabilities(),
        &[capability::TRANSITIONS],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("illegal_transition", catalog);
    let offering = s.offering(catalog).await?;
    let request = catalog
        .submit(&s.key("request"), &s.request(&offering))
        .await?;
    let by = Person::named("itsm-testkit");
    s.expect_err(
        catalog
            .transition(
                &request.id,
                RequestState::WaitingOnRequester,
                by.clone(),
                None,
            )
            .await,
        ErrorKind::Conflict,
        "moving a submitted request straight to waiting on requester",
    );
    let unchanged = catalog.get_request(&request.id).await?;
    s.expect(
        unchanged == request,
        format!("a refused move should change nothing: {unchanged:?}"),
    );
    catalog
        .transition(&request.id, RequestState::Cancelled, by.clone(), None)
        .await?;
    s.expect_err(
        catalog
            .transition(&request.id, RequestState::InProgress, by, None)
            .await,
        ErrorKind::Conflict,
        "moving a cancelled request",
    );
    Ok(Outcome::Passed)
}

/// The same comment key twice adds one comment.
pub async fn comments(catalog: &dyn SpecialistCatalog) -> Result<Outcome> {
    if let Some(skipped) = skip_unless("comments", &catalog.capabilities(), &[capability::COMMENTS])
    {
        return Ok(skipped);
    }
    let s = Scope::new("comments", catalog);
    let offering = s.offering(catalog).await?;
    let request = catalog
        .submit(&s.key("request"), &s.request(&offering))
        .await?;
    let comment = Comment {
        author: Person::named("itsm-testkit"),
        text: format!("conformance comment {}", s.token),
        at: None,
    };
    let key = s.key("comment");
    catalog.comment(&request.id, &key, &comment).await?;
    let twice = catalog.comment(&request.id, &key, &comment).await?;
    let count = twice
        .comments
        .iter()
        .filter(|c| c.text == comment.text)
        .count();
    s.expect(
        count == 1,
        format!("one comment expected after the same key twice, got {count}"),
    );
    let other = catalog
        .comment(&request.id, &s.key("comment-2"), &comment)
        .await?;
    s.expect(
        other.comments.len() == twice.comments.len() + 1,
        "another key should add another comment",
    );
    Ok(Outcome::Passed)
}

/// Listing filters by team, requester and state, and pages.
pub async fn list_requests(catalog: &dyn SpecialistCatalog) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "list_requests",
        &catalog.capabilities(),
        &[capability::REQUEST_LIST],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("list_requests", catalog);
    let offering = s.offering(catalog).await?;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = catalog
            .submit(&s.key(&format!("r{i}")), &s.request(&offering))
            .await?;
        ids.push(r.id);
    }
    let filter = RequestFilter {
        team: Some(offering.team.clone()),
        requester: Some(s.requester()),
        offering: Some(offering.id.clone()),
        states: vec![RequestState::Submitted],
    };
    let mut seen = Vec::new();
    let mut page = ListRequest::with_limit(2);
    loop {
        let listing = catalog.list_requests(&filter, &page).await?;
        s.expect(
            listing.items.len() <= 2,
            "a page should hold at most the limit",
        );
        seen.extend(listing.items.into_iter().map(|r| r.id));
        match listing.next {
            Some(next) => page.cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    s.expect(
        seen == expected,
        format!("the pages should hold {expected:?}, held {seen:?}"),
    );
    let other_state = RequestFilter {
        states: vec![RequestState::Fulfilled],
        ..filter
    };
    let none = catalog
        .list_requests(&other_state, &ListRequest::first())
        .await?;
    s.expect(
        none.items.is_empty(),
        format!("no request of this check is fulfilled: {:?}", none.items),
    );
    Ok(Outcome::Passed)
}
