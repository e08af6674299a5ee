//! Documents: checksum deduplication, the status machine, kept bytes, idempotent completion, delete.

use meta_chat_database::documents::{self as docs, Inserted, NewContent};
use meta_chat_database::testkit::TestDb;
use meta_chat_database::testkit::seed::{self, connect};
use meta_chat_shared::ids::{DocumentId, TenantId};

use crate::{as_tenant, complete, created, upload};

const MODEL: (&str, usize, usize) = ("local-hash-384", 384, 0);

#[tokio::test]
async fn identical_bytes_are_one_document_per_tenant_but_not_across_tenants() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let acme = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "acme").await.tenant);
    let globex = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "globex").await.tenant);
    let mut app = db.app_pool().get().await.expect("connection");
    let first = created(upload(&mut app, acme, "a.txt", "Returns are free within 30 days.").await);
    let Inserted::Duplicate(again) = upload(&mut app, acme, "b.txt", "Returns are free within 30 days.").await else {
        panic!("same bytes must be detected");
    };
    assert_eq!(again.id, first.id);
    assert_eq!(again.filename, "a.txt");
    created(upload(&mut app, globex, "a.txt", "Returns are free within 30 days.").await);
    assert_eq!(first.status, "pending");
    assert_eq!(first.size_bytes, 32);
    let id = DocumentId::from_uuid(first.id);
    let (version, bytes) = as_tenant(&mut app, acme, |c| Box::pin(async move { docs::content(c, acme, id).await }))
        .await
        .expect("bytes kept");
    assert_eq!((version, bytes.as_slice()), (1, b"Returns are free within 30 days.".as_slice()));
    // another tenant sees nothing
    let foreign = as_tenant(&mut app, globex, |c| Box::pin(async move { docs::find(c, globex, id).await })).await;
    assert!(foreign.is_none());
}

#[tokio::test]
async fn a_failed_document_keeps_its_bytes_and_reprocessing_completes_it_without_duplicate_chunks() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let tenant = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "acme").await.tenant);
    let mut app = db.app_pool().get().await.expect("connection");
    let document = created(upload(&mut app, tenant, "faq.txt", "Shipping takes two days.").await);
    let id = DocumentId::from_uuid(document.id);
    let started =
        as_tenant(&mut app, tenant, |c| Box::pin(async move { docs::start_processing(c, tenant, id, 1).await })).await;
    assert_eq!(started.expect("started").status, "processing");
    let failed = as_tenant(&mut app, tenant, |c| {
        Box::pin(async move { docs::fail(c, tenant, id, 1, "the embedding service is unavailable").await })
    })
    .await
    .expect("failed");
    assert_eq!(
        (failed.status.as_str(), failed.status_reason.as_deref()),
        ("failed", Some("the embedding service is unavailable"))
    );
    let kept = as_tenant(&mut app, tenant, |c| Box::pin(async move { docs::content(c, tenant, id).await })).await;
    assert!(kept.is_some(), "a failed document keeps its bytes");
    let pending = as_tenant(&mut app, tenant, |c| Box::pin(async move { docs::reprocess(c, tenant, id).await })).await;
    assert_eq!(pending.expect("pending").status_reason, None);
    // processed twice (a redelivered event): one set of chunks
    for _ in 0..2 {
        let ready = complete(&mut app, tenant, &document, &["Shipping takes", "two days."], &[MODEL]).await;
        assert_eq!(ready.expect("ready").status, "ready");
    }
    let chunks = seed::texts(&mut owner, "SELECT count(*)::text AS value FROM chunks").await;
    let vectors = seed::texts(&mut owner, "SELECT count(*)::text AS value FROM chunk_embeddings").await;
    assert_eq!((chunks, vectors), (vec!["2".to_owned()], vec!["2".to_owned()]));
    // a ready version is not started again
    let again =
        as_tenant(&mut app, tenant, |c| Box::pin(async move { docs::start_processing(c, tenant, id, 1).await })).await;
    assert!(again.is_none());
}

#[tokio::test]
async fn a_new_version_supersedes_work_on_the_old_one_and_delete_removes_everything() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let tenant = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "acme").await.tenant);
    let mut app = db.app_pool().get().await.expect("connection");
    let first = created(upload(&mut app, tenant, "faq.txt", "Version one.").await);
    complete(&mut app, tenant, &first, &["Version one."], &[MODEL]).await.expect("ready");
    let id = DocumentId::from_uuid(first.id);
    let second = as_tenant(&mut app, tenant, |c| {
        Box::pin(async move {
            let bytes = b"Version two.";
            let checksum: [u8; 32] =
                sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(bytes)).into();
            docs::replace_content(c, tenant, id, &NewContent { mime_type: "text/plain", bytes, checksum }).await
        })
    })
    .await
    .expect("replaced");
    assert_eq!((second.version, second.status.as_str()), (2, "pending"));
    // late work on version 1 changes nothing
    assert!(complete(&mut app, tenant, &first, &["Version one, late."], &[MODEL]).await.is_none());
    let stale_fail =
        as_tenant(&mut app, tenant, |c| Box::pin(async move { docs::fail(c, tenant, id, 1, "late").await })).await;
    assert!(stale_fail.is_none());
    complete(&mut app, tenant, &second, &["Version two."], &[MODEL]).await.expect("ready");
    let texts = seed::texts(&mut owner, "SELECT content AS value FROM chunks").await;
    assert_eq!(texts, ["Version two."]);
    let deleted = as_tenant(&mut app, tenant, |c| Box::pin(async move { docs::delete(c, tenant, id).await })).await;
    assert!(deleted);
    for table in ["documents", "document_contents", "chunks", "chunk_embeddings"] {
        let count = seed::texts(&mut owner, &format!("SELECT count(*)::text AS value FROM {table}")).await;
        assert_eq!(count, ["0"], "{table}");
    }
}
