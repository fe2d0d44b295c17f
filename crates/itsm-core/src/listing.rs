//! Paged listings, mapped by adapters onto each vendor's pagination
//! (offset/limit, `sysparm_offset`, `nextPageToken`, cursors).

use serde::{Deserialize, Serialize};

/// Which page of a listing to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRequest {
    /// At most this many items (the backend may cap it lower); `None` = backend default.
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page; `None` = first page.
    pub cursor: Option<String>,
}

impl ListRequest {
    /// The first page with the backend's default size.
    pub fn first() -> Self {
        Self::default()
    }

    /// The first page of at most `limit` items.
    pub fn with_limit(limit: u32) -> Self {
        ListRequest {
            limit: Some(limit),
            cursor: None,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The cursor of the next page, `None` on the last page.
    pub next: Option<String>,
}

impl<T> Listing<T> {
    /// A last (or only) page.
    pub fn complete(items: Vec<T>) -> Self {
        Listing { items, next: None }
    }
}
