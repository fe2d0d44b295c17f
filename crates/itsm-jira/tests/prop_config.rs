//! Property tests of the `[jira]` table: arbitrary text and mutations of a full table never
//! panic; whatever TOML refuses has a message, an unknown key is refused by name; whatever
//! `validate` refuses is a `Config` error with a message; no secret shows in `Debug` output
//! or in error text.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-jira --test prop_config`.

use itsm_jira::JiraConfig;
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::select;

/// Every secret of [`TABLE`] holds this.
const MARK: &str = "S3CR3T";

const TABLE: &str = r#"site_url = "https://example.atlassian.net"
email = "itsm@example.com"
api_token = "file-token-S3CR3T"
webhook_secret = "hook-S3CR3T"
key_carrier = "label"
label_prefix = "itsm-"

[incident]
project = "OPS"
issue_type = "Incident"
service_field = "components"
major = { label = "major-incident" }
priorities = ["Highest", "High", "Medium", "Low", "Lowest"]
resolutions = { fixed = "Done", "duplicate" = "Duplicate" }
statuses = { new = ["Open"], acknowledged = ["Acknowledged"], resolved = ["Resolved"], closed = ["Closed"] }

[change]
service_desk_id = "1"
project = "CHG"
normal_request_type = "10"
emergency_request_type = "11"
resolutions = { successful = "Done", successful_with_issues = "Done with issues", unsuccessful = "Failed" }
statuses = { authorize = ["Awaiting approval"], scheduled = ["Awaiting implementation"] }

[[change.templates]]
id = "checkout-release"
request_type = "12"
service = "checkout"
environments = ["production"]
fields = { customfield_10100 = { value = "Low" } }

[specialist]
service_desk_id = "2"
project = "DBA"

[[specialist.offerings]]
request_type = "20"
team = "dba"
response_target_minutes = 60
resolution_target_minutes = 1440
"#;

fn check(text: &str) -> Result<(), TestCaseError> {
    fuzz::check_config::<JiraConfig>(text, MARK, JiraConfig::validate)
}

#[test]
fn the_base_table_is_valid() {
    toml::from_str::<JiraConfig>(TABLE)
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
        table in select(vec!["", "[incident]", "[change]", "[[change.templates]]", "[specialist]", "[[specialist.offerings]]"]),
    ) {
        let text = fuzz::with_unknown_key(TABLE, table, &key);
        prop_assert_ne!(&text, TABLE);
        let e = toml::from_str::<JiraConfig>(&text).err();
        prop_assert!(e.as_ref().is_some_and(|e| e.message().contains(&key)), "{:?}", e);
    }
}
