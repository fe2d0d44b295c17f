//! Stateful vendor simulators (one submodule per vendor: [`jira`], [`pagerduty`],
//! [`servicenow`]) and serving them on loopback: [`SimServer::start`] binds `127.0.0.1:0`,
//! serves an axum router on it, and stops when dropped.

pub mod jira;
pub mod pagerduty;
pub mod servicenow;

use std::net::SocketAddr;

use axum::Router;
use tokio::task::JoinHandle;

/// A router served on a free loopback port until dropped.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SimServer {
    /// Serves `router` on `127.0.0.1:<free port>` from the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start(router: Router) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // Serving only ends when the task is aborted; an accept error ends it early
            // and the client then sees connection errors, which the test reports.
            let _ = axum::serve(listener, router).await;
        });
        Ok(SimServer { addr, task })
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
