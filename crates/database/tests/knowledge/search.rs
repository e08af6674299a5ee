//! Both retrieval arms: nearest vectors (exact and through the HNSW index with iterative scan), keyword
//! matches by term coverage, only searchable documents of the caller's tenant.

use meta_chat_database::documents::search::{self, ArmQuery, Candidate};
use meta_chat_database::embedding_models::{self, EmbeddingModel};
use meta_chat_database::testkit::TestDb;
use meta_chat_database::testkit::seed::{self, connect};
use meta_chat_shared::ids::TenantId;

use crate::{as_tenant, complete, created, upload, vector};

const MODEL: (&str, usize, usize) = ("local-hash-384", 384, 0);

async fn arms(
    app: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    query_vector: Vec<f32>,
    terms: &[&str],
    exact_below: i64,
) -> (Vec<Candidate>, Vec<Candidate>) {
    let terms: Vec<String> = terms.iter().map(|t| (*t).to_owned()).collect();
    as_tenant(app, tenant, |conn| {
        Box::pin(async move {
            let model = embedding_models::for_tenant(conn, tenant).await?.active;
            let query = ArmQuery { model: &model, vector: &query_vector, terms: &terms, limit: 5, exact_below };
            let vectors = search::vector_arm(conn, tenant, &query).await?;
            let keywords = search::keyword_arm(conn, tenant, &query).await?;
            Ok((vectors, keywords))
        })
    })
    .await
}

fn contents(candidates: &[Candidate]) -> Vec<&str> {
    candidates.iter().map(|c| c.content.as_str()).collect()
}

#[tokio::test]
async fn arms_rank_the_right_chunks_and_never_cross_tenants_or_leave_ready_documents() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let acme = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "acme").await.tenant);
    let globex = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "globex").await.tenant);
    let mut app = db.app_pool().get().await.expect("connection");
    let manual = created(upload(&mut app, acme, "manual.txt", "acme manual").await);
    let texts = ["The XR-200 router has four ports.", "Refunds are paid within five days.", "Opening hours: 9 to 5."];
    complete(&mut app, acme, &manual, &texts, &[MODEL]).await.expect("ready");
    // globex has the exact best match for both arms
    let rival = created(upload(&mut app, globex, "rival.txt", "globex").await);
    complete(&mut app, globex, &rival, &["XR-200 refunds XR-200 refunds"], &[("local-hash-384", 384, 2)]).await;
    // a pending acme document is never searched
    created(upload(&mut app, acme, "draft.txt", "XR-200 draft").await);

    // chunk i sits on axis 2i: a query on axis 2 is chunk 1 (refunds)
    for exact_below in [1_000_000, 0] {
        let (vectors, _) = arms(&mut app, acme, vector(384, 2, 0.1), &[], exact_below).await;
        assert_eq!(contents(&vectors)[0], texts[1], "exact_below {exact_below}");
        assert_eq!(vectors.len(), 3, "the tenant filter never starves the approximate search");
        assert!(vectors[0].similarity > 0.99, "{}", vectors[0].similarity);
        assert!(vectors.iter().all(|c| c.document_id == manual.id));
    }
    let (_, keywords) = arms(&mut app, acme, vector(384, 100, 0.0), &["xr-200", "ports"], 0).await;
    assert_eq!(contents(&keywords), [texts[0]]);
    assert!((keywords[0].coverage - 1.0).abs() < 1e-9);
    let (_, partial) = arms(&mut app, acme, vector(384, 100, 0.0), &["refunds", "weekends"], 0).await;
    assert_eq!(contents(&partial), [texts[1]]);
    assert!((partial[0].coverage - 0.5).abs() < 1e-9);
    let (_, none) = arms(&mut app, acme, vector(384, 100, 0.0), &[], 0).await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn only_valid_registry_names_are_inlined() {
    assert!(EmbeddingModel::valid_name("local-hash-384"));
    assert!(EmbeddingModel::valid_name("nomic-embed-text:v1.5"));
    for bad in ["", "Upper", "a'; DROP TABLE chunks; --", "-x", &"a".repeat(101)] {
        assert!(!EmbeddingModel::valid_name(bad), "{bad}");
    }
}
