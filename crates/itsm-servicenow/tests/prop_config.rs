//! Property tests of the `[servicenow]` table: arbitrary text and mutations of a full table
//! never panic; whatever TOML refuses has a message, an unknown key is refused by name;
//! whatever `validate` refuses is a `Config` error with a message; no secret shows in
//! `Debug` output or in error text.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-servicenow --test prop_config`.

use itsm_servicenow::ServiceNowConfig;
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::select;

/// Every secret of [`TABLE`] holds this.
const MARK: &str = "S3CR3T";

const TABLE: &str = r#"instance_url = "https://acme.service-now.com/"
username = "itsm.integration"
password = "pw-S3CR3T-basic"
timeout_seconds = 30
max_attempts = 4
rate_limit_per_second = 5.0

[fields]
version = "u_itsm_version"
environment = "u_itsm_environment"
template_service = "u_itsm_service"
template_environments = "u_itsm_environments"

[change_states]
closed = "107"

[incident]
close_codes = { solved = "Solved (Permanently)" }

[change]
approve_emergency = true

[webhook]
username = "itsm-webhook"
password = "hook-S3CR3T-pw"
"#;

fn check(text: &str) -> Result<(), TestCaseError> {
    fuzz::check_config::<ServiceNowConfig>(text, MARK, ServiceNowConfig::validate)
}

#[test]
fn the_base_table_is_valid() {
    toml::from_str::<ServiceNowConfig>(TABLE)
        .unwrap()
        .validate()
        .unwrap();
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        check(&text)?;
    }

    #[test]
    fn mutated_tables_are_read_or_refused_with_a_reason(text in fuzz::mutated_toml(TABLE)) {
        check(&text)?;
    }

    #[test]
    fn byte_mutations_never_panic(bytes in fuzz::mutated_bytes(TABLE.as_bytes().to_vec())) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn an_unknown_key_is_refused_by_name(
        key in fuzz::unknown_field_name(),
        table in select(vec!["", "[fields]", "[change_states]", "[incident]", "[change]", "[webhook]"]),
    ) {
        let text = fuzz::with_unknown_key(TABLE, table, &key);
        prop_assert_ne!(&text, TABLE);
        let e = toml::from_str::<ServiceNowConfig>(&text).err();
        prop_assert!(e.as_ref().is_some_and(|e| e.message().contains(&key)), "{:?}", e);
    }
}
