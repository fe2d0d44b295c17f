//! Demand and response-time figures (S4), per offering and per requesting team, so a
//! specialist team sees which offerings are worth automating next.
//!
//! Definitions, for the requests given (usually those submitted in a period):
//!
//! - **First response**: from `submitted_at` to the first transition to any state other
//!   than submitted and cancelled (triage, work, fulfilment or rejection, by a person or by
//!   automation). A request cancelled before any response has none.
//! - **Fulfilment**: from `submitted_at` to the transition to fulfilled.
//! - **Breaches**: a response breach is a first response later than the offering's
//!   `response_target_minutes`, or no response yet while the request is open and older than
//!   that at `now`; a resolution breach likewise with fulfilment and
//!   `resolution_target_minutes` (a rejected or cancelled request cannot breach it).
//!   Requests of an offering not in the list have no targets and never breach.
//! - **Percentiles** use the nearest-rank method, as the DORA figures do: the p-th of n
//!   ascending values is the one at rank `ceil(p * n / 100)` (at least 1), so the median of
//!   an even count is the lower middle value and every figure is a time some request took.
//!
//! Times are whole seconds. Every group keeps the indices of its requests, so
//! [`GroupFigures::explain`] lists the requests behind a figure (pass the same slice).
//! A request without `submitted_at` is counted but contributes no time.

use std::collections::HashMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::model::{Offering, OfferingId, RequestId, RequestState, SpecialistRequest};

/// Times to first response or to fulfilment of a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TimeFigure {
    /// How many requests contributed a time.
    pub measured: u64,
    /// Median, in seconds.
    pub median_seconds: Option<i64>,
    /// 90th percentile, in seconds.
    pub p90_seconds: Option<i64>,
}

/// The figures of one offering or one requesting team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFigures {
    /// The offering id or requesting team.
    pub group: String,
    /// Requests in the group.
    pub count: u64,
    /// Not finished yet.
    pub open: u64,
    /// Fulfilled.
    pub fulfilled: u64,
    /// Fulfilled by automation (see [`AUTOMATION`](crate::fulfil::AUTOMATION)).
    pub automated: u64,
    /// Rejected or cancelled.
    pub rejected_or_cancelled: u64,
    /// Time to first response.
    pub first_response: TimeFigure,
    /// Time to fulfilment.
    pub fulfilment: TimeFigure,
    /// Requests whose response target was missed.
    pub response_breaches: u64,
    /// Requests whose resolution target was missed.
    pub resolution_breaches: u64,
    /// Hours of waiting the group's fulfilled requests took in total (demand weight: a
    /// high number with a repeatable offering is the next automation candidate).
    pub fulfilment_hours: f64,
    #[serde(skip)]
    members: Vec<u32>,
}

/// The figures over a set of requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// The number of requests.
    pub requests: u64,
    /// Per offering, the most requested first.
    pub by_offering: Vec<GroupFigures>,
    /// Per requesting team, the most requesting first.
    pub by_requester: Vec<GroupFigures>,
}

/// One request behind a figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The request.
    pub id: RequestId,
    /// Its offering.
    pub offering: OfferingId,
    /// Its requesting team.
    pub requester: String,
    /// Its state.
    pub state: RequestState,
    /// When it was submitted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    /// Its time to first response, in seconds.
    pub first_response_seconds: Option<i64>,
    /// Its time to fulfilment, in seconds.
    pub fulfilment_seconds: Option<i64>,
    /// It missed its response target.
    pub response_breached: bool,
    /// It missed its resolution target.
    pub resolution_breached: bool,
}

/// What one request contributes, computed once.
#[derive(Debug, Clone, Copy)]
struct Measure {
    response: Option<i64>,
    fulfilment: Option<i64>,
    response_breached: bool,
    resolution_breached: bool,
    automated: bool,
}

fn measure(r: &SpecialistRequest, targets: Option<(i64, i64)>, now: OffsetDateTime) -> Measure {
    let mut m = Measure {
        response: None,
        fulfilment: None,
        response_breached: false,
        resolution_breached: false,
        automated: false,
    };
    let Some(start) = r.submitted_at else {
        return m;
    };
    for t in &r.transitions {
        match t.to {
            RequestState::Submitted | RequestState::Cancelled => {}
            _ if m.response.is_none() => m.response = Some((t.at - start).whole_seconds()),
            _ => {}
        }
        if t.to == RequestState::Fulfilled {
            m.fulfilment = Some((t.at - start).whole_seconds());
            m.automated =
                t.by.as_ref()
                    .is_some_and(|p| p.name == crate::fulfil::AUTOMATION);
        }
    }
    if let Some((response, resolution)) = targets {
        let age = (now - start).whole_seconds();
        let open = !r.state.is_terminal();
        m.response_breached = match m.response {
            Some(s) => s > response,
            None => open && age > response,
        };
        m.resolution_breached = match m.fulfilment {
            Some(s) => s > resolution,
            None => open && age > resolution,
        };
    }
    m
}

/// Computes the figures of `requests`; `offerings` give the targets; `now` decides whether
/// an open request has already missed a target.
pub fn figures(
    requests: &[SpecialistRequest],
    offerings: &[Offering],
    now: OffsetDateTime,
) -> Figures {
    let targets: HashMap<&OfferingId, (i64, i64)> = offerings
        .iter()
        .map(|o| {
            (
                &o.id,
                (
                    i64::from(o.response_target_minutes) * 60,
                    i64::from(o.resolution_target_minutes) * 60,
                ),
            )
        })
        .collect();
    let measures: Vec<Measure> = requests
        .iter()
        .map(|r| measure(r, targets.get(&r.offering).copied(), now))
        .collect();
    let by_offering = group(requests, &measures, |r| r.offering.as_str());
    let by_requester = group(requests, &measures, |r| r.requester.as_str());
    Figures {
        requests: requests.len() as u64,
        by_offering,
        by_requester,
    }
}

fn group<'a>(
    requests: &'a [SpecialistRequest],
    measures: &[Measure],
    key: impl Fn(&'a SpecialistRequest) -> &'a str,
) -> Vec<GroupFigures> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut members: Vec<(&str, Vec<u32>)> = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let k = key(r);
        let slot = *index.entry(k).or_insert_with(|| {
            members.push((k, Vec::new()));
            members.len() - 1
        });
        if let Some((_, m)) = members.get_mut(slot) {
            m.push(u32::try_from(i).unwrap_or(u32::MAX));
        }
    }
    let mut groups: Vec<GroupFigures> = members
        .into_iter()
        .map(|(k, m)| summarise(k, m, requests, measures))
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.group.cmp(&b.group)));
    groups
}

fn summarise(
    key: &str,
    members: Vec<u32>,
    requests: &[SpecialistRequest],
    measures: &[Measure],
) -> GroupFigures {
    let mut g = GroupFigures {
        group: key.to_owned(),
        count: members.len() as u64,
        open: 0,
        fulfilled: 0,
        automated: 0,
        rejected_or_cancelled: 0,
        first_response: TimeFigure::default(),
        fulfilment: TimeFigure::default(),
        response_breaches: 0,
        resolution_breaches: 0,
        fulfilment_hours: 0.0,
        members: Vec::new(),
    };
    let mut responses = Vec::with_capacity(members.len());
    let mut fulfilments = Vec::with_capacity(members.len());
    for &i in &members {
        let (Some(r), Some(m)) = (requests.get(i as usize), measures.get(i as usize)) else {
            continue;
        };
        match r.state {
            RequestState::Fulfilled => g.fulfilled += 1,
            RequestState::Rejected | RequestState::Cancelled => g.rejected_or_cancelled += 1,
            _ => g.open += 1,
        }
        g.automated += u64::from(m.automated);
        g.response_breaches += u64::from(m.response_breached);
        g.resolution_breaches += u64::from(m.resolution_breached);
        responses.extend(m.response);
        fulfilments.extend(m.fulfilment);
    }
    g.fulfilment_hours = fulfilments.iter().map(|&s| s as f64).sum::<f64>() / 3600.0;
    g.first_response = time_figure(&mut responses);
    g.fulfilment = time_figure(&mut fulfilments);
    g.members = members;
    g
}

fn time_figure(values: &mut [i64]) -> TimeFigure {
    TimeFigure {
        measured: values.len() as u64,
        median_seconds: percentile(values, 50),
        p90_seconds: percentile(values, 90),
    }
}

/// The nearest-rank `p`-th percentile (reorders `values`).
fn percentile(values: &mut [i64], p: usize) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = (p * values.len()).div_ceil(100).max(1);
    let (_, nth, _) = values.select_nth_unstable(rank - 1);
    Some(*nth)
}

impl GroupFigures {
    /// The requests behind this group's figures, oldest submission first. Pass the slice the
    /// figures were computed from, and the same `offerings` and `now`.
    pub fn explain(
        &self,
        requests: &[SpecialistRequest],
        offerings: &[Offering],
        now: OffsetDateTime,
    ) -> Vec<Evidence> {
        let mut out: Vec<Evidence> = self
            .members
            .iter()
            .filter_map(|&i| requests.get(i as usize))
            .map(|r| {
                let targets = offerings.iter().find(|o| o.id == r.offering).map(|o| {
                    (
                        i64::from(o.response_target_minutes) * 60,
                        i64::from(o.resolution_target_minutes) * 60,
                    )
                });
                let m = measure(r, targets, now);
                Evidence {
                    id: r.id.clone(),
                    offering: r.offering.clone(),
                    requester: r.requester.to_string(),
                    state: r.state,
                    submitted_at: r.submitted_at,
                    first_response_seconds: m.response,
                    fulfilment_seconds: m.fulfilment,
                    response_breached: m.response_breached,
                    resolution_breached: m.resolution_breached,
                }
            })
            .collect();
        out.sort_by_key(|e| e.submitted_at);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Transition, Urgency};
    use itsm_core::{Person, TeamId};
    use std::collections::BTreeMap;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-05-01 9:00 UTC);

    fn offering(id: &str, response_min: u32, resolution_min: u32) -> Offering {
        Offering {
            id: OfferingId::new(id).unwrap(),
            team: TeamId::new("dba").unwrap(),
            name: id.into(),
            description: String::new(),
            inputs: vec![],
            response_target_minutes: response_min,
            resolution_target_minutes: resolution_min,
            automated: false,
        }
    }

    /// A request of `offering` from `requester` with transitions `(minutes after T0, state, by)`.
    fn request(
        n: u32,
        offering: &str,
        requester: &str,
        moves: &[(i64, RequestState, &str)],
    ) -> SpecialistRequest {
        let mut transitions = vec![Transition {
            to: RequestState::Submitted,
            at: T0,
            by: None,
            note: None,
        }];
        transitions.extend(moves.iter().map(|(m, to, by)| Transition {
            to: *to,
            at: T0 + Duration::minutes(*m),
            by: Some(Person::named(*by)),
            note: None,
        }));
        SpecialistRequest {
            id: RequestId::new(format!("REQ{n}")).unwrap(),
            number: None,
            key: None,
            offering: OfferingId::new(offering).unwrap(),
            team: TeamId::new("dba").unwrap(),
            requester: TeamId::new(requester).unwrap(),
            submitted_by: None,
            inputs: BTreeMap::new(),
            urgency: Urgency::Medium,
            state: transitions.last().unwrap().to,
            transitions,
            comments: vec![],
            external: None,
            submitted_at: Some(T0),
        }
    }

    #[test]
    fn figures_per_offering_and_requester_with_breaches_and_explain() {
        use RequestState::*;
        let offerings = [offering("db", 30, 120), offering("fw", 60, 600)];
        let requests = vec![
            // db: responses 10, 20, 40 (breach) min; fulfilments 60, 200 (breach) min
            request(
                1,
                "db",
                "checkout",
                &[(10, Triaged, "ann"), (60, Fulfilled, "ann")],
            ),
            request(2, "db", "checkout", &[(20, Fulfilled, "automation")]),
            request(
                3,
                "db",
                "search",
                &[(40, InProgress, "bo"), (200, Fulfilled, "bo")],
            ),
            // db: still open, no response, 300 min old at `now`: both targets breached
            request(4, "db", "search", &[]),
            // fw: cancelled by the requester before any response: no times, no breach
            request(5, "fw", "search", &[(5, Cancelled, "cy")]),
        ];
        let now = T0 + Duration::minutes(300);
        let f = figures(&requests, &offerings, now);
        assert_eq!(f.requests, 5);
        let db = &f.by_offering[0];
        assert_eq!(db.group, "db");
        assert_eq!(
            (db.count, db.open, db.fulfilled, db.automated),
            (4, 1, 3, 1)
        );
        assert_eq!(db.first_response.measured, 3);
        assert_eq!(db.first_response.median_seconds, Some(20 * 60));
        assert_eq!(db.first_response.p90_seconds, Some(40 * 60));
        assert_eq!(db.fulfilment.median_seconds, Some(60 * 60));
        assert_eq!(db.fulfilment.p90_seconds, Some(200 * 60));
        assert_eq!(db.response_breaches, 2);
        assert_eq!(db.resolution_breaches, 2);
        let fw = &f.by_offering[1];
        assert_eq!((fw.count, fw.rejected_or_cancelled), (1, 1));
        assert_eq!(fw.first_response.median_seconds, None);
        assert_eq!(fw.response_breaches, 0);

        let search = f.by_requester.iter().find(|g| g.group == "search").unwrap();
        assert_eq!(search.count, 3);
        assert_eq!(search.response_breaches, 2);
        let checkout = f
            .by_requester
            .iter()
            .find(|g| g.group == "checkout")
            .unwrap();
        assert_eq!(checkout.fulfilled, 2);

        let evidence = db.explain(&requests, &offerings, now);
        let ids: Vec<&str> = evidence.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["REQ1", "REQ2", "REQ3", "REQ4"]);
        assert_eq!(evidence[2].first_response_seconds, Some(40 * 60));
        assert!(evidence[2].response_breached && evidence[2].resolution_breached);
        assert!(!evidence[0].response_breached);
        assert!(evidence[3].response_breached && evidence[3].first_response_seconds.is_none());
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&mut [], 50), None);
        assert_eq!(percentile(&mut [7], 90), Some(7));
        assert_eq!(percentile(&mut [4, 1, 3, 2], 50), Some(2));
        let mut ten: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(percentile(&mut ten, 90), Some(9));
        assert_eq!(percentile(&mut ten, 100), Some(10));
    }

    #[test]
    fn unknown_offerings_have_no_targets() {
        let requests = vec![request(1, "gone", "checkout", &[])];
        let f = figures(&requests, &[], T0 + Duration::days(30));
        assert_eq!(f.by_offering[0].response_breaches, 0);
        assert_eq!(f.by_offering[0].open, 1);
    }
}
