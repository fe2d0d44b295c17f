//! Exit codes, as documented in `--help` and the README.

use std::process::ExitCode;

use itsm_core::ErrorKind;

/// Success, or allowed.
pub(crate) const OK: u8 = 0;
/// Any other error.
pub(crate) const ERROR: u8 = 1;
/// Bad flags, bad input, malformed configuration.
pub(crate) const USAGE: u8 = 2;
/// Denied by policy.
pub(crate) const DENIED: u8 = 3;
/// The backend could not be reached or gave an unusable answer.
pub(crate) const UNAVAILABLE: u8 = 4;

/// The exit code for an error of `kind`.
pub(crate) fn for_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::Config => USAGE,
        ErrorKind::PolicyDenied => DENIED,
        ErrorKind::Unavailable
        | ErrorKind::Timeout
        | ErrorKind::RateLimited
        | ErrorKind::InvalidResponse => UNAVAILABLE,
        _ => ERROR,
    }
}

/// Converts to the process's exit code.
pub(crate) fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_documented_code() {
        for kind in ErrorKind::ALL {
            let expected = match kind {
                ErrorKind::InvalidInput | ErrorKind::Config => 2,
                ErrorKind::PolicyDenied => 3,
                ErrorKind::Unavailable
                | ErrorKind::Timeout
                | ErrorKind::RateLimited
                | ErrorKind::InvalidResponse => 4,
                _ => 1,
            };
            assert_eq!(for_kind(kind), expected, "{kind:?}");
        }
    }
}
