//! Property tests of the `[jira]` table: arbitrary text and mutations of a full table never
//! panic; whatever TOML refuses has a message, an unknown key is refused by name; whatever
//! `validate` refuses is a `Config` error with a message; no secret shows in `Debug` output
//! or in error text.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-jira --test prop_config`.

use itsm_jira::JiraConfig;

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

itsm_testkit::config_properties!(
    JiraConfig,
    TABLE,
    MARK,
    tables = [
        "",
        "[incident]",
        "[change]",
        "[[change.templates]]",
        "[specialist]",
        "[[specialist.offerings]]"
    ]
);
