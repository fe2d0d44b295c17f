//! Finding the outside parts a test needs (a database, a mock server, a spec file) through
//! environment variables, the same way in every test: where one is absent the test says it
//! skipped and passes, except under `ITSM_CI=1`, where an absent part is a failure.

/// The value of `var`, or `None` after printing that the test is skipped because `what` is
/// missing.
///
/// # Panics
///
/// Under `ITSM_CI=1` when `var` is unset or empty: CI must run every test.
pub fn outside_part(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            assert!(
                !in_ci(),
                "{var} is not set: CI (ITSM_CI=1) must run the tests that need {what}; \
                 `.ci/run` sets it"
            );
            eprintln!("skipped: {var} is not set, so the test that needs {what} did not run");
            None
        }
    }
}

/// Whether this is a CI run (`ITSM_CI=1`), where skipping is not allowed.
pub fn in_ci() -> bool {
    std::env::var("ITSM_CI").as_deref() == Ok("1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_variable_is_returned() {
        // PATH is set in every environment tests run in.
        assert_eq!(outside_part("PATH", "a PATH"), std::env::var("PATH").ok());
    }

    #[test]
    fn an_unset_variable_skips_outside_ci() {
        if in_ci() {
            let caught = std::panic::catch_unwind(|| {
                outside_part("ITSM_TEST_SURELY_UNSET_VARIABLE", "nothing")
            });
            assert!(caught.is_err(), "under ITSM_CI=1 a missing part must fail");
        } else {
            assert_eq!(
                outside_part("ITSM_TEST_SURELY_UNSET_VARIABLE", "nothing"),
                None
            );
        }
    }
}
