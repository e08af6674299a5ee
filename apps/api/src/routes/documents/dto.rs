//! Wire shapes of the documents and search routes.

use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_database::documents::Document;
use meta_chat_database::documents::chunks::Chunk;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A document's processing state: `pending` → `processing` → `ready` | `failed`; `stale` while the tenant's
/// embedding model changes (still searchable). Set by the platform only.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DocumentStatusDto {
    /// Waiting for ingestion.
    Pending,
    /// Being processed.
    Processing,
    /// Searchable.
    Ready,
    /// Processing failed; `statusReason` says why. Reprocess to try again.
    Failed,
    /// Searchable with the previous embedding model while the new one is built.
    Stale,
}

impl DocumentStatusDto {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Stale => "stale",
        }
    }
}

/// A document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentResponse {
    /// Id.
    pub id: Uuid,
    /// Its name.
    pub filename: String,
    /// The type detected from its content.
    pub mime_type: String,
    /// Bytes.
    pub size: i64,
    /// Processing state.
    #[schema(value_type = DocumentStatusDto)]
    pub status: String,
    /// Why processing failed.
    pub status_reason: Option<String>,
    /// Content version, bumped by `PUT /documents/{id}/content`.
    pub version: i32,
    /// Detected language (ISO 639-1).
    pub language: Option<String>,
    /// Chunks of the current version.
    pub chunk_count: i32,
    /// The embedding model of its vectors.
    pub embedding_model: Option<String>,
    /// SHA-256 of the content, hex.
    pub checksum: String,
    /// The client's metadata.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// When the current version became ready.
    pub processed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Document> for DocumentResponse {
    fn from(d: Document) -> Self {
        Self {
            id: d.id,
            filename: d.filename,
            mime_type: d.mime_type,
            size: d.size_bytes,
            status: d.status,
            status_reason: d.status_reason,
            version: d.version,
            language: d.language,
            chunk_count: d.chunk_count,
            embedding_model: d.embedding_model,
            checksum: hex::encode(&d.checksum),
            metadata: d.metadata,
            processed_at: d.processed_at,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A page of documents.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentList {
    /// Newest first.
    pub data: Vec<DocumentResponse>,
    /// Cursor of the next page, `null` on the last.
    pub next_cursor: Option<String>,
}

/// `POST /documents` and `PUT /documents/{id}/content` as JSON: text content.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TextDocumentRequest {
    /// 1–255 characters; its extension (`.md`, `.csv`, `.html`) helps tell the text types apart.
    #[garde(length(chars, min = 1, max = 255))]
    pub filename: String,
    /// The text (UTF-8).
    #[garde(length(min = 1))]
    pub content: String,
    /// `text/plain`, `text/markdown`, `text/csv` or `text/html`; detected when left out.
    #[garde(inner(length(max = 100)))]
    pub mime_type: Option<String>,
    /// Free-form metadata object (at most 16 KB as JSON).
    #[garde(skip)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// `PATCH /documents/{id}`: name and metadata only; the status is never client-settable.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateDocumentRequest {
    /// 1–255 characters.
    #[garde(inner(length(chars, min = 1, max = 255)))]
    pub filename: Option<String>,
    /// Replaces the metadata object.
    #[garde(skip)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// `GET /documents` query.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentListQuery {
    /// Only this status.
    #[garde(skip)]
    #[param(value_type = Option<DocumentStatusDto>)]
    pub status: Option<DocumentStatusDto>,
    /// 1–100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 128)))]
    pub cursor: Option<String>,
}

/// A chunk of a document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkResponse {
    /// Id.
    pub id: Uuid,
    /// 0-based position.
    pub position: i32,
    /// Text.
    pub content: String,
    /// Tokens.
    pub token_count: i32,
    /// `page`, `headingPath`, `row`, `charStart`, `charEnd`.
    #[schema(value_type = Object)]
    pub metadata: Value,
}

impl From<Chunk> for ChunkResponse {
    fn from(c: Chunk) -> Self {
        Self { id: c.id, position: c.position, content: c.content, token_count: c.token_count, metadata: c.metadata }
    }
}

/// A page of chunks.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkList {
    /// In position order.
    pub data: Vec<ChunkResponse>,
    /// Cursor of the next page, `null` on the last.
    pub next_cursor: Option<String>,
}

/// `GET /documents/{id}/chunks` query.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChunkListQuery {
    /// 1–100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 16)))]
    pub cursor: Option<String>,
}

/// `POST /search`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SearchRequest {
    /// 1–2,000 characters.
    #[garde(length(chars, min = 1, max = 2000), custom(crate::routes::conversations::not_blank))]
    pub query: String,
    /// 1–50; default the tenant's `rag.topK`.
    #[garde(inner(range(min = 1, max = 50)))]
    pub top_k: Option<u32>,
    /// 0–1; default the tenant's `rag.minScore`.
    #[garde(inner(range(min = 0.0, max = 1.0)))]
    pub min_score: Option<f64>,
}

/// A retrieved chunk.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// The chunk.
    pub chunk_id: Uuid,
    /// Its document.
    pub document_id: Uuid,
    /// The document's name.
    pub filename: String,
    /// The chunk's text.
    pub content: String,
    /// Relevance 0–1: the higher of cosine similarity and the share of query terms found.
    pub score: f64,
    /// Cosine similarity to the query.
    pub vector_score: f64,
    /// Share of the query's terms the chunk contains.
    pub keyword_score: f64,
    /// `page`, `headingPath`, ...
    #[schema(value_type = Object)]
    pub metadata: Value,
}

/// `POST /search` response, best first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    /// The relevant chunks; empty when nothing relevant was found.
    pub data: Vec<SearchHit>,
}
