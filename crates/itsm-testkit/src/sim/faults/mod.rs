//! Fault mode for the simulators: a seeded share of requests fails the way real services
//! and the networks in front of them fail.
//!
//! A [`FaultPlan`] says how often (`share`, from 0 to 1), how ([`FaultKind`]s) and with
//! which seed. [`SimServer::start_with_faults`](super::SimServer::start_with_faults) serves
//! any simulator's router behind one middleware that, for every request in arrival order,
//! draws from a `fastrand` generator seeded with the plan's seed whether a fault applies and
//! which: the same seed and the same request order give the same faults. The kinds:
//!
//! | kind | the client sees | the request is processed |
//! |---|---|---|
//! | [`Status(500 / 502 / 503)`](FaultKind::Status) | that status, with the vendor's error body (500) or a proxy's page (502, 503) | no |
//! | [`TooManyRequests`](FaultKind::TooManyRequests) | 429, with the vendor's wait headers when `retry_after` is set, none otherwise | no |
//! | [`ConnectionReset`](FaultKind::ConnectionReset) | the connection reset, no answer | no |
//! | [`Delay(d)`](FaultKind::Delay) | the real answer after `d`, or its own timeout | after `d`, if the client still waits |
//! | [`ResponseLost`](FaultKind::ResponseLost) | the connection reset, no answer | yes |
//!
//! The wait headers follow [`Vendor`]: PagerDuty's `ratelimit-*`, ServiceNow's
//! `Retry-After` and `X-RateLimit-Reset` (epoch seconds), Jira's `Retry-After` and
//! `X-RateLimit-Reset` (an ISO-8601 time). [`SimServer::faults`](super::SimServer::faults)
//! tells what was injected, so a test can show the faults really happened.
//!
//! For soak runs the plan can come from the environment:
//! `ITSM_SIM_FAULTS="seed=42,share=0.2,kinds=5xx|429|reset|delay|lost"` (see
//! [`FaultPlan::from_env`] and the [`FromStr`] implementation for the names).
//!
//! ```
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use itsm_testkit::sim::SimServer;
//! use itsm_testkit::sim::faults::{FaultKind, FaultPlan, Vendor};
//! use itsm_testkit::sim::servicenow::ServiceNowSim;
//!
//! let plan = FaultPlan::new(42)
//!     .share(0.2)
//!     .kinds(FaultKind::server_errors())
//!     .kinds(FaultKind::rate_limits(Duration::from_secs(1)))
//!     .kind(FaultKind::ConnectionReset)
//!     .kind(FaultKind::ResponseLost)
//!     .vendor(Vendor::ServiceNow);
//! let sim = ServiceNowSim::new();
//! let server = SimServer::start_with_faults(sim.router(), plan).await?;
//! // ... drive a client against server.base_url() ...
//! let log = server.faults();
//! println!("{} of {} requests faulted: {:?}", log.total(), log.requests, log.by_kind());
//!
//! // The same plan, as a soak run sets it:
//! let soak: FaultPlan = "seed=42,share=0.2,kinds=5xx|429|reset|lost".parse()?;
//! assert_eq!(soak.kinds.len(), 7);
//! # Ok(())
//! # }
//! ```

mod conn;
mod inject;

pub(crate) use conn::{FaultListener, Switch};
pub(crate) use inject::{Injector, inject};

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use itsm_core::{Error, ErrorKind};

/// The environment variable [`FaultPlan::from_env`] reads.
pub const FAULTS_ENV: &str = "ITSM_SIM_FAULTS";

/// How long a `delay` named in [`FAULTS_ENV`] without a duration waits: past the adapters'
/// default 30 s timeout.
pub const DEFAULT_ENV_DELAY: Duration = Duration::from_secs(31);

/// The wait a `429` named in [`FAULTS_ENV`] without a duration asks for.
pub const DEFAULT_ENV_RETRY_AFTER: Duration = Duration::from_secs(1);

/// One way a request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// Answer this status without processing the request: meant for 500 (the vendor's error
    /// body), 502 and 503 (a proxy's text page, as a load balancer answers). A code that is
    /// not a valid status is answered as 500.
    Status(u16),
    /// Answer 429 without processing the request. With `retry_after` set, the answer
    /// carries the [vendor's](Vendor) wait headers asking for that wait (rounded up to whole
    /// seconds); without, no wait header at all, so the client must choose its own backoff.
    TooManyRequests {
        /// The wait to ask for, or `None` for a bare 429.
        retry_after: Option<Duration>,
    },
    /// Reset the connection without processing the request or answering: the client sees
    /// a connection error, never an HTTP status.
    ConnectionReset,
    /// Wait this long, then process the request and answer. A client whose timeout is
    /// shorter gives up first; once it has closed the connection the request is dropped
    /// unprocessed.
    Delay(Duration),
    /// Process the request (its write happens), then reset the connection instead of
    /// answering: "processed but the response lost".
    ResponseLost,
}

impl FaultKind {
    /// 500, 502 and 503.
    pub fn server_errors() -> [FaultKind; 3] {
        [500, 502, 503].map(FaultKind::Status)
    }

    /// 429 asking for `retry_after`, and a bare 429.
    pub fn rate_limits(retry_after: Duration) -> [FaultKind; 2] {
        [
            FaultKind::TooManyRequests {
                retry_after: Some(retry_after),
            },
            FaultKind::TooManyRequests { retry_after: None },
        ]
    }

    /// A short name for tallies: `500`, `429+wait`, `429`, `reset`, `delay`, `lost`.
    pub fn label(&self) -> String {
        match self {
            FaultKind::Status(code) => code.to_string(),
            FaultKind::TooManyRequests {
                retry_after: Some(_),
            } => "429+wait".into(),
            FaultKind::TooManyRequests { retry_after: None } => "429".into(),
            FaultKind::ConnectionReset => "reset".into(),
            FaultKind::Delay(_) => "delay".into(),
            FaultKind::ResponseLost => "lost".into(),
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::TooManyRequests {
                retry_after: Some(wait),
            } => write!(f, "429 asking to wait {}s", wait.as_secs_f64()),
            FaultKind::Delay(d) => write!(f, "delay of {}s", d.as_secs_f64()),
            other => f.write_str(&other.label()),
        }
    }
}

/// Whose headers and error bodies the faults imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Vendor {
    /// `Retry-After` only, a plain JSON error body.
    #[default]
    Generic,
    /// `ratelimit-limit` / `ratelimit-remaining` / `ratelimit-reset` (seconds), PagerDuty's
    /// `{"error": {"message", "code"}}` (code 2020 for the 429).
    PagerDuty,
    /// `Retry-After`, `X-RateLimit-Limit`, `X-RateLimit-Reset` (epoch seconds), the
    /// `{"error": {...}, "status": "failure"}` body.
    ServiceNow,
    /// `Retry-After`, `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (an
    /// ISO-8601 time) and `RateLimit-Reason`, the `{"errorMessages": [...]}` body.
    Jira,
}

/// Which requests fail and how: a seed, the share of requests to fault, the kinds to pick
/// from (uniformly), and the [`Vendor`] to imitate.
///
/// Built with [`new`](Self::new) and the builder methods, parsed from text
/// ([`FromStr`]), or read from [`FAULTS_ENV`] ([`from_env`](Self::from_env)).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Seeds the generator: the same seed and request order give the same faults.
    pub seed: u64,
    /// The share of requests faulted, from 0 (none) to 1 (every one); values outside are
    /// clamped, NaN counts as 0.
    pub share: f64,
    /// The kinds a faulted request gets one of (none: no request is faulted).
    pub kinds: Vec<FaultKind>,
    /// Whose headers and bodies the faults imitate.
    pub vendor: Vendor,
}

impl FaultPlan {
    /// A plan seeded with `seed` that faults nothing yet (share 0, no kinds, [`Vendor::Generic`]).
    pub fn new(seed: u64) -> FaultPlan {
        FaultPlan {
            seed,
            share: 0.0,
            kinds: Vec::new(),
            vendor: Vendor::Generic,
        }
    }

    /// Faults this share of requests (clamped to 0..=1; NaN means 0).
    pub fn share(mut self, share: f64) -> FaultPlan {
        self.share = clamp_share(share);
        self
    }

    /// Adds one kind to pick from.
    pub fn kind(mut self, kind: FaultKind) -> FaultPlan {
        self.kinds.push(kind);
        self
    }

    /// Adds kinds to pick from.
    pub fn kinds(mut self, kinds: impl IntoIterator<Item = FaultKind>) -> FaultPlan {
        self.kinds.extend(kinds);
        self
    }

    /// Imitates `vendor`'s headers and bodies.
    pub fn vendor(mut self, vendor: Vendor) -> FaultPlan {
        self.vendor = vendor;
        self
    }

    /// The plan the adapters' fault tests use: `share` of the requests faulted with every
    /// kind a careful client survives without duplicating a write — 500/502/503, 429 with a
    /// one-second wait and bare, connection resets, lost answers — plus answers delayed by
    /// `delay` when given (past the client's timeout, to test timeouts).
    pub fn survivable(seed: u64, share: f64, delay: Option<Duration>) -> FaultPlan {
        let plan = FaultPlan::new(seed)
            .share(share)
            .kinds(FaultKind::server_errors())
            .kinds(FaultKind::rate_limits(Duration::from_secs(1)))
            .kind(FaultKind::ConnectionReset);
        let plan = match delay {
            Some(delay) => plan.kind(FaultKind::Delay(delay)),
            None => plan,
        };
        plan.kind(FaultKind::ResponseLost)
    }

    /// The plan in [`FAULTS_ENV`] (`ITSM_SIM_FAULTS`), or `None` when it is unset or empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when it is set but does not parse, saying what is wrong.
    pub fn from_env() -> Result<Option<FaultPlan>, Error> {
        match std::env::var(FAULTS_ENV) {
            Ok(text) if !text.trim().is_empty() => text.parse().map(Some),
            _ => Ok(None),
        }
    }

    /// The plan of a test run: the one in [`FAULTS_ENV`] when set (a soak run's), else
    /// `default`; with whether it is the default (whose faults a test may count on).
    ///
    /// # Errors
    ///
    /// As [`from_env`](FaultPlan::from_env).
    pub fn from_env_or(default: FaultPlan) -> Result<(FaultPlan, bool), Error> {
        Ok(match FaultPlan::from_env()? {
            Some(plan) => (plan, false),
            None => (default, true),
        })
    }
}

fn clamp_share(share: f64) -> f64 {
    if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    }
}

const EXAMPLE: &str =
    "write e.g. ITSM_SIM_FAULTS=\"seed=42,share=0.2,kinds=5xx|429|reset|delay|lost\"";

const KIND_NAMES: &str = "5xx (500, 502 and 503), 500..599, 429 or 429:<wait> (with and without \
                          wait headers), reset, delay or delay:<duration>, lost; durations as \
                          1500ms or 3s";

fn plan_error(message: String) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("{FAULTS_ENV}: {message}; {EXAMPLE}"),
    )
}

/// Parses `seed=<u64>,share=<0..1>,kinds=<kind>|<kind>...`, the format of [`FAULTS_ENV`].
///
/// Kinds: `5xx` (500, 502 and 503), a status from `500` to `599`, `429` (both a 429 asking
/// to wait [`DEFAULT_ENV_RETRY_AFTER`] and a bare one; `429:<wait>` sets the wait), `reset`,
/// `delay` ([`DEFAULT_ENV_DELAY`]; `delay:<duration>`), `lost`. Durations are written
/// `1500ms` or `3s`. All three keys are required; the vendor stays
/// [`Generic`](Vendor::Generic) (set it with [`FaultPlan::vendor`]).
///
/// ```
/// use std::time::Duration;
/// use itsm_testkit::sim::faults::{FaultKind, FaultPlan};
///
/// let plan: FaultPlan = "seed=7,share=0.5,kinds=503|delay:2s|lost".parse().unwrap();
/// assert_eq!(plan.seed, 7);
/// assert_eq!(plan.kinds, [
///     FaultKind::Status(503),
///     FaultKind::Delay(Duration::from_secs(2)),
///     FaultKind::ResponseLost,
/// ]);
/// let err = "seed=7,share=2,kinds=lost".parse::<FaultPlan>().unwrap_err();
/// assert!(err.to_string().contains("share `2` is not a number from 0 to 1"), "{err}");
/// ```
impl FromStr for FaultPlan {
    type Err = Error;

    fn from_str(text: &str) -> Result<FaultPlan, Error> {
        let mut seed = None;
        let mut share = None;
        let mut kinds = None;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(plan_error(format!("`{part}` is not key=value")));
            };
            let (key, value) = (key.trim(), value.trim());
            let slot_taken = match key {
                "seed" => seed
                    .replace(
                        value.parse::<u64>().map_err(|_| {
                            plan_error(format!("seed `{value}` is not a whole number"))
                        })?,
                    )
                    .is_some(),
                "share" => share
                    .replace(
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|s| (0.0..=1.0).contains(s))
                            .ok_or_else(|| {
                                plan_error(format!("share `{value}` is not a number from 0 to 1"))
                            })?,
                    )
                    .is_some(),
                "kinds" => kinds.replace(parse_kinds(value)?).is_some(),
                other => {
                    return Err(plan_error(format!(
                        "unknown key `{other}`; the keys are seed, share and kinds"
                    )));
                }
            };
            if slot_taken {
                return Err(plan_error(format!("`{key}` is given twice")));
            }
        }
        let missing: Vec<&str> = [
            ("seed", seed.is_none()),
            ("share", share.is_none()),
            ("kinds", kinds.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        match (seed, share, kinds) {
            (Some(seed), Some(share), Some(kinds)) => {
                Ok(FaultPlan::new(seed).share(share).kinds(kinds))
            }
            _ => Err(plan_error(format!("missing {}", missing.join(" and ")))),
        }
    }
}

fn parse_kinds(text: &str) -> Result<Vec<FaultKind>, Error> {
    let mut kinds = Vec::new();
    for name in text.split('|').map(str::trim) {
        let (base, arg) = match name.split_once(':') {
            Some((b, a)) => (b.trim(), Some(a.trim())),
            None => (name, None),
        };
        match (base, arg) {
            ("5xx", None) => kinds.extend(FaultKind::server_errors()),
            ("429", wait) => {
                let wait = wait.map(parse_duration).transpose()?;
                kinds.extend(FaultKind::rate_limits(
                    wait.unwrap_or(DEFAULT_ENV_RETRY_AFTER),
                ));
            }
            ("reset", None) => kinds.push(FaultKind::ConnectionReset),
            ("lost", None) => kinds.push(FaultKind::ResponseLost),
            ("delay", d) => kinds.push(FaultKind::Delay(
                d.map(parse_duration)
                    .transpose()?
                    .unwrap_or(DEFAULT_ENV_DELAY),
            )),
            (code, None) if code.parse::<u16>().is_ok_and(|c| (500..=599).contains(&c)) => {
                kinds.extend(code.parse::<u16>().ok().map(FaultKind::Status));
            }
            _ => {
                return Err(plan_error(format!(
                    "unknown fault kind `{name}`; the kinds are {KIND_NAMES}"
                )));
            }
        }
    }
    Ok(kinds)
}

fn parse_duration(text: &str) -> Result<Duration, Error> {
    let parsed = if let Some(ms) = text.strip_suffix("ms") {
        ms.trim().parse::<u64>().ok().map(Duration::from_millis)
    } else if let Some(s) = text.strip_suffix('s') {
        s.trim().parse::<u64>().ok().map(Duration::from_secs)
    } else {
        None
    };
    parsed.ok_or_else(|| {
        plan_error(format!(
            "duration `{text}` is not a whole number of ms or s (1500ms, 3s)"
        ))
    })
}

/// Calls `op` until it succeeds, at most `attempts` times, as a caller that retries a keyed
/// create after any error does; every error, in order, when no call succeeded.
///
/// ```
/// # async fn run() {
/// use itsm_testkit::sim::faults::until_ok;
///
/// let mut calls = 0;
/// let got = until_ok(3, || {
///     calls += 1;
///     let this = calls;
///     async move { if this < 3 { Err(this) } else { Ok("created") } }
/// })
/// .await;
/// assert_eq!(got, Ok("created"));
/// # }
/// ```
pub async fn until_ok<T, E, F, Fut>(attempts: usize, mut op: F) -> Result<T, Vec<E>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut errors = Vec::new();
    for _ in 0..attempts {
        match op().await {
            Ok(value) => return Ok(value),
            Err(e) => errors.push(e),
        }
    }
    Err(errors)
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// The request's position in arrival order (0 for the first request served).
    pub request: usize,
    /// Its method.
    pub method: String,
    /// Its path.
    pub path: String,
    /// What was done to it.
    pub kind: FaultKind,
}

/// What a server's fault plan did so far: requests seen and faults injected, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultLog {
    /// Requests seen (faulted or not).
    pub requests: usize,
    /// The faults injected, in arrival order of their requests.
    pub injected: Vec<Injected>,
}

impl FaultLog {
    /// How many faults were injected.
    pub fn total(&self) -> usize {
        self.injected.len()
    }

    /// How many faults of exactly `kind` were injected.
    pub fn count(&self, kind: &FaultKind) -> usize {
        self.count_where(|k| k == kind)
    }

    /// How many injected faults match `pred`.
    pub fn count_where(&self, pred: impl Fn(&FaultKind) -> bool) -> usize {
        self.injected.iter().filter(|i| pred(&i.kind)).count()
    }

    /// The tally by [`FaultKind::label`].
    pub fn by_kind(&self) -> BTreeMap<String, usize> {
        let mut tally = BTreeMap::new();
        for i in &self.injected {
            *tally.entry(i.kind.label()).or_insert(0) += 1;
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_format_expands_kind_names() {
        let plan: FaultPlan = "seed=42, share=0.2, kinds=5xx|429|reset|delay|lost"
            .parse()
            .unwrap();
        assert_eq!(plan.seed, 42);
        assert_eq!(plan.share, 0.2);
        assert_eq!(plan.vendor, Vendor::Generic);
        let mut expected = FaultKind::server_errors().to_vec();
        expected.extend(FaultKind::rate_limits(DEFAULT_ENV_RETRY_AFTER));
        expected.extend([
            FaultKind::ConnectionReset,
            FaultKind::Delay(DEFAULT_ENV_DELAY),
            FaultKind::ResponseLost,
        ]);
        assert_eq!(plan.kinds, expected);
        let plan: FaultPlan = "kinds=429:250ms|599,share=1,seed=0".parse().unwrap();
        let mut expected = FaultKind::rate_limits(Duration::from_millis(250)).to_vec();
        expected.push(FaultKind::Status(599));
        assert_eq!(plan.kinds, expected);
    }

    #[test]
    fn a_bad_env_plan_says_what_is_wrong_and_how_to_write_it() {
        for (text, says) in [
            (
                "seed=x,share=0.1,kinds=lost",
                "seed `x` is not a whole number",
            ),
            (
                "seed=1,share=-0.1,kinds=lost",
                "share `-0.1` is not a number",
            ),
            (
                "seed=1,share=0.1,kinds=lost|boom",
                "unknown fault kind `boom`",
            ),
            ("seed=1,share=0.1,kinds=404", "unknown fault kind `404`"),
            ("seed=1,share=0.1,kinds=delay:soon", "duration `soon`"),
            ("seed=1,kinds=lost", "missing share"),
            ("share=0.5", "missing seed and kinds"),
            ("seed=1,seed=2,share=0,kinds=lost", "`seed` is given twice"),
            (
                "seed=1,share=0,kinds=lost,vendor=jira",
                "unknown key `vendor`",
            ),
            ("seed", "`seed` is not key=value"),
        ] {
            let err = text.parse::<FaultPlan>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{text}");
            let shown = err.to_string();
            assert!(shown.contains(says), "{text}: {shown}");
            assert!(
                shown.contains("ITSM_SIM_FAULTS=\"seed=42"),
                "{text}: {shown}"
            );
        }
    }

    #[test]
    fn builder_shares_are_clamped() {
        assert_eq!(FaultPlan::new(1).share(1.5).share, 1.0);
        assert_eq!(FaultPlan::new(1).share(-1.0).share, 0.0);
        assert_eq!(FaultPlan::new(1).share(f64::NAN).share, 0.0);
    }

    #[test]
    fn the_log_tallies_by_kind() {
        let at = |request, kind| Injected {
            request,
            method: "GET".into(),
            path: "/".into(),
            kind,
        };
        let log = FaultLog {
            requests: 5,
            injected: vec![
                at(0, FaultKind::Status(503)),
                at(2, FaultKind::ResponseLost),
                at(4, FaultKind::Status(503)),
            ],
        };
        assert_eq!(log.total(), 3);
        assert_eq!(log.count(&FaultKind::Status(503)), 2);
        assert_eq!(log.count_where(|k| matches!(k, FaultKind::Status(_))), 2);
        assert_eq!(
            log.by_kind(),
            BTreeMap::from([("503".to_owned(), 2), ("lost".to_owned(), 1)])
        );
    }
}
