//! Changing a tenant's embedding model: the old vectors serve until every chunk has a new one, then the
//! tenant switches and only the new model's vectors remain.

use meta_chat_database::documents::chunks;
use meta_chat_database::documents::search::{self, ArmQuery};
use meta_chat_database::embedding_models;
use meta_chat_database::testkit::TestDb;
use meta_chat_database::testkit::seed::{self, connect};
use meta_chat_shared::ids::TenantId;

use crate::{as_tenant, complete, created, upload, vector};

async fn nearest(app: &mut diesel_async::AsyncPgConnection, tenant: TenantId) -> (String, usize) {
    as_tenant(app, tenant, |conn| {
        Box::pin(async move {
            let model = embedding_models::for_tenant(conn, tenant).await?.active;
            let dims = usize::try_from(model.dimensions).expect("positive");
            let probe = vector(dims, 0, 0.0);
            let query = ArmQuery { model: &model, vector: &probe, terms: &[], limit: 5, exact_below: 0 };
            let hits = search::vector_arm(conn, tenant, &query).await?;
            Ok((model.name, hits.len()))
        })
    })
    .await
}

#[tokio::test]
async fn a_model_switch_serves_the_old_vectors_until_the_new_ones_are_complete() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let tenant = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "acme").await.tenant);
    let mut app = db.app_pool().get().await.expect("connection");
    let document = created(upload(&mut app, tenant, "faq.txt", "faq").await);
    complete(&mut app, tenant, &document, &["one", "two", "three"], &[("local-hash-384", 384, 0)]).await;

    let models = as_tenant(&mut app, tenant, |conn| {
        Box::pin(async move {
            embedding_models::register(conn, "tiny-8", "openai_compatible", 8).await?;
            // registering again is harmless; other dimensions are refused
            embedding_models::register(conn, "tiny-8", "openai_compatible", 8).await?;
            embedding_models::begin_switch(conn, tenant, "tiny-8").await
        })
    })
    .await;
    assert_eq!((models.active.name.as_str(), models.next.map(|m| m.name)), ("local-hash-384", Some("tiny-8".into())));
    let mismatch = meta_chat_database::tenant::in_tenant_tx(&mut app, tenant, |conn| {
        Box::pin(async move { embedding_models::register(conn, "tiny-8", "openai_compatible", 9).await })
    })
    .await;
    assert!(mismatch.is_err());
    let statuses = seed::texts(&mut owner, "SELECT status AS value FROM documents").await;
    assert_eq!(statuses, ["stale"]);
    assert_eq!(nearest(&mut app, tenant).await, ("local-hash-384".to_owned(), 3), "stale documents keep serving");

    // re-embed two of three chunks: not complete, no switch
    let missing = as_tenant(&mut app, tenant, |conn| {
        Box::pin(async move { chunks::missing_vectors(conn, tenant, "tiny-8", 100).await })
    })
    .await;
    assert_eq!(missing.len(), 3);
    let vectors: Vec<(uuid::Uuid, Vec<f32>)> =
        missing.iter().enumerate().map(|(i, (id, _))| (*id, vector(8, i, 0.0))).collect();
    for range in [0..2, 2..3] {
        let batch = vectors[range].to_vec();
        let switched = as_tenant(&mut app, tenant, |conn| {
            Box::pin(async move {
                let pairs: Vec<_> = batch.iter().map(|(id, v)| (*id, v)).collect();
                chunks::insert_vectors(conn, tenant, "tiny-8", &pairs).await?;
                embedding_models::finish_switch(conn, tenant).await
            })
        })
        .await;
        let done =
            seed::texts(&mut owner, "SELECT count(*)::text AS value FROM chunk_embeddings WHERE model = 'tiny-8'")
                .await;
        if done == ["3"] {
            assert!(switched);
        } else {
            assert!(!switched);
            assert_eq!(nearest(&mut app, tenant).await.0, "local-hash-384");
        }
    }
    assert_eq!(nearest(&mut app, tenant).await, ("tiny-8".to_owned(), 3));
    let left = seed::texts(&mut owner, "SELECT DISTINCT model AS value FROM chunk_embeddings").await;
    assert_eq!(left, ["tiny-8"]);
    let statuses = seed::texts(&mut owner, "SELECT status AS value FROM documents").await;
    assert_eq!(statuses, ["ready"]);
}
