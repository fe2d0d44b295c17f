//! The `[jira]` table, the JIRA_* overlay, validation, and that no secret leaks.

mod common;

use itsm_core::ErrorKind;
use itsm_incident::IncidentSystem;
use itsm_jira::{Jira, JiraConfig, KeyCarrier, MajorFlag};

const TABLE: &str = r#"
site_url = "https://example.atlassian.net"
email = "itsm@example.com"
api_token = "file-token-s3cr3t"
webhook_secret = "hook-s3cr3t"
key_carrier = "property"

[incident]
project = "OPS"
service_field = "customfield_10050"
major = { field = { id = "customfield_10060", value = "Major" } }
priorities = ["Blocker", "Critical", "Major", "Minor", "Trivial"]
resolutions = { fixed = "Fixed" }
statuses = { acknowledged = ["Triage"] }

[change]
service_desk_id = "4"
project = "CHG"
normal_request_type = "41"
statuses = { scheduled = ["Approved"] }
resolutions = { successful = "Done", successful_with_issues = "Done", unsuccessful = "Backed out" }

[[change.templates]]
id = "checkout-release"
request_type = "42"
service = "checkout"
environments = ["production"]
fields = { customfield_10100 = { value = "Low" } }
"#;

fn parsed() -> JiraConfig {
    toml::from_str(TABLE).unwrap()
}

#[test]
fn the_table_deserialises_with_defaults() {
    let c = parsed();
    c.validate().unwrap();
    assert_eq!(c.key_carrier, KeyCarrier::Property);
    assert_eq!(c.label_prefix, "itsm-");
    let i = c.incident.as_ref().unwrap();
    assert_eq!(i.issue_type, "Incident");
    assert_eq!(
        i.major,
        MajorFlag::Field {
            id: "customfield_10060".into(),
            value: "Major".into()
        }
    );
    assert_eq!(i.statuses.acknowledged, ["Triage"]);
    assert_eq!(
        i.statuses.new,
        ["Open", "To Do", "New"],
        "unset states keep their defaults"
    );
    let ch = c.change.as_ref().unwrap();
    assert_eq!(ch.statuses.scheduled, ["Approved"]);
    assert_eq!(ch.templates[0].fields["customfield_10100"]["value"], "Low");
    assert!(toml::from_str::<JiraConfig>("site_url = \"https://x\"\nbogus = 1").is_err());
}

#[test]
fn env_variables_win_over_the_file() {
    let mut c = parsed();
    c.apply_vars(|name| match name {
        "JIRA_SITE_URL" => Some("https://other.atlassian.net".into()),
        "JIRA_API_TOKEN" => Some("env-token-s3cr3t".into()),
        "JIRA_INCIDENT_PROJECT" => Some("INC".into()),
        "JIRA_CHANGE_SERVICE_DESK_ID" => Some("9".into()),
        "JIRA_EMAIL" => Some("  ".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(c.site_url.host_str(), Some("other.atlassian.net"));
    assert_eq!(c.incident.as_ref().unwrap().project, "INC");
    assert_eq!(c.change.as_ref().unwrap().service_desk_id, "9");
    assert_eq!(
        c.email.as_deref(),
        Some("itsm@example.com"),
        "blank values are ignored"
    );
    let err = c
        .apply_vars(|n| (n == "JIRA_SITE_URL").then(|| "not a url".into()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn validate_names_what_is_wrong() {
    let mut c = parsed();
    c.api_token = None;
    let err = c.validate().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("JIRA_API_TOKEN"), "{err}");
    let mut c = parsed();
    c.bearer_token = Some("b".to_owned().into());
    assert!(c.validate().unwrap_err().to_string().contains("not both"));
    let mut c = parsed();
    c.incident.as_mut().unwrap().service_field = "team".into();
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("service_field")
    );
    let mut c = parsed();
    c.incident = None;
    c.change = None;
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("[jira.incident]")
    );
    assert!(
        Jira::new({
            let mut c = parsed();
            c.email = None;
            c
        })
        .is_err()
    );
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let c = parsed();
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("file-token-s3cr3t") && !shown.contains("hook-s3cr3t"),
        "{shown}"
    );
    assert!(shown.contains("[REDACTED]"));
    // An adapter pointed at a closed port: the error names the site, never the token.
    let mut c = common::config("http://127.0.0.1:9/");
    c.webhook_secret = Some("hook-s3cr3t".to_owned().into());
    let jira = Jira::with_retry_policy(c, itsm_http::RetryPolicy::none()).unwrap();
    let shown = format!("{jira:?} {:?}", jira.webhook_source());
    assert!(
        !shown.contains(common::TOKEN) && !shown.contains("hook-s3cr3t"),
        "{shown}"
    );
    let err = jira
        .get_incident(&itsm_incident::IncidentId::new("OPS-1").unwrap())
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(common::TOKEN), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
}

#[tokio::test]
async fn unconfigured_record_kinds_are_unsupported() {
    let mut c = common::config("http://127.0.0.1:9/");
    c.change = None;
    c.specialist = None;
    let jira = Jira::new(c).unwrap();
    assert!(
        itsm_change::ChangeSystem::capabilities(&jira)
            .iter()
            .next()
            .is_none()
    );
    let err =
        itsm_change::ChangeSystem::get_change(&jira, &itsm_change::ChangeId::new("CHG-1").unwrap())
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("[jira.change]"), "{err}");
    assert!(
        IncidentSystem::capabilities(&jira).supports(itsm_incident::capability::INCIDENT_MAJOR)
    );
}

#[test]
fn the_example_configuration_is_valid() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/jira-service-management/itsm.toml"
    );
    let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut c: JiraConfig = file["jira"].clone().try_into().unwrap();
    c.apply_vars(|n| match n {
        "JIRA_EMAIL" => Some("itsm@example.com".into()),
        "JIRA_API_TOKEN" => Some("t".into()),
        _ => None,
    })
    .unwrap();
    c.validate().unwrap();
    assert_eq!(
        c.change.as_ref().unwrap().templates[0].id,
        "checkout-release"
    );
    assert_eq!(
        c.specialist.as_ref().unwrap().offerings[0].team.as_str(),
        "dba"
    );
}

#[test]
fn timeout_seconds_defaults_to_30_and_zero_is_refused() {
    let c = parsed();
    assert_eq!(c.timeout_seconds, 30);
    let mut zero: JiraConfig = toml::from_str(&format!("timeout_seconds = 0\n{TABLE}")).unwrap();
    let err = zero.validate().unwrap_err();
    assert!(err.to_string().contains("timeout_seconds"), "{err}");
    zero.timeout_seconds = 5;
    zero.validate().unwrap();
}

/// An answer slower than `timeout_seconds` is a timeout, not a wait without end.
#[tokio::test]
async fn a_slow_site_times_out_after_timeout_seconds() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({}))
                .set_delay(std::time::Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let mut config = common::config(&server.uri());
    config.timeout_seconds = 1;
    let jira = itsm_jira::Jira::with_retry_policy(config, itsm_http::RetryPolicy::none()).unwrap();
    let err = itsm_incident::IncidentSystem::get_incident(
        &jira,
        &itsm_incident::IncidentId::new("OPS-1").unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), itsm_core::ErrorKind::Timeout, "{err}");
}
