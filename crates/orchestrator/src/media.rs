//! Keeping inbound media (the `media` consumer of `message.received`): a WhatsApp image, audio, video,
//! document or sticker is downloaded with the channel's token — Meta's media URLs expire — capped at
//! `meta.media_max_bytes`, and stored with the message (`media_blobs`); the message's payload then says
//! `blob: {id, size, mimeType}`, or `mediaError` when the file could not be kept (too large, refused). A
//! redelivered event stores nothing twice.

use std::sync::Arc;

use meta_chat_channels::{GraphClient, SecretField, open_secret};
use meta_chat_database::media::{self, NewMedia};
use meta_chat_database::pipeline;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, DbPool, channels, conversations};
use meta_chat_events::{Envelope, EventType, HandleError, Handler};
use meta_chat_shared::ids::{ChannelId, ConversationId, TenantId};
use meta_chat_shared::secrets::Keyring;
use meta_chat_shared::{ChannelType, MessageType};
use serde_json::json;
use uuid::Uuid;

/// The `media` consumer.
pub struct MediaHandler {
    pool: DbPool,
    graph: GraphClient,
    keyring: Arc<Keyring>,
    max_bytes: u64,
    max_retries: usize,
}

struct Pending {
    conversation: Uuid,
    created_at: chrono::DateTime<chrono::Utc>,
    media_id: String,
    token: String,
}

impl MediaHandler {
    /// A handler downloading through `graph` with channel tokens opened by `keyring`, refusing files over
    /// `max_bytes`; retryable failures are retried `max_retries` times.
    #[must_use]
    pub fn new(pool: DbPool, graph: GraphClient, keyring: Arc<Keyring>, max_bytes: u64, max_retries: usize) -> Self {
        Self { pool, graph, keyring, max_bytes, max_retries }
    }

    async fn pending(&self, tenant: TenantId, id: Uuid) -> Result<Option<Pending>, DbError> {
        let mut conn = self.pool.get().await?;
        let keyring = Arc::clone(&self.keyring);
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let Some(message) = pipeline::find_message(conn, tenant, id).await? else { return Ok(None) };
                let kind: Option<MessageType> = message.kind.parse().ok();
                let is_media = matches!(
                    kind,
                    Some(
                        MessageType::Image
                            | MessageType::Audio
                            | MessageType::Video
                            | MessageType::Document
                            | MessageType::Sticker
                    )
                );
                let media_id = message.payload.pointer("/media/mediaId").and_then(|v| v.as_str());
                let done = message.payload.get("blob").is_some() || message.payload.get("mediaError").is_some();
                let (true, Some(media_id), false) = (is_media, media_id, done) else { return Ok(None) };
                let conversation = ConversationId::from_uuid(message.conversation_id);
                let Some(item) = conversations::find(conn, tenant, conversation).await? else { return Ok(None) };
                let channel_id = ChannelId::from_uuid(item.conversation.channel_id);
                let Some(channel) = channels::find(conn, tenant, channel_id).await? else { return Ok(None) };
                if channel.channel_type != ChannelType::WhatsApp {
                    return Ok(None);
                }
                let Ok(token) = open_secret(&keyring, tenant, channel.id, &channel.secrets, SecretField::AccessToken)
                else {
                    return Ok(None);
                };
                Ok(Some(Pending {
                    conversation: message.conversation_id,
                    created_at: message.created_at,
                    media_id: media_id.to_owned(),
                    token: token.expose().to_owned(),
                }))
            })
        })
        .await
    }

    async fn keep(
        &self,
        tenant: TenantId,
        id: Uuid,
        pending: &Pending,
        outcome: Result<meta_chat_channels::DownloadedMedia, String>,
    ) -> Result<(), DbError> {
        let mut conn = self.pool.get().await?;
        let (conversation, created_at) = (pending.conversation, pending.created_at);
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let note = match outcome {
                    Ok(file) => {
                        let sha256 = hex_bytes(&file.sha256_hex);
                        let new = NewMedia {
                            conversation_id: conversation,
                            message_id: id,
                            message_created_at: created_at,
                            mime_type: &file.mime_type,
                            sha256: &sha256,
                            data: &file.bytes,
                        };
                        let blob = media::store(conn, tenant, &new).await?;
                        json!({ "blob": { "id": blob, "size": file.bytes.len(), "mimeType": file.mime_type } })
                    }
                    Err(reason) => json!({ "mediaError": reason }),
                };
                media::annotate_message(conn, tenant, id, &note).await
            })
        })
        .await
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()).collect()
}

impl Handler for MediaHandler {
    async fn handle(&self, event: Envelope, attempt: usize) -> Result<(), HandleError> {
        if event.event_type != EventType::MessageReceived {
            return Ok(());
        }
        let Some(id) = event.aggregate_id else { return Err(HandleError::Park("no message id".into())) };
        let tenant = event.tenant_id;
        let retry = |err: DbError| HandleError::Retry(format!("database: {err}"));
        let Some(pending) = self.pending(tenant, id).await.map_err(retry)? else { return Ok(()) };
        let outcome = match self.graph.whatsapp_media(&pending.token, &pending.media_id, self.max_bytes).await {
            Ok(file) => Ok(file),
            Err(err) if err.is_retryable() && attempt < self.max_retries => {
                return Err(HandleError::Retry(format!("media download: {}", err.kind.as_str())));
            }
            Err(err) => {
                tracing::warn!(message_id = %id, kind = err.kind.as_str(), "inbound media not kept");
                Err(err.message)
            }
        };
        self.keep(tenant, id, &pending, outcome).await.map_err(retry)
    }
}
