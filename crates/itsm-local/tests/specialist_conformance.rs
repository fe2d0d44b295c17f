//! The shared `SpecialistCatalog` conformance suite against the local store.

mod common;

use itsm_specialist::CatalogFile;
use itsm_testkit::conformance;

#[tokio::test]
async fn local_store_passes_the_specialist_suite_with_nothing_skipped() {
    let (_dir, store, _clock) = common::store();
    let file =
        CatalogFile::parse(include_str!("../../../examples/specialists/catalog.toml")).unwrap();
    store.load_specialist_catalog(&file).await.unwrap();
    let report = conformance::specialist::run_all(&store).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert_eq!(report.passed().len(), 7, "{report:?}");
}
