//! The one error type shared by every itsm-rs crate.
//!
//! An [`Error`] carries an [`ErrorKind`] (what category of failure happened), a message
//! written for a person, optional key/value context (which service, which change...), an
//! optional source error, and for throttling an optional retry-after delay.
//!
//! HTTP adapters map vendor status codes to kinds in exactly one place (`itsm-http`); the
//! rest of the code decides what to do from the kind alone.

use std::fmt;
use std::time::Duration;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The category of a failure.
///
/// Kinds are stable and matchable; new kinds may be added in minor releases, so match with a
/// wildcard arm.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller gave input that cannot be accepted (empty id, bad timestamp, unknown field).
    InvalidInput,
    /// The record, endpoint or object asked for does not exist.
    NotFound,
    /// The request conflicts with the current state (already closed, edited concurrently).
    Conflict,
    /// The credentials are missing, wrong or expired.
    Unauthenticated,
    /// The credentials are valid but not allowed to do this.
    PermissionDenied,
    /// The backend throttled the caller; see [`Error::retry_after`].
    RateLimited,
    /// The backend could not be reached or answered with a server error.
    Unavailable,
    /// The backend did not answer in time.
    Timeout,
    /// The backend or adapter does not support this operation (see `Capabilities`).
    Unsupported,
    /// A policy refused the action (no approved change, freeze window, rejected change).
    PolicyDenied,
    /// The backend answered, but with something that could not be understood.
    InvalidResponse,
    /// Configuration is missing or malformed.
    Config,
    /// An unexpected failure inside itsm-rs or a store it owns (a bug, a corrupt database).
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order (useful for exhaustive tests and docs).
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Unauthenticated,
        ErrorKind::PermissionDenied,
        ErrorKind::RateLimited,
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
        ErrorKind::Unsupported,
        ErrorKind::PolicyDenied,
        ErrorKind::InvalidResponse,
        ErrorKind::Config,
        ErrorKind::Internal,
    ];

    /// A short description of what happened, for a person.
    pub fn description(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict with the current state",
            ErrorKind::Unauthenticated => "not authenticated",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::RateLimited => "rate limited by the backend",
            ErrorKind::Unavailable => "backend unavailable",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Unsupported => "not supported by this backend",
            ErrorKind::PolicyDenied => "denied by policy",
            ErrorKind::InvalidResponse => "unusable answer from the backend",
            ErrorKind::Config => "configuration error",
            ErrorKind::Internal => "internal error",
        }
    }

    /// What the person who sees the error can do about it.
    pub fn hint(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "correct the input and try again",
            ErrorKind::NotFound => "check the identifier, or create the record first",
            ErrorKind::Conflict => "reload the record and retry against its current state",
            ErrorKind::Unauthenticated => "check the configured credentials",
            ErrorKind::PermissionDenied => {
                "grant the configured account the needed role, or use another account"
            }
            ErrorKind::RateLimited => "wait and retry, or lower the request rate",
            ErrorKind::Unavailable => "retry later; check that the backend is up and reachable",
            ErrorKind::Timeout => "retry later, or raise the timeout",
            ErrorKind::Unsupported => "use a backend that supports it (see its capabilities)",
            ErrorKind::PolicyDenied => "meet the policy (for example get the change approved)",
            ErrorKind::InvalidResponse => {
                "check the backend URL and version; report it if it persists"
            }
            ErrorKind::Config => "fix the configuration file or environment variables",
            ErrorKind::Internal => "report this as a bug with the message above",
        }
    }

    /// Whether an operation that failed with this kind may succeed if repeated unchanged.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error type of every itsm-rs operation.
///
/// ```
/// use itsm_core::{Error, ErrorKind};
///
/// let err = Error::new(ErrorKind::NotFound, "no change for service checkout")
///     .with_context("version", "1.4.2");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert_eq!(
///     err.to_string(),
///     "not found: no change for service checkout (version: 1.4.2); \
///      check the identifier, or create the record first"
/// );
/// ```
pub struct Error {
    kind: ErrorKind,
    message: String,
    context: Vec<(&'static str, String)>,
    source: Option<BoxError>,
    retry_after: Option<Duration>,
    retryable: Option<bool>,
}

impl Error {
    /// A new error of `kind` with a message that says what happened.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            context: Vec::new(),
            source: None,
            retry_after: None,
            retryable: None,
        }
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::Unsupported`], naming the operation and the backend.
    pub fn unsupported(operation: &str, backend: &str) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            format!("{operation} is not supported by the {backend} backend"),
        )
        .with_context("operation", operation)
    }

    /// Adds a key/value pair of context (which service, which record...).
    ///
    /// Never put credentials in context: it is part of `Display` and `Debug`.
    pub fn with_context(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        self.context.push((key, value.to_string()));
        self
    }

    /// Sets the underlying cause.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets how long the backend asked the caller to wait before retrying.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Overrides whether the error is retryable (by default decided by the kind).
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = Some(retryable);
        self
    }

    /// The category of the failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without kind, context or hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The context pairs, in the order they were added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// The value of one context key, if present.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// How long the backend asked the caller to wait, when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether repeating the same operation unchanged may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable.unwrap_or_else(|| self.kind.is_retryable())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if !self.context.is_empty() {
            f.write_str(" (")?;
            for (i, (k, v)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}: {v}")?;
            }
            f.write_str(")")?;
        }
        if let Some(after) = self.retry_after {
            write!(f, " [retry after {}s]", after.as_secs_f64())?;
        }
        write!(f, "; {}", self.kind.hint())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("message", &self.message)
            .field("context", &self.context);
        if let Some(after) = self.retry_after {
            d.field("retry_after", &after);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_of_every_kind_says_what_happened_and_what_to_do() {
        let expected = [
            (
                ErrorKind::InvalidInput,
                "invalid input: boom; correct the input and try again",
            ),
            (
                ErrorKind::NotFound,
                "not found: boom; check the identifier, or create the record first",
            ),
            (
                ErrorKind::Conflict,
                "conflict with the current state: boom; reload the record and retry against its current state",
            ),
            (
                ErrorKind::Unauthenticated,
                "not authenticated: boom; check the configured credentials",
            ),
            (
                ErrorKind::PermissionDenied,
                "permission denied: boom; grant the configured account the needed role, or use another account",
            ),
            (
                ErrorKind::RateLimited,
                "rate limited by the backend: boom; wait and retry, or lower the request rate",
            ),
            (
                ErrorKind::Unavailable,
                "backend unavailable: boom; retry later; check that the backend is up and reachable",
            ),
            (
                ErrorKind::Timeout,
                "timed out: boom; retry later, or raise the timeout",
            ),
            (
                ErrorKind::Unsupported,
                "not supported by this backend: boom; use a backend that supports it (see its capabilities)",
            ),
            (
                ErrorKind::PolicyDenied,
                "denied by policy: boom; meet the policy (for example get the change approved)",
            ),
            (
                ErrorKind::InvalidResponse,
                "unusable answer from the backend: boom; check the backend URL and version; report it if it persists",
            ),
            (
                ErrorKind::Config,
                "configuration error: boom; fix the configuration file or environment variables",
            ),
            (
                ErrorKind::Internal,
                "internal error: boom; report this as a bug with the message above",
            ),
        ];
        assert_eq!(expected.len(), ErrorKind::ALL.len());
        for (kind, text) in expected {
            assert_eq!(Error::new(kind, "boom").to_string(), text, "{kind:?}");
        }
    }

    #[test]
    fn context_and_retry_after_appear_in_display() {
        let err = Error::new(ErrorKind::RateLimited, "429 from pagerduty")
            .with_context("endpoint", "POST /incidents")
            .with_context("attempts", 3)
            .with_retry_after(Duration::from_secs(30));
        assert_eq!(
            err.to_string(),
            "rate limited by the backend: 429 from pagerduty (endpoint: POST /incidents, attempts: 3) \
             [retry after 30s]; wait and retry, or lower the request rate"
        );
        assert_eq!(err.context_value("attempts"), Some("3"));
        assert_eq!(err.context_value("missing"), None);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    }

    #[test]
    fn retryable_follows_kind_unless_overridden() {
        for kind in ErrorKind::ALL {
            let expected = matches!(
                kind,
                ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
            );
            assert_eq!(Error::new(kind, "x").is_retryable(), expected, "{kind:?}");
        }
        assert!(
            !Error::new(ErrorKind::Unavailable, "x")
                .with_retryable(false)
                .is_retryable()
        );
        assert!(
            Error::new(ErrorKind::Conflict, "x")
                .with_retryable(true)
                .is_retryable()
        );
    }

    #[test]
    fn source_chain_is_exposed() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = Error::new(ErrorKind::Unavailable, "cannot reach backend").with_source(io);
        let source = std::error::Error::source(&err).expect("source");
        assert_eq!(source.to_string(), "refused");
        assert!(format!("{err:?}").contains("refused"));
    }

    #[test]
    fn unsupported_names_operation_and_backend() {
        let err = Error::unsupported("create_template", "jira");
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(
            err.to_string()
                .contains("create_template is not supported by the jira backend")
        );
    }
}
