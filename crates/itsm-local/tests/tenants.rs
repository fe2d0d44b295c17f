//! Tenants' alerting profiles: onboarding once, versions appended, history kept.

mod common;

use itsm_core::{ErrorKind, TenantId};
use time::Duration;

#[tokio::test]
async fn onboarding_tuning_and_history() {
    let (_dir, store, clock) = common::store();
    let acme = TenantId::new("acme").unwrap();
    assert_eq!(store.tenant(&acme).await.unwrap(), None);

    let first = store
        .onboard_tenant(&acme, "default", "[thresholds]\nerror_rate = 0.05\n", 1)
        .await
        .unwrap();
    let err = store
        .onboard_tenant(&acme, "default", "", 1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("set_tenant_profile"), "{err}");

    clock.advance(Duration::days(3));
    let tuned = store
        .set_tenant_profile(&acme, "strict", "[thresholds]\nerror_rate = 0.01\n", 2)
        .await
        .unwrap();
    let err = store
        .set_tenant_profile(&acme, "strict", "", 2)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "a version must grow");

    let current = store.tenant(&acme).await.unwrap().unwrap();
    assert_eq!(current, tuned);
    assert_eq!(current.profile_name, "strict");
    assert_eq!(current.updated_at, first.updated_at + Duration::days(3));
    let history = store.tenant_profile_history(&acme).await.unwrap();
    assert_eq!(history, [first.clone(), tuned.clone()]);

    let globex = TenantId::new("globex").unwrap();
    let err = store
        .set_tenant_profile(&globex, "default", "", 1)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    store
        .onboard_tenant(&globex, "default", "", 1)
        .await
        .unwrap();
    let all: Vec<(String, u32)> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.tenant.to_string(), t.version))
        .collect();
    assert_eq!(all, [("acme".to_owned(), 2), ("globex".to_owned(), 1)]);

    for (name, version) in [(" ", 1), ("default", 0)] {
        let err = store
            .onboard_tenant(&TenantId::new("x").unwrap(), name, "", version)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?} {version}");
    }
}
