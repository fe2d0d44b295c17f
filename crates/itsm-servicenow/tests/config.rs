//! `[servicenow]` from TOML, the `SERVICENOW_*` overlay, validation, and that no secret
//! appears in `Debug` output or error text.

use itsm_core::ErrorKind;
use itsm_servicenow::{ServiceNow, ServiceNowConfig};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(serde::Deserialize)]
struct File {
    servicenow: ServiceNowConfig,
}

fn parse(text: &str) -> ServiceNowConfig {
    toml::from_str::<File>(text).unwrap().servicenow
}

#[test]
fn the_table_reads_with_servicenow_defaults() {
    let config = parse(
        r#"
        [servicenow]
        instance_url = "https://acme.service-now.com/"
        username = "itsm.integration"

        [servicenow.fields]
        version = "u_release"

        [servicenow.change_states]
        closed = "107"

        [servicenow.incident]
        close_codes = { solved = "Solved (Permanently)" }
        "#,
    );
    assert_eq!(config.fields.version, "u_release");
    assert_eq!(config.fields.correlation, "correlation_id");
    assert_eq!(config.change_states.closed, "107");
    assert_eq!(config.change_states.new, "-5");
    assert_eq!(config.incident_states.resolved, "6");
    assert_eq!(
        config.change_close_codes.successful_with_issues,
        "successful_issues"
    );
    assert_eq!(
        config
            .incident
            .close_codes
            .get("solved")
            .map(String::as_str),
        Some("Solved (Permanently)")
    );
    let err = config.validate().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("SERVICENOW_PASSWORD"), "{err}");
    let unknown = toml::from_str::<File>("[servicenow]\ninstance = \"x\"\n");
    assert!(unknown.is_err(), "unknown keys are refused");
}

#[test]
fn the_environment_overlays_the_file() {
    let mut config = parse("[servicenow]\nusername = \"file-user\"\n");
    config
        .apply_env_with(|name| match name {
            "SERVICENOW_INSTANCE_URL" => Some("https://env.service-now.com".into()),
            "SERVICENOW_PASSWORD" => Some("env-s3cret".into()),
            "SERVICENOW_WEBHOOK_TOKEN" => Some("hook-tok".into()),
            "SERVICENOW_USERNAME" => Some(String::new()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        config.instance_url.as_ref().map(|u| u.host_str()),
        Some(Some("env.service-now.com"))
    );
    assert_eq!(
        config.username.as_deref(),
        Some("file-user"),
        "empty values are ignored"
    );
    config.validate().unwrap();
    assert!(config.webhook.is_configured());
    let bad = parse("[servicenow]\n")
        .apply_env_with(|n| (n == "SERVICENOW_INSTANCE_URL").then(|| "not a url".into()))
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Config);
}

#[test]
fn validation_names_what_to_fix() {
    let url = url::Url::parse("https://acme.service-now.com/").unwrap();
    let mut both = ServiceNowConfig::bearer(url.clone(), "tok");
    both.username = Some("u".into());
    assert!(
        both.validate()
            .unwrap_err()
            .to_string()
            .contains("both a token")
    );
    let missing = ServiceNowConfig::default().validate().unwrap_err();
    assert!(missing.to_string().contains("instance_url is missing"));
    let mut no_version = ServiceNowConfig::basic(url.clone(), "u", "p");
    no_version.fields.version = String::new();
    assert!(
        no_version
            .validate()
            .unwrap_err()
            .to_string()
            .contains("fields.version")
    );
    let mut half_hook = ServiceNowConfig::basic(url, "u", "p");
    half_hook.webhook.username = Some("hook".into());
    assert!(
        half_hook
            .validate()
            .unwrap_err()
            .to_string()
            .contains("webhook")
    );
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
            "status": "failure"
        })))
        .mount(&server)
        .await;
    let mut config = ServiceNowConfig::basic(
        url::Url::parse(&server.uri()).unwrap(),
        "itsm.integration",
        "pw-S3CRET-1",
    );
    config.webhook.username = Some("hook".into());
    config.webhook.password = Some("hook-S3CRET-2".to_owned().into());
    let mut with_token =
        ServiceNowConfig::bearer(url::Url::parse(&server.uri()).unwrap(), "tok-S3CRET-3");
    with_token.webhook.token = Some("hook-S3CRET-4".to_owned().into());
    let adapter = ServiceNow::new(config.clone()).unwrap();
    let err = itsm_change::ChangeSystem::get_change(
        &adapter,
        &itsm_change::ChangeId::new("abc").unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let shown = format!(
        "{config:?} {with_token:?} {adapter:?} {:?} {err} {err:?}",
        ServiceNow::new(with_token.clone()).unwrap()
    );
    for secret in [
        "pw-S3CRET-1",
        "hook-S3CRET-2",
        "tok-S3CRET-3",
        "hook-S3CRET-4",
        "aXRzbS5pbnRlZ3JhdGlvbjpwdy1TM0NSRVQtMQ",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("[REDACTED]"));
    assert!(
        shown.contains("itsm.integration"),
        "the user name is not secret"
    );
}

#[test]
fn the_catalog_section_reads_with_defaults_and_is_validated() {
    let base = r#"
        [servicenow]
        instance_url = "https://acme.service-now.com/"
        token = "tok-9f8e7d"
    "#;
    let config = parse(&format!(
        r#"{base}
        [servicenow.catalog]
        checkout = "cart"
        key_field = "correlation_id"

        [[servicenow.catalog.items]]
        sys_id = "0d08837237153000158bbfc8bcbe5d02"
        id = "dba.new-database"
        team = "dba"
        response_target_minutes = 60

        [[servicenow.catalog.categories]]
        sys_id = "b0fdfb01932002009ca87a75e57ffbd9"
        team = "network"

        [servicenow.catalog.states]
        fulfilled = "11"
        "#
    ));
    config.validate().unwrap();
    let catalog = &config.catalog;
    assert_eq!(catalog.checkout, itsm_servicenow::config::Checkout::Cart);
    assert_eq!(catalog.items[0].offering_id(), "dba.new-database");
    assert_eq!(catalog.items[0].resolution_target_minutes, None);
    assert_eq!(catalog.categories[0].team, "network");
    assert_eq!(catalog.states.fulfilled, "11");
    assert_eq!(catalog.states.submitted, "1");
    assert_eq!(catalog.variables.key, "itsm_key");
    assert!(!format!("{config:?}").contains("tok-9f8e7d"));

    let refused = [
        (
            "[[servicenow.catalog.items]]\nsys_id = \"a\"\nteam = \"dba\"\n[[servicenow.catalog.items]]\nsys_id = \"a\"\nteam = \"dba\"",
            "repeats the offering id",
        ),
        (
            "[[servicenow.catalog.items]]\nsys_id = \"\"\nteam = \"dba\"",
            "empty sys_id",
        ),
        (
            "[[servicenow.catalog.categories]]\nsys_id = \"c\"\nteam = \"\"",
            "not a team id",
        ),
        (
            "[servicenow.catalog.states]\ncancelled = \"4\"",
            "share the code",
        ),
        (
            "[servicenow.catalog.variables]\nkey = \" \"",
            "variables] key must not be empty",
        ),
    ];
    for (section, expected) in refused {
        let config = parse(&format!("{base}\n{section}\n"));
        let e = config.validate().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains(expected), "{section}: {e}");
        assert!(!e.to_string().contains("tok-9f8e7d"));
    }
}
