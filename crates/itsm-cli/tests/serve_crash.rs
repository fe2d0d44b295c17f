//! Crash safety of the real `itsm serve` binary: alerts it acknowledged survive SIGKILL,
//! a restart processes what was left, and every acknowledged alert ends with exactly one
//! incident in the store.

mod serve_support;

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use itsm_cli::serve::RowState;
use serve_support::{generic, rows, spawn_serve, wait_for};

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
async fn acknowledged_alerts_survive_sigkill_and_each_opens_exactly_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let queue = dir.path().join("alert-queue.db");

    let (mut first, addr) = spawn_serve(dir.path());
    let mut acked = post_alerts(&addr, "before-kill", 200).await;
    assert_eq!(acked.len(), 200, "every alert acknowledged");
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    assert_eq!(
        rows(&queue).len(),
        200,
        "every acknowledged alert is in the file"
    );

    // Restart: what was pending is processed, new alerts join; SIGTERM exits 0.
    let (second, addr) = spawn_serve(dir.path());
    acked.extend(post_alerts(&addr, "after-restart", 50).await);
    wait_for("all processed", Duration::from_secs(60), || {
        let all = rows(&queue);
        all.len() == 250 && all.iter().all(|r| r.state == RowState::Done)
    })
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let output = second.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(0), "graceful exit on SIGTERM");

    // Exactly one incident per acknowledged alert, and none for anything else.
    let db = rusqlite::Connection::open(dir.path().join("itsm.db")).unwrap();
    let keys: Vec<String> = db
        .prepare("SELECT key FROM incident")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        keys.len(),
        acked.len(),
        "one incident per acknowledged alert"
    );
    let opened: HashSet<_> = keys.into_iter().collect();
    let acked: HashSet<_> = acked.into_iter().collect();
    assert_eq!(opened, acked);
}
