//! Knowledge base data layer against a real PostgreSQL with pgvector, through the runtime role
//! (row-level security on): documents and their status machine, chunks, both retrieval arms, and the
//! embedding model switch.

#![expect(clippy::expect_used, clippy::missing_panics_doc, reason = "tests fail loudly")]

mod documents;
mod search;
mod switch;

use diesel_async::AsyncPgConnection;
use meta_chat_database::documents::chunks::{Completed, ModelVectors, NewChunk};
use meta_chat_database::documents::{self as docs, Document, Inserted, NewContent, NewDocument};
use meta_chat_database::{DbError, tenant::in_tenant_tx};
use meta_chat_shared::ids::{DocumentId, TenantId};
use sha2::{Digest, Sha256};

/// Runs `f` as the runtime role inside a tenant transaction.
pub async fn as_tenant<R, F>(app: &mut AsyncPgConnection, tenant: TenantId, f: F) -> R
where
    R: Send,
    F: for<'r> FnOnce(&'r mut AsyncPgConnection) -> futures_util::future::BoxFuture<'r, Result<R, DbError>> + Send,
{
    in_tenant_tx(app, tenant, f).await.expect("tenant transaction")
}

/// Stores `text` as a plain-text document.
pub async fn upload(app: &mut AsyncPgConnection, tenant: TenantId, filename: &str, text: &str) -> Inserted {
    let (filename, text) = (filename.to_owned(), text.to_owned());
    as_tenant(app, tenant, |conn| {
        Box::pin(async move {
            let checksum: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            let content = NewContent { mime_type: "text/plain", bytes: text.as_bytes(), checksum };
            let new = NewDocument { filename: &filename, content, metadata: serde_json::json!({}), uploaded_by: None };
            docs::insert(conn, tenant, &new).await
        })
    })
    .await
}

/// The created document of an upload.
pub fn created(inserted: Inserted) -> Document {
    match inserted {
        Inserted::Created(document) => document,
        Inserted::Duplicate(document) => panic!("unexpected duplicate {}", document.id),
    }
}

/// A unit vector of `dimensions` pointing mostly along `axis`, a little along `axis + 1`.
pub fn vector(dimensions: usize, axis: usize, lean: f32) -> Vec<f32> {
    let mut v = vec![0.0; dimensions];
    v[axis % dimensions] = 1.0;
    v[(axis + 1) % dimensions] = lean;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

/// Completes `document`'s current version with one chunk per text, each on its own axis of `model`.
pub async fn complete(
    app: &mut AsyncPgConnection,
    tenant: TenantId,
    document: &Document,
    texts: &[&str],
    models: &[(&str, usize, usize)],
) -> Option<Document> {
    let chunks: Vec<NewChunk> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| NewChunk {
            position: i32::try_from(i).expect("small"),
            content: (*text).to_owned(),
            token_count: 10,
            metadata: serde_json::json!({"headingPath": []}),
        })
        .collect();
    let embeddings = models
        .iter()
        .map(|(name, dimensions, first_axis)| ModelVectors {
            model: (*name).to_owned(),
            vectors: (0..texts.len()).map(|i| vector(*dimensions, first_axis + i * 2, 0.0)).collect(),
        })
        .collect();
    let completed = Completed { version: document.version, language: Some("en".into()), chunks, embeddings };
    let id = DocumentId::from_uuid(document.id);
    as_tenant(app, tenant, |conn| Box::pin(async move { docs::chunks::complete(conn, tenant, id, &completed).await }))
        .await
}
