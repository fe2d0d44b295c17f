//! Stateful vendor simulators (one submodule per vendor: [`jira`], [`pagerduty`],
//! [`servicenow`]) and serving them on loopback: [`SimServer::start`] binds `127.0.0.1:0`,
//! serves an axum router on it, and stops when dropped.
//! [`SimServer::start_with_faults`] serves it behind a seeded [fault plan](faults): a share
//! of requests answered 5xx or 429, reset, delayed, or processed with the answer lost.

pub mod faults;
pub mod jira;
pub mod pagerduty;
pub mod servicenow;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::task::JoinHandle;

use faults::{FaultListener, FaultLog, FaultPlan, Injector, Switch};

/// A router served on a free loopback port until dropped.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
    injector: Option<Arc<Injector>>,
}

impl SimServer {
    /// Serves `router` on `127.0.0.1:<free port>` from the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start(router: Router) -> std::io::Result<SimServer> {
        Self::serve(router, None).await
    }

    /// Serves `router` like [`start`](Self::start), every request first going through
    /// `plan` (see [`faults`] for what each kind does); [`faults`](Self::faults) tells what
    /// was injected.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start_with_faults(router: Router, plan: FaultPlan) -> std::io::Result<SimServer> {
        Self::serve(router, Some(Arc::new(Injector::new(plan)))).await
    }

    async fn serve(router: Router, injector: Option<Arc<Injector>>) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = match &injector {
            Some(injector) => router.layer(axum::middleware::from_fn_with_state(
                injector.clone(),
                faults::inject,
            )),
            None => router,
        };
        let service = router.into_make_service_with_connect_info::<Switch>();
        let task = tokio::spawn(async move {
            // Serving only ends when the task is aborted; an accept error ends it early
            // and the client then sees connection errors, which the test reports.
            let _ = axum::serve(FaultListener::new(listener), service).await;
        });
        Ok(SimServer {
            addr,
            task,
            injector,
        })
    }

    /// What the fault plan did so far (empty for a server started without one).
    pub fn faults(&self) -> FaultLog {
        self.injector.as_ref().map(|i| i.log()).unwrap_or_default()
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[tokio::test]
    async fn serves_the_router_until_dropped() {
        let server = SimServer::start(Router::new().route("/ping", get(|| async { "pong" })))
            .await
            .unwrap();
        let addr = server.addr();
        let answer = raw_get(addr, "/ping").await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("pong"), "{answer}");
        drop(server);
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            raw_get(addr, "/ping").await.is_err(),
            "still serving after drop"
        );
    }

    async fn raw_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await?;
        if text.is_empty() {
            return Err(std::io::Error::other("empty answer"));
        }
        Ok(text)
    }
}
