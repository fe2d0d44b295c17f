//! One small JSON POST through `HttpClient::send_json` versus the same POST with a bare
//! `reqwest::Client`, against an in-process axum server on 127.0.0.1.
//!
//! Run: `cargo bench -p itsm-http --bench post_json -- --warm-up-time 2 --measurement-time 5`

use std::hint::black_box;
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
use criterion::{Criterion, criterion_group, criterion_main};
use itsm_http::{Auth, HttpClient, Request};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Event {
    routing_key: String,
    event_action: String,
    dedup_key: String,
    payload: Payload,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
}

#[derive(Serialize, Deserialize)]
struct Ack {
    status: String,
    message: String,
    dedup_key: String,
}

async fn enqueue(Json(event): Json<Event>) -> Json<Ack> {
    Json(Ack {
        status: "success".into(),
        message: "Event processed".into(),
        dedup_key: event.dedup_key,
    })
}

fn event() -> Event {
    Event {
        routing_key: "R0123456789ABCDEF0123456789ABCDE".into(),
        event_action: "trigger".into(),
        dedup_key: "deploy-checkout-1.4.2".into(),
        payload: Payload {
            summary: "Deploy of checkout 1.4.2 failed health checks".into(),
            source: "ci/pipeline/4242".into(),
            severity: "critical".into(),
        },
    }
}

fn post_json(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new().route("/v2/enqueue", post(enqueue));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        addr
    });
    let base = format!("http://{addr}/");
    let url = format!("{base}v2/enqueue");
    let event = event();

    let client = HttpClient::builder(base.parse().expect("url"))
        .auth(Auth::header(
            "X-Routing-Key",
            "R0123456789ABCDEF0123456789ABCDE",
        ))
        .build()
        .expect("client");
    let bare = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest");

    let mut group = c.benchmark_group("post_json");
    group.bench_function("itsm_http_send_json", |b| {
        b.to_async(&rt).iter(|| async {
            let ack: Ack = client
                .send_json(Request::post("v2/enqueue").json(&event).idempotent(true))
                .await
                .expect("post");
            black_box(ack)
        })
    });
    group.bench_function("bare_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let ack: Ack = bare
                .post(&url)
                .json(&event)
                .send()
                .await
                .expect("post")
                .error_for_status()
                .expect("2xx")
                .json()
                .await
                .expect("decode");
            black_box(ack)
        })
    });
    group.finish();
}

criterion_group!(benches, post_json);
criterion_main!(benches);
