//! Property tests of the `[pagerduty]` table: arbitrary text and mutations of a full table
//! never panic; whatever TOML refuses has a message, an unknown key is refused by name;
//! whatever `validate` refuses is a `Config` error with a message; no secret shows in
//! `Debug` output or in error text.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-pagerduty --test prop_config`.

use itsm_pagerduty::PagerDutyConfig;
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::select;

/// Every secret of [`TABLE`] holds this.
const MARK: &str = "S3CR3T";

const TABLE: &str = r#"api_token = "tok-S3CR3T-api"
routing_key = "R0UTING-S3CR3T-0000000000000000"
webhook_secrets = ["whsec-S3CR3T-1", "whsec-S3CR3T-2"]
from_email = "itsm-bot@example.com"
rest_url = "http://127.0.0.1:9/"
events_url = "http://127.0.0.1:9/v2/"
default_service = "PIJ90N7"
default_escalation_policy = "PT20YPA"
incident_manager_escalation_policy = "PIM0001"
trigger_lookup_attempts = 3

[routing_keys]
checkout = "checkout-S3CR3T-routing"

[teams]
payments = "PEPPAY1"

[rate_limits]
rest_per_minute = 960
events_per_minute = 120
"#;

fn check(text: &str) -> Result<(), TestCaseError> {
    fuzz::check_config::<PagerDutyConfig>(text, MARK, PagerDutyConfig::validate)
}

#[test]
fn the_base_table_is_valid() {
    toml::from_str::<PagerDutyConfig>(TABLE)
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
        table in select(vec!["", "[rate_limits]"]),
    ) {
        let text = fuzz::with_unknown_key(TABLE, table, &key);
        prop_assert_ne!(&text, TABLE);
        let e = toml::from_str::<PagerDutyConfig>(&text).err();
        prop_assert!(e.as_ref().is_some_and(|e| e.message().contains(&key)), "{:?}", e);
    }
}
