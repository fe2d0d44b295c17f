//! S4 figures over 1,000,000 synthetic requests (the target: at most one second). The
//! requests are built once, outside the timed part; only `figures(...)` is timed.
//!
//! Run: `cargo bench -p itsm-specialist --bench figures`

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use itsm_core::{Person, TeamId};
use itsm_specialist::{
    Offering, OfferingId, RequestId, RequestState, SpecialistRequest, Transition, Urgency, figures,
};
use time::Duration;
use time::macros::datetime;

const N: usize = 1_000_000;

fn data() -> (Vec<SpecialistRequest>, Vec<Offering>) {
    let start = datetime!(2025-01-01 0:00 UTC);
    let team = TeamId::new("dba").expect("valid");
    let offerings: Vec<Offering> = (0..40)
        .map(|i| Offering {
            id: OfferingId::new(format!("offering-{i}")).expect("valid"),
            team: team.clone(),
            name: format!("Offering {i}"),
            description: String::new(),
            inputs: vec![],
            response_target_minutes: 60,
            resolution_target_minutes: 480,
            automated: i % 4 == 0,
        })
        .collect();
    let requesters: Vec<TeamId> = (0..200)
        .map(|i| TeamId::new(format!("team-{i}")).expect("valid"))
        .collect();
    let person = Person::named("specialist");
    let mut requests = Vec::with_capacity(N);
    for i in 0..N {
        let at = start + Duration::seconds(i as i64 * 30);
        let response = Duration::minutes((i % 97) as i64);
        let fulfil = response + Duration::minutes((i % 613) as i64);
        let mut transitions = vec![Transition {
            to: RequestState::Submitted,
            at,
            by: None,
            note: None,
        }];
        let state = if i % 10 == 0 {
            RequestState::InProgress
        } else {
            RequestState::Fulfilled
        };
        transitions.push(Transition {
            to: RequestState::Triaged,
            at: at + response,
            by: Some(person.clone()),
            note: None,
        });
        if state == RequestState::Fulfilled {
            transitions.push(Transition {
                to: RequestState::Fulfilled,
                at: at + fulfil,
                by: Some(person.clone()),
                note: None,
            });
        }
        requests.push(SpecialistRequest {
            id: RequestId::new(format!("REQ{i:07}")).expect("valid"),
            number: None,
            key: None,
            offering: offerings[i % offerings.len()].id.clone(),
            team: team.clone(),
            requester: requesters[i % requesters.len()].clone(),
            submitted_by: None,
            inputs: BTreeMap::new(),
            urgency: Urgency::Medium,
            state,
            transitions,
            comments: vec![],
            external: None,
            submitted_at: Some(at),
        });
    }
    (requests, offerings)
}

fn bench(c: &mut Criterion) {
    let (requests, offerings) = data();
    let now = datetime!(2026-01-01 0:00 UTC);
    let mut group = c.benchmark_group("specialist_figures");
    group.sample_size(10);
    group.bench_function("1m_requests", |b| {
        b.iter(|| figures(black_box(&requests), black_box(&offerings), now))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
