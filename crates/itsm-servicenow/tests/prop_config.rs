//! Property tests of the `[servicenow]` table: arbitrary text and mutations of a full table
//! never panic; whatever TOML refuses has a message, an unknown key is refused by name;
//! whatever `validate` refuses is a `Config` error with a message; no secret shows in
//! `Debug` output or in error text.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-servicenow --test prop_config`.

use itsm_servicenow::ServiceNowConfig;

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

itsm_testkit::config_properties!(
    ServiceNowConfig,
    TABLE,
    MARK,
    tables = [
        "",
        "[fields]",
        "[change_states]",
        "[incident]",
        "[change]",
        "[webhook]"
    ]
);
