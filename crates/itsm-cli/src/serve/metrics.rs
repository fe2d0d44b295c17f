//! Counters, a gauge and histograms for `GET /metrics`, in the Prometheus text exposition
//! format (version 0.0.4), written by hand with atomics.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    /// Per bucket (not cumulative); the last slot is `+Inf`.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub(crate) fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|&bound| secs <= bound)
            .unwrap_or(BUCKETS.len());
        if let Some(count) = self.counts.get(slot) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0u64;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        if let Some(inf) = self.counts.last() {
            cumulative += inf.load(Ordering::Relaxed);
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// Everything `/metrics` shows.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Alerts durably queued.
    pub(crate) received: AtomicU64,
    /// Alerts processed.
    pub(crate) processed: AtomicU64,
    /// Alerts that failed for good (dead letters).
    pub(crate) failed: AtomicU64,
    /// Retries scheduled.
    pub(crate) retried: AtomicU64,
    /// Requests refused: malformed (400), unauthenticated (401), too large (413), store
    /// unavailable (503).
    pub(crate) rejected_400: AtomicU64,
    pub(crate) rejected_401: AtomicU64,
    pub(crate) rejected_413: AtomicU64,
    pub(crate) rejected_503: AtomicU64,
    /// Pending rows.
    pub(crate) queue_depth: AtomicI64,
    /// From request start to answer, for alert requests.
    pub(crate) request_latency: Histogram,
    /// One processing attempt.
    pub(crate) processing_latency: Histogram,
    /// Webhook deliveries, by [`DELIVERY_RESULTS`].
    pub(crate) deliveries: [AtomicU64; DELIVERY_RESULTS.len()],
    /// Sync events applied by the worker, by [`SYNC_OUTCOMES`].
    pub(crate) sync_outcomes: [AtomicU64; SYNC_OUTCOMES.len()],
}

/// How a webhook delivery was answered.
pub(crate) const DELIVERY_RESULTS: [&str; 4] =
    ["accepted", "duplicate", "unauthorized", "malformed"];
/// What the sync engine did with an event.
pub(crate) const SYNC_OUTCOMES: [&str; 6] = [
    "applied",
    "duplicate",
    "stale",
    "echo",
    "unsupported",
    "no_counterpart",
];

impl Metrics {
    /// Counts a delivery with `result` (one of [`DELIVERY_RESULTS`]).
    pub(crate) fn delivery(&self, result: &str) {
        count(&self.deliveries, &DELIVERY_RESULTS, result);
    }

    /// Counts a sync event with `outcome` (one of [`SYNC_OUTCOMES`]).
    pub(crate) fn sync_outcome(&self, outcome: &str) {
        count(&self.sync_outcomes, &SYNC_OUTCOMES, outcome);
    }
}

fn count(counters: &[AtomicU64], labels: &[&str], label: &str) {
    if let Some(slot) = labels.iter().position(|l| *l == label)
        && let Some(counter) = counters.get(slot)
    {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn labelled(out: &mut String, name: &str, help: &str, label: &str, pairs: (&[&str], &[AtomicU64])) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (value, counter) in pairs.0.iter().zip(pairs.1) {
        let _ = writeln!(
            out,
            "{name}{{{label}=\"{value}\"}} {}",
            counter.load(Ordering::Relaxed)
        );
    }
}

impl Metrics {
    /// The exposition text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        };
        counter(
            &mut out,
            "itsm_alerts_received_total",
            "Alerts accepted and durably queued.",
            &self.received,
        );
        counter(
            &mut out,
            "itsm_alerts_processed_total",
            "Alerts processed successfully.",
            &self.processed,
        );
        counter(
            &mut out,
            "itsm_alerts_failed_total",
            "Alerts that failed for good (dead letters).",
            &self.failed,
        );
        counter(
            &mut out,
            "itsm_alerts_retried_total",
            "Processing retries scheduled after a retryable failure.",
            &self.retried,
        );
        let _ = writeln!(
            out,
            "# HELP itsm_alert_requests_rejected_total Alert requests refused, by status code."
        );
        let _ = writeln!(out, "# TYPE itsm_alert_requests_rejected_total counter");
        for (code, value) in [
            ("400", &self.rejected_400),
            ("401", &self.rejected_401),
            ("413", &self.rejected_413),
            ("503", &self.rejected_503),
        ] {
            let _ = writeln!(
                out,
                "itsm_alert_requests_rejected_total{{code=\"{code}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP itsm_alert_queue_depth Alerts waiting in the queue."
        );
        let _ = writeln!(out, "# TYPE itsm_alert_queue_depth gauge");
        let _ = writeln!(
            out,
            "itsm_alert_queue_depth {}",
            self.queue_depth.load(Ordering::Relaxed).max(0)
        );
        self.request_latency.render(
            &mut out,
            "itsm_alert_request_duration_seconds",
            "Time from an alert request's arrival to its answer.",
        );
        self.processing_latency.render(
            &mut out,
            "itsm_alert_processing_duration_seconds",
            "Time of one processing attempt of one alert.",
        );
        labelled(
            &mut out,
            "itsm_webhook_deliveries_total",
            "Vendor webhook deliveries, by how they were answered.",
            "result",
            (&DELIVERY_RESULTS, &self.deliveries),
        );
        labelled(
            &mut out,
            "itsm_sync_events_total",
            "Webhook sync events handled, by what the sync engine did.",
            "outcome",
            (&SYNC_OUTCOMES, &self.sync_outcomes),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::default();
        metrics.request_latency.observe(Duration::from_micros(200));
        metrics.request_latency.observe(Duration::from_millis(3));
        metrics.request_latency.observe(Duration::from_secs(9));
        metrics.received.fetch_add(5, Ordering::Relaxed);
        let text = metrics.render();
        assert!(text.contains("itsm_alerts_received_total 5\n"), "{text}");
        assert!(
            text.contains("itsm_alert_request_duration_seconds_bucket{le=\"0.0001\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("itsm_alert_request_duration_seconds_bucket{le=\"0.00025\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("itsm_alert_request_duration_seconds_bucket{le=\"0.005\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("itsm_alert_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("itsm_alert_request_duration_seconds_count 3\n"),
            "{text}"
        );
    }

    #[test]
    fn webhook_counters_are_labelled() {
        let metrics = Metrics::default();
        metrics.delivery("accepted");
        metrics.delivery("accepted");
        metrics.delivery("unauthorized");
        metrics.sync_outcome("echo");
        metrics.sync_outcome("not-an-outcome");
        let text = metrics.render();
        assert!(
            text.contains("itsm_webhook_deliveries_total{result=\"accepted\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("itsm_webhook_deliveries_total{result=\"unauthorized\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("itsm_sync_events_total{outcome=\"echo\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("itsm_sync_events_total{outcome=\"applied\"} 0\n"),
            "{text}"
        );
    }
}
