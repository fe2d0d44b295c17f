//! Property tests of alerting profile files (`AlertingProfile::from_toml`): arbitrary text
//! and mutations of the shipped default profile never panic; whatever is refused is an
//! `InvalidInput` error with a message; an unknown key is refused by name; whatever is
//! accepted renders back to TOML that reads as the same profile.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-incident --test prop_profile`.

use itsm_core::ErrorKind;
use itsm_incident::profile::AlertingProfile;
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::select;

const DEFAULT: &str = include_str!("../profiles/default.toml");

fn check(text: &str) -> Result<(), TestCaseError> {
    match AlertingProfile::from_toml(text) {
        Ok(profile) => {
            let rendered = profile.to_toml().expect("an accepted profile renders");
            let again = AlertingProfile::from_toml(&rendered);
            prop_assert_eq!(again.as_ref().ok(), Some(&profile), "{:?}", again);
        }
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
            prop_assert!(!e.message().trim().is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        check(&text)?;
    }

    #[test]
    fn mutated_default_profiles_are_read_or_refused_with_a_reason(
        text in fuzz::mutated_toml(DEFAULT),
    ) {
        check(&text)?;
    }

    #[test]
    fn byte_mutations_never_panic(bytes in fuzz::mutated_bytes(DEFAULT.as_bytes().to_vec())) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn an_unknown_key_is_refused_by_name(
        key in fuzz::unknown_field_name(),
        table in select(vec!["", "[paging]", "[priorities]", "[[links]]"]),
    ) {
        // Into the root table, or the first line of a table (`[[links]]`: its first entry).
        let text = if table.is_empty() {
            format!("{key} = 1\n{DEFAULT}")
        } else {
            DEFAULT.replacen(&format!("\n{table}\n"), &format!("\n{table}\n{key} = 1\n"), 1)
        };
        prop_assert_ne!(&text, DEFAULT);
        let e = AlertingProfile::from_toml(&text).unwrap_err();
        prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
        prop_assert!(e.message().contains(&key), "{} does not name {}", e, key);
    }
}
