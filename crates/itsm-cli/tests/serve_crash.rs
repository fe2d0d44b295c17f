//! Crash safety of the real `itsm serve` binary: alerts it acknowledged survive SIGKILL,
//! a restart keeps them, and a server with a processor on the same queue file then
//! processes each acknowledged alert exactly once.
//!
//! The binary has no incident processor wired yet (it runs accept-only), so the "after
//! restart" processing is done by an in-process server on the same file.

mod serve_support;

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use itsm_cli::serve::RowState;
use serve_support::{TestProcessor, config, generic, rows, spawn_serve, start, wait_for};

/// Posts `n` distinct alerts (prefix `tag`) 8 at a time; returns the dedup keys acknowledged.
async fn post_alerts(addr: &str, tag: &str, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/v1/alerts");
    let mut acked = Vec::new();
    for batch in (0..n).collect::<Vec<_>>().chunks(8) {
        let sends = batch.iter().map(|i| {
            let key = format!("{tag}-{i}");
            let request = client.post(&url).body(generic("Crash", "firing", &key));
            async move { (key, request.send().await) }
        });
        for (key, result) in futures_join(sends).await {
            if result.is_ok_and(|r| r.status().as_u16() == 202) {
                acked.push(key);
            }
        }
    }
    acked
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_alerts_survive_sigkill_and_are_processed_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let queue = dir.path().join("alert-queue.db");

    let (mut first, addr) = spawn_serve(dir.path());
    let mut acked = post_alerts(&addr, "before-kill", 200).await;
    assert_eq!(acked.len(), 200, "every alert acknowledged");
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    let stored = rows(&queue);
    assert_eq!(stored.len(), 200, "every acknowledged alert is in the file");
    assert!(stored.iter().all(|r| r.state == RowState::Pending));

    // Restart: the old rows stay, new ones join them; SIGTERM exits 0.
    let (second, addr) = spawn_serve(dir.path());
    acked.extend(post_alerts(&addr, "after-restart", 50).await);
    let status = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let output = second.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(0), "graceful exit on SIGTERM");
    let stored = rows(&queue);
    assert_eq!(stored.len(), 250);
    assert!(stored.iter().all(|r| r.state == RowState::Pending));

    // A server with a processor on the same file processes each exactly once.
    let processor = TestProcessor::new();
    let server = start(config(queue.clone()), Some(processor.clone())).await;
    wait_for("all processed", Duration::from_secs(20), || {
        rows(&queue).iter().all(|r| r.state == RowState::Done)
    })
    .await;
    server.stop().await.unwrap();
    let calls: Vec<String> = processor.calls().into_iter().map(|c| c.key).collect();
    assert_eq!(calls.len(), acked.len(), "no alert processed twice");
    let processed: HashSet<_> = calls.into_iter().collect();
    let acked: HashSet<_> = acked.into_iter().collect();
    assert_eq!(processed, acked);
}
