//! Property tests of the `[pagerduty]` table: arbitrary text and mutations of a full table
//! never panic; whatever TOML refuses has a message, an unknown key is refused by name;
//! whatever `validate` refuses is a `Config` error with a message; no secret shows in
//! `Debug` output or in error text.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-pagerduty --test prop_config`.

use itsm_pagerduty::PagerDutyConfig;

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

itsm_testkit::config_properties!(PagerDutyConfig, TABLE, MARK, tables = ["", "[rate_limits]"]);
