//! The two retrieval arms over a tenant's searchable chunks (documents `ready` or `stale`, current version
//! only): nearest neighbours by cosine distance and full-text matches. Fusion happens in `meta-chat-rag`.
//!
//! Vector search uses the model's partial HNSW index with pgvector's iterative scan, so the tenant filter
//! never starves the result, and exact search when the tenant has few chunks (faster, and exact). The model
//! name and dimensions are inlined as literals — that is what lets the planner use the partial index — and
//! both come from the registry, checked again here ([`EmbeddingModel::valid_name`], an integer).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::TenantId;
use pgvector::Vector;
use uuid::Uuid;

use crate::embedding_models::EmbeddingModel;
use crate::error::{DbError, DbResult};

/// A candidate chunk with both relevance signals.
#[derive(Debug, Clone, QueryableByName)]
pub struct Candidate {
    /// The chunk.
    #[diesel(sql_type = SqlUuid)]
    pub chunk_id: Uuid,
    /// Its document.
    #[diesel(sql_type = SqlUuid)]
    pub document_id: Uuid,
    /// The document's filename.
    #[diesel(sql_type = Text)]
    pub filename: String,
    /// The chunk's text.
    #[diesel(sql_type = Text)]
    pub content: String,
    /// Position in the document.
    #[diesel(sql_type = Integer)]
    pub position: i32,
    /// Page, heading path.
    #[diesel(sql_type = Jsonb)]
    pub metadata: serde_json::Value,
    /// Cosine similarity to the query vector (0 when the chunk has no vector of the model).
    #[diesel(sql_type = Double)]
    pub similarity: f64,
    /// Share of the query terms the chunk contains (0–1).
    #[diesel(sql_type = Double)]
    pub coverage: f64,
    /// `ts_rank_cd` of the chunk for the query terms.
    #[diesel(sql_type = Double)]
    pub keyword_rank: f64,
}

/// One retrieval request.
#[derive(Debug, Clone)]
pub struct ArmQuery<'a> {
    /// The tenant's active model.
    pub model: &'a EmbeddingModel,
    /// The query's vector under that model.
    pub vector: &'a [f32],
    /// Query terms (already normalised; may be empty).
    pub terms: &'a [String],
    /// Candidates per arm.
    pub limit: i64,
    /// Below this many of the tenant's searchable chunks, vector search is exact.
    pub exact_below: i64,
}

fn checked(model: &EmbeddingModel) -> DbResult<(&str, i32)> {
    if !EmbeddingModel::valid_name(&model.name) || !(1..=4000).contains(&model.dimensions) {
        return Err(DbError::InvalidInput("embedding model is not valid".into()));
    }
    Ok((&model.name, model.dimensions))
}

/// The columns both arms return; `$1` is the tenant, `$2` the vector, `$3` the terms.
fn select_list(dimensions: i32) -> String {
    format!(
        "c.id AS chunk_id, c.document_id, d.filename, c.content, c.position, c.metadata, \
         coalesce(1 - (e.embedding::vector({dimensions}) <=> $2::vector({dimensions})), 0)::float8 AS similarity, \
         CASE WHEN cardinality($3::text[]) = 0 THEN 0 ELSE (SELECT count(*) FROM unnest($3::text[]) t \
           WHERE c.content_tsv @@ plainto_tsquery('simple', t))::float8 / cardinality($3::text[]) END AS coverage"
    )
}

const SEARCHABLE_JOIN: &str = "JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id \
     AND d.status IN ('ready', 'stale') AND c.document_version = d.version";

/// How many searchable chunks the tenant has (decides exact or approximate search).
pub async fn searchable_chunks(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query(
        "SELECT coalesce(sum(chunk_count), 0)::bigint AS n FROM documents \
         WHERE tenant_id = $1 AND status IN ('ready', 'stale')",
    )
    .bind::<SqlUuid, _>(tenant.as_uuid())
    .get_result(conn)
    .await?;
    Ok(count.n)
}

/// Nearest chunks by cosine distance under the active model.
pub async fn vector_arm(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    query: &ArmQuery<'_>,
) -> DbResult<Vec<Candidate>> {
    let (name, dimensions) = checked(query.model)?;
    let exact = searchable_chunks(conn, tenant).await? < query.exact_below;
    // Approximate: order by the indexed expression; exact: by the plain (unindexed) distance.
    let order = if exact {
        "e.embedding <=> $2::vector".to_owned()
    } else {
        diesel::sql_query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(conn).await?;
        diesel::sql_query("SET LOCAL hnsw.ef_search = 100").execute(conn).await?;
        format!("e.embedding::vector({dimensions}) <=> $2::vector({dimensions})")
    };
    let sql = format!(
        "SELECT * FROM (SELECT {select}, 0::float8 AS keyword_rank, {order} AS distance \
           FROM chunk_embeddings e JOIN chunks c ON c.tenant_id = e.tenant_id AND c.id = e.chunk_id {SEARCHABLE_JOIN} \
           WHERE e.tenant_id = $1 AND e.model = '{name}' ORDER BY {order} LIMIT $4) hits ORDER BY distance",
        select = select_list(dimensions),
    );
    load(conn, sql, tenant, query).await
}

/// Chunks containing any query term, those containing more of the terms first, then by `ts_rank_cd`.
pub async fn keyword_arm(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    query: &ArmQuery<'_>,
) -> DbResult<Vec<Candidate>> {
    if query.terms.is_empty() {
        return Ok(Vec::new());
    }
    let (name, dimensions) = checked(query.model)?;
    let sql = format!(
        "WITH q AS (SELECT array_to_string(array(SELECT '(' || plainto_tsquery('simple', t)::text || ')' \
             FROM unnest($3::text[]) t WHERE numnode(plainto_tsquery('simple', t)) > 0), ' | ') AS text) \
         SELECT {select}, ts_rank_cd(c.content_tsv, q.text::tsquery)::float8 AS keyword_rank \
           FROM q, chunks c {SEARCHABLE_JOIN} \
           LEFT JOIN chunk_embeddings e ON e.tenant_id = c.tenant_id AND e.chunk_id = c.id AND e.model = '{name}' \
           WHERE q.text <> '' AND c.tenant_id = $1 AND c.content_tsv @@ q.text::tsquery \
           ORDER BY coverage DESC, keyword_rank DESC, c.id LIMIT $4",
        select = select_list(dimensions),
    );
    load(conn, sql, tenant, query).await
}

/// Runs an arm's SQL with its binds: `$1` tenant, `$2` vector, `$3` terms, `$4` limit.
async fn load(
    conn: &mut AsyncPgConnection,
    sql: String,
    tenant: TenantId,
    query: &ArmQuery<'_>,
) -> DbResult<Vec<Candidate>> {
    Ok(diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant.as_uuid())
        .bind::<pgvector::sql_types::Vector, _>(Vector::from(query.vector.to_vec()))
        .bind::<Array<Text>, _>(query.terms)
        .bind::<BigInt, _>(query.limit)
        .load(conn)
        .await?)
}
