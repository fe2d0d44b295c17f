//! # itsm-core
//!
//! The shared vocabulary of itsm-rs: identifiers ([`ServiceId`], [`TeamId`],
//! [`Environment`] with its production notion, [`IdempotencyKey`]...), [`Person`],
//! [`ExternalRef`] and [`Link`], [`Notification`] and the [`Notifier`] trait, an injectable
//! [`Clock`], [`Capabilities`], paged [`Listing`]s, and the one [`Error`] type with its
//! [`ErrorKind`].
//!
//! It has no HTTP and no database: the domain crates (`itsm-change`, `itsm-incident`,
//! `itsm-audit`, `itsm-specialist`) and every adapter build on it.
//!
//! ```
//! use itsm_core::{Environment, Error, ErrorKind, IdempotencyKey, ServiceId};
//!
//! let service = ServiceId::new("checkout")?;
//! let env: Environment = "prod-eu".parse()?;
//! assert!(env.is_production());
//!
//! let err = Error::new(ErrorKind::PolicyDenied, "no approved change for checkout 1.4.2");
//! assert!(!err.is_retryable());
//! # let _ = service;
//! # Ok::<(), itsm_core::Error>(())
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mock` | `mockall` mocks of the traits ([`MockNotifier`]), re-exported by `itsm-testkit` |

pub mod capability;
pub mod clock;
pub mod error;
pub mod ids;
pub mod listing;
pub mod notify;
pub mod people;

pub use capability::{Capabilities, Capability};
pub use clock::{Clock, ManualClock, SystemClock, format_instant};
pub use error::{Error, ErrorKind, Result};
pub use ids::{
    CommitId, Environment, IdempotencyKey, PipelineRunId, ServiceId, TeamId, TenantId, Version,
};
pub use listing::{ListRequest, Listing};
#[cfg(feature = "mock")]
pub use notify::MockNotifier;
pub use notify::{Notification, NotificationTopic, Notifier, Recipient};
pub use people::{ExternalRef, Link, Person};

// Re-exported so that domain crates and adapters use the same versions.
pub use time;
pub use url;

#[cfg(test)]
mod object_safety {
    use super::*;
    static_assertions::assert_obj_safe!(Notifier, Clock);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn Notifier>: Send, Sync);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn Clock>: Send, Sync);
    static_assertions::assert_impl_all!(Error: Send, Sync, std::error::Error);
}
