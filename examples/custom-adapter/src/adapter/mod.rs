//! The itsm-rs adapter for Tickety: [`Tickety`] implements
//! [`IncidentSystem`](itsm_incident::IncidentSystem) over Tickety's tickets and
//! [`ChangeSystem`](itsm_change::ChangeSystem) over its changes.
//!
//! | module | holds |
//! |---|---|
//! | `config` | [`TicketyConfig`]: URL, token (a `SecretString`, redacted in `Debug`), retries |
//! | `client` | the one `itsm_http::HttpClient` and which requests are safe to repeat |
//! | `wire` | Tickety's JSON as tolerant models |
//! | `vocab` | Tickety's words for our enums, both directions from one `match` each |
//! | `incident` | `impl IncidentSystem` |
//! | `change` | `impl ChangeSystem` |

mod change;
mod client;
mod config;
mod incident;
mod vocab;
mod wire;

use itsm_core::{ListRequest, Listing, Result};

pub use change::change_capabilities;
pub use config::TicketyConfig;
pub use incident::incident_capabilities;
pub use wire::SYSTEM;

use client::TicketyClient;
use wire::Page;

/// The backend name in [`Capabilities`](itsm_core::Capabilities) and error messages.
pub const BACKEND: &str = "tickety";

/// The Tickety adapter. Use it as `Arc<dyn IncidentSystem>` and `Arc<dyn ChangeSystem>`.
///
/// Cheap to clone (clones share connections); `Debug` shows no credentials.
///
/// ```no_run
/// use std::sync::Arc;
/// use custom_adapter::adapter::{Tickety, TicketyConfig};
/// use itsm_change::ChangeSystem;
/// use itsm_incident::IncidentSystem;
///
/// # fn main() -> itsm_core::Result<()> {
/// let config = TicketyConfig::new("https://acme.tickety.example/".parse().unwrap(), "token");
/// let tickety = Tickety::new(config)?;
/// let incidents: Arc<dyn IncidentSystem> = Arc::new(tickety.clone());
/// let changes: Arc<dyn ChangeSystem> = Arc::new(tickety);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Tickety {
    client: TicketyClient,
}

impl Tickety {
    /// An adapter for the site in `config`.
    ///
    /// Fails with [`ErrorKind::Config`](itsm_core::ErrorKind::Config) for an empty token or a
    /// base URL itsm-http cannot use. Nothing is sent until the first call.
    pub fn new(config: TicketyConfig) -> Result<Tickety> {
        Ok(Tickety {
            client: TicketyClient::new(&config)?,
        })
    }
}

/// The query parameters of one page: Tickety's `limit` and `cursor` are ours as they are.
fn page_query(page: &ListRequest) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(limit) = page.limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = &page.cursor {
        query.push(("cursor", cursor.clone()));
    }
    query
}

/// A Tickety page as a [`Listing`], each item converted.
fn listing<W, T>(page: Page<W>, convert: fn(W) -> Result<T>) -> Result<Listing<T>> {
    Ok(Listing {
        items: page.items.into_iter().map(convert).collect::<Result<_>>()?,
        next: page.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_map_to_limit_and_cursor() {
        assert!(page_query(&ListRequest::first()).is_empty());
        let next = ListRequest {
            limit: Some(3),
            cursor: Some("6".into()),
        };
        assert_eq!(
            page_query(&next),
            [("limit", "3".to_owned()), ("cursor", "6".to_owned())]
        );
    }
}
