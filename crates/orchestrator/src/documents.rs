//! Document ingestion (the `ingestion` consumer of `document.uploaded`): the version named by the event is
//! marked `processing`, processed and embedded (`meta_chat_rag::ingest`), and stored with
//! `document.ready` — or marked `failed` with its reason and `document.failed` — in one transaction with
//! the event. A redelivery of a version already ready, or of a superseded version, does nothing.
//!
//! [`document_event`] builds the events the API records when a document is uploaded, replaced or
//! reprocessed, so producer and consumer agree on the shape `{documentId, version, ...}`.

use std::sync::Arc;

use meta_chat_database::documents::{self, Document};
use meta_chat_database::embedding_models;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, DbPool};
use meta_chat_events::{Envelope, EventType, HandleError, Handler, Relay, outbox};
use meta_chat_llm::Embedder;
use meta_chat_rag::Embedders;
use meta_chat_rag::ingest::{self, IngestError, Source};
use meta_chat_shared::config::KnowledgeConfig;
use meta_chat_shared::ids::{DocumentId, TenantId};
use serde_json::json;

/// The event announcing `document`'s state: `document.uploaded` (queued for ingestion), `document.ready`
/// or `document.failed`.
#[must_use]
pub fn document_event(event_type: EventType, tenant: TenantId, document: &Document) -> Envelope {
    Envelope::new(
        event_type,
        tenant,
        Some(document.id),
        json!({
            "documentId": document.id,
            "version": document.version,
            "filename": document.filename,
            "mimeType": document.mime_type,
            "status": document.status,
            "chunkCount": document.chunk_count,
            "reason": document.status_reason,
        }),
    )
}

/// The `ingestion` consumer.
pub struct IngestHandler {
    pool: DbPool,
    relay: Relay,
    embedders: Embedders,
    config: Arc<KnowledgeConfig>,
}

impl IngestHandler {
    /// A handler embedding with `embedders` (one per registered model this process can use).
    #[must_use]
    pub fn new(pool: DbPool, relay: Relay, embedders: Embedders, config: Arc<KnowledgeConfig>) -> Self {
        Self { pool, relay, embedders, config }
    }

    /// Ingests `version` of the document; `Ok(None)` when there was nothing to do.
    pub async fn ingest(&self, tenant: TenantId, id: DocumentId, version: i32) -> Result<Option<Document>, DbError> {
        let mut conn = self.pool.get().await?;
        let started = in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let Some(document) = documents::start_processing(conn, tenant, id, version).await? else {
                    return Ok(None);
                };
                let Some((stored, bytes)) = documents::content(conn, tenant, id).await? else { return Ok(None) };
                let models = embedding_models::for_tenant(conn, tenant).await?;
                Ok::<_, DbError>((stored == version).then_some((document, bytes, models)))
            })
        })
        .await?;
        let Some((document, bytes, models)) = started else { return Ok(None) };
        let wanted = std::iter::once(models.active).chain(models.next);
        let mut embedders: Vec<Arc<dyn Embedder>> = Vec::new();
        let mut missing = None;
        for model in wanted {
            match self.embedders.get(&model.name) {
                Some(embedder) => embedders.push(Arc::clone(embedder)),
                None => missing = Some(model.name),
            }
        }
        let source =
            Source { version, bytes, filename: document.filename.clone(), mime_type: document.mime_type.clone() };
        let outcome = match missing {
            Some(model) => Err(IngestError::NoEmbedder(model)),
            None => ingest::prepare(source, &embedders, &self.config).await,
        };
        let stored = in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let (document, event_type) = match &outcome {
                    Ok(completed) => {
                        (documents::chunks::complete(conn, tenant, id, completed).await?, EventType::DocumentReady)
                    }
                    Err(err) => {
                        (documents::fail(conn, tenant, id, version, &err.to_string()).await?, EventType::DocumentFailed)
                    }
                };
                let Some(document) = document else { return Ok((None, Vec::new())) };
                let events = vec![document_event(event_type, tenant, &document)];
                outbox::record(conn, tenant, &events).await?;
                Ok::<_, DbError>((Some(document), events))
            })
        })
        .await?;
        let (document, events) = stored;
        if let Some(document) = &document {
            tracing::info!(
                tenant.id = %tenant, document.id = %document.id, document.version = version,
                document.status = %document.status, document.chunks = document.chunk_count, "document processed"
            );
        }
        self.relay.publish_committed(tenant, events).await;
        Ok(document)
    }
}

impl Handler for IngestHandler {
    async fn handle(&self, event: Envelope, _attempt: usize) -> Result<(), HandleError> {
        if event.event_type != EventType::DocumentUploaded {
            return Ok(());
        }
        let Some(id) = event.aggregate_id else { return Err(HandleError::Park("no document id".into())) };
        let Some(version) = event.data.get("version").and_then(serde_json::Value::as_i64) else {
            return Err(HandleError::Park("no document version".into()));
        };
        let version = i32::try_from(version).map_err(|_| HandleError::Park("document version out of range".into()))?;
        self.ingest(event.tenant_id, DocumentId::from_uuid(id), version)
            .await
            .map(drop)
            .map_err(|err| HandleError::Retry(format!("database: {err}")))
    }
}
