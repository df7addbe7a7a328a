//! Prometheus metrics, names prefixed `oktasync_`. Labels name orgs, kinds, buckets, routes
//! and statuses, never a user or group (their number is unbounded).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use oktasync_engine::RunSummary;
use std::sync::OnceLock;
use std::time::Instant;

/// The process's recorder (one per process: `metrics` has one global recorder).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0, 60.0, 120.0, 300.0,
                ])
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder installed first (a test harness): this one still renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Records a finished run.
pub fn record_run(org: &str, summary: &RunSummary) {
    let (org, kind, outcome) = (
        org.to_owned(),
        summary.kind.as_str(),
        summary.outcome.as_str(),
    );
    metrics::counter!("oktasync_runs_total", "org" => org.clone(), "kind" => kind, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("oktasync_run_duration_seconds", "org" => org.clone(), "kind" => kind)
        .record(summary.duration_s);
    for (bucket, calls) in &summary.calls_by_bucket {
        metrics::counter!("oktasync_okta_api_calls_total", "org" => org.clone(), "bucket" => bucket.clone())
            .increment(*calls);
    }
    for (bucket, throttled) in &summary.http_429_by_bucket {
        metrics::counter!("oktasync_okta_http_429_total", "org" => org.clone(), "bucket" => bucket.clone())
            .increment(*throttled);
    }
    // Fractions of a second matter here: a gauge takes them (a `metrics` counter counts
    // whole units).
    metrics::gauge!("oktasync_okta_rate_limit_wait_seconds_total", "org" => org)
        .increment(summary.rate_limit_wait_s);
}

/// Records a run abandoned because the server stopped.
pub fn record_interrupted(org: &str) {
    metrics::counter!("oktasync_runs_total", "org" => org.to_owned(), "kind" => "unknown", "outcome" => "interrupted")
        .increment(1);
}

/// Sets how stale each org's mirror is: seconds since its last successful run ended.
pub fn set_freshness(org: &str, seconds: f64) {
    metrics::gauge!("oktasync_mirror_age_seconds", "org" => org.to_owned()).set(seconds);
}

/// Counts requests by route (the route's pattern, not the path) and status.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("oktasync_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("oktasync_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Records one attempt to deliver changes to a feed sink.
pub fn record_delivery(sink: &str, outcome: &'static str, changes: u64) {
    metrics::counter!("oktasync_feed_deliveries_total", "sink" => sink.to_owned(), "outcome" => outcome)
        .increment(1);
    if changes > 0 {
        metrics::counter!("oktasync_feed_changes_delivered_total", "sink" => sink.to_owned())
            .increment(changes);
    }
}
