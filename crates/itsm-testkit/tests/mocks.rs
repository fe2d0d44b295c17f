//! The re-exported mocks stand in for the real ports behind `Arc<dyn Trait>`.

use std::sync::Arc;

use itsm_change::{ChangeId, ChangeSystem};
use itsm_core::{ErrorKind, IdempotencyKey, Notification, NotificationTopic, Notifier};
use itsm_incident::Pager;
use itsm_testkit::{MockChangeSystem, MockNotifier, MockPager};

#[tokio::test]
async fn change_mock_returns_what_it_is_told() {
    let mut mock = MockChangeSystem::new();
    mock.expect_get_change()
        .withf(|id| id.as_str() == "CHG1")
        .returning(|id| Err(itsm_core::Error::not_found(format!("no change {id}"))));
    let system: Arc<dyn ChangeSystem> = Arc::new(mock);
    let err = system
        .get_change(&ChangeId::new("CHG1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("no change CHG1"));
}

#[tokio::test]
async fn pager_and_notifier_mocks_record_calls() {
    let mut pager = MockPager::new();
    pager
        .expect_acknowledge()
        .withf(|key, by| key.as_str() == "alert-1" && by.is_none())
        .times(1)
        .returning(|_, _| Ok(()));
    let pager: Arc<dyn Pager> = Arc::new(pager);
    pager
        .acknowledge(&IdempotencyKey::new("alert-1").unwrap(), None)
        .await
        .unwrap();

    let mut notifier = MockNotifier::new();
    notifier
        .expect_notify()
        .withf(|n| n.topic == NotificationTopic::ChangeApprovalRequested)
        .times(1)
        .returning(|_| Ok(()));
    let n = Notification {
        key: IdempotencyKey::new("n-1").unwrap(),
        topic: NotificationTopic::ChangeApprovalRequested,
        recipients: vec![],
        subject: "approve CHG1".into(),
        body: String::new(),
        links: vec![],
        about: vec![],
    };
    notifier.notify(&n).await.unwrap();
}
