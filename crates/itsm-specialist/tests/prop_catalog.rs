//! Property tests of specialist catalog files (`CatalogFile::parse`): arbitrary text and
//! mutations of the example catalog never panic; whatever is refused is an `InvalidInput`
//! error with a message; whatever is accepted passes the catalog's own checks; unknown keys
//! are ignored (the catalog format is tolerant) and change nothing.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-specialist --test prop_catalog`.

use itsm_core::ErrorKind;
use itsm_specialist::CatalogFile;
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::select;

const EXAMPLE: &str = include_str!("../../../examples/specialists/catalog.toml");

fn check(text: &str) -> Result<(), TestCaseError> {
    match CatalogFile::parse(text) {
        Ok(file) => prop_assert!(file.validate().is_ok()),
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
    fn mutated_catalogs_are_read_or_refused_with_a_reason(text in fuzz::mutated_toml(EXAMPLE)) {
        check(&text)?;
    }

    #[test]
    fn byte_mutations_never_panic(bytes in fuzz::mutated_bytes(EXAMPLE.as_bytes().to_vec())) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn unknown_keys_change_nothing(
        key in fuzz::unknown_field_name(),
        table in select(vec!["", "[[team]]", "[[offering]]"]),
    ) {
        let text = if table.is_empty() {
            format!("{key} = 1\n{EXAMPLE}")
        } else {
            EXAMPLE.replacen(&format!("\n{table}\n"), &format!("\n{table}\n{key} = 1\n"), 1)
        };
        prop_assert_ne!(&text, EXAMPLE);
        prop_assert_eq!(CatalogFile::parse(&text).ok(), Some(CatalogFile::parse(EXAMPLE).unwrap()));
    }
}
