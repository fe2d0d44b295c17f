//! What every suite's check scope shares: keys and service names unique to one check's
//! call, and assertions whose failure names the check and the backend.

use std::fmt::Debug;

use itsm_core::{ErrorKind, IdempotencyKey, Result, ServiceId};

use crate::conformance::unique_token;

/// Names and keys unique to one check's call; domain scopes deref to it.
pub(crate) struct CheckScope {
    pub(crate) check: &'static str,
    pub(crate) backend: &'static str,
    pub(crate) token: String,
}

impl CheckScope {
    pub(crate) fn new(check: &'static str, backend: &'static str) -> CheckScope {
        CheckScope {
            check,
            backend,
            token: unique_token(),
        }
    }

    pub(crate) fn key(&self, what: &str) -> IdempotencyKey {
        IdempotencyKey::new(format!("conformance/{}/{}/{what}", self.token, self.check))
            .expect("a valid idempotency key")
    }

    pub(crate) fn service(&self) -> ServiceId {
        ServiceId::new(format!("conformance-{}-{}", self.token, self.check))
            .expect("a valid service id")
    }

    /// Panics unless `result` is an error of `kind`.
    #[track_caller]
    pub(crate) fn expect_err<T: Debug>(&self, result: Result<T>, kind: ErrorKind, what: &str) {
        match result {
            Err(e) if e.kind() == kind => {}
            Err(e) => panic!(
                "conformance check {} on the {} backend: {what} should fail with {kind:?}, \
                 but failed with {:?}: {e}",
                self.check,
                self.backend,
                e.kind()
            ),
            Ok(v) => panic!(
                "conformance check {} on the {} backend: {what} should fail with {kind:?}, \
                 but succeeded with {v:?}",
                self.check, self.backend
            ),
        }
    }

    /// Panics with the check and backend unless `condition` holds.
    #[track_caller]
    pub(crate) fn expect(&self, condition: bool, what: impl std::fmt::Display) {
        assert!(
            condition,
            "conformance check {} on the {} backend: {what}",
            self.check, self.backend
        );
    }
}
