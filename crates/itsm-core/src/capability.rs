//! What a backend supports.
//!
//! Every port trait has a `capabilities()` method. A caller checks it before relying on an
//! optional operation; an adapter answers an unsupported call with
//! [`ErrorKind::Unsupported`], never a panic.
//!
//! Capabilities are open-ended: each domain crate declares its own constants, and a custom
//! adapter may declare more.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// One optional operation or behaviour, named `domain.operation` (`change.templates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(&'static str);

impl Capability {
    /// Declares a capability; by convention `domain.operation`.
    pub const fn new(name: &'static str) -> Self {
        Capability(name)
    }

    /// The capability's name.
    pub const fn name(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The set of capabilities a backend declares, with the backend's name for error messages.
///
/// ```
/// use itsm_core::{Capabilities, Capability, ErrorKind};
/// const NOTES: Capability = Capability::new("incident.notes");
/// const MAJOR: Capability = Capability::new("incident.major");
///
/// let caps = Capabilities::new("jira").with(NOTES);
/// assert!(caps.supports(NOTES));
/// let err = caps.require(MAJOR).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unsupported);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    backend: &'static str,
    set: BTreeSet<Capability>,
}

impl Capabilities {
    /// No capabilities yet, for the named backend.
    pub fn new(backend: &'static str) -> Self {
        Capabilities {
            backend,
            set: BTreeSet::new(),
        }
    }

    /// Adds one capability.
    pub fn with(mut self, capability: Capability) -> Self {
        self.set.insert(capability);
        self
    }

    /// Adds several capabilities.
    pub fn with_all(mut self, capabilities: impl IntoIterator<Item = Capability>) -> Self {
        self.set.extend(capabilities);
        self
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Whether the capability is declared.
    pub fn supports(&self, capability: Capability) -> bool {
        self.set.contains(&capability)
    }

    /// `Ok` when supported, an [`ErrorKind::Unsupported`] error naming both otherwise.
    pub fn require(&self, capability: Capability) -> Result<()> {
        if self.supports(capability) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Unsupported,
                format!("the {} backend does not support {capability}", self.backend),
            )
            .with_context("capability", capability))
        }
    }

    /// The declared capabilities, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.set.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_names_backend_and_capability() {
        const A: Capability = Capability::new("x.a");
        let err = Capabilities::new("servicenow").require(A).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(
            err.to_string()
                .contains("the servicenow backend does not support x.a")
        );
        let caps = Capabilities::new("local").with_all([A, Capability::new("x.b")]);
        assert!(caps.require(A).is_ok());
        assert_eq!(
            caps.iter().map(Capability::name).collect::<Vec<_>>(),
            ["x.a", "x.b"]
        );
    }
}
