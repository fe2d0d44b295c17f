//! A recording proxy (used once, before measuring) and the bare-reqwest replay of what it
//! recorded: the bare client sends exactly the adapter's requests (method, path, query,
//! headers, body), with the idempotency key swapped for each iteration.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

/// One request the adapter sent.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: reqwest::Method,
    /// Path and query, starting with `/`.
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    log: Arc<Mutex<Vec<Recorded>>>,
}

/// The proxy: listening address and the log of what went through it.
pub(crate) struct Recorder {
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Proxies `127.0.0.1:<free port>` to `upstream` (`http://127.0.0.1:PORT`).
    pub(crate) async fn start(upstream: &str) -> std::io::Result<Recorder> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            log: log.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(forward).with_state(proxy);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Recorder { addr, log, task })
    }

    /// The requests recorded since the last call.
    pub(crate) fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return status(StatusCode::BAD_REQUEST);
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let Ok(method) = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()) else {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    };
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "host" | "content-length"))
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let recorded = Recorded {
        method,
        target,
        headers,
        body: body.to_vec(),
    };
    proxy
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(recorded.clone());
    match send(&proxy.client, &proxy.upstream, &recorded, None).await {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status().as_u16());
            for (name, value) in answer.headers() {
                if name.as_str() != "content-length" && name.as_str() != "transfer-encoding" {
                    response = response.header(name.as_str(), value.as_bytes());
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            response
                .body(Body::from(bytes))
                .unwrap_or_else(|_| status(StatusCode::BAD_GATEWAY))
        }
        Err(_) => status(StatusCode::BAD_GATEWAY),
    }
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

/// Sends `r` to `base`, replacing `swap.0` by `swap.1` in the target and the body.
pub(crate) async fn send(
    client: &reqwest::Client,
    base: &str,
    r: &Recorded,
    swap: Option<(&str, &str)>,
) -> reqwest::Result<reqwest::Response> {
    let (target, body) = match swap {
        Some((from, to)) => (
            r.target.replace(from, to),
            String::from_utf8_lossy(&r.body)
                .replace(from, to)
                .into_bytes(),
        ),
        None => (r.target.clone(), r.body.clone()),
    };
    let mut request = client.request(r.method.clone(), format!("{base}{target}"));
    for (name, value) in &r.headers {
        request = request.header(name.as_str(), value.as_slice());
    }
    if !body.is_empty() {
        request = request.body(body);
    }
    request.send().await
}

/// The bare-reqwest version of one operation: the recorded requests in order, each answer
/// read whole and decoded as JSON (as the adapter decodes every answer). Returns `false`
/// when an answer was not a success.
pub(crate) async fn replay(
    client: &reqwest::Client,
    base: &str,
    requests: &[Recorded],
    swap: Option<(&str, &str)>,
) -> bool {
    for r in requests {
        let Ok(answer) = send(client, base, r, swap).await else {
            return false;
        };
        if !answer.status().is_success() {
            return false;
        }
        let Ok(bytes) = answer.bytes().await else {
            return false;
        };
        if !bytes.is_empty() && serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
            return false;
        }
    }
    true
}
