//! Sending queued outbound messages (the `message.queued` consumer): through the channel's adapter, paced
//! per phone number / page, with the consumer's growing retry delays for throttling and transient failures.
//! The outcome moves the message `queued → sent` (with the provider's id) or `queued → failed` (with the
//! reason) and emits `message.sent` / `message.failed`. A message that is not `queued` any more is not sent
//! again, so a redelivered event sends nothing twice.
//!
//! Windows: WhatsApp refuses free-form messages 24 hours after the contact's last message (Graph error
//! 131047): the channel's `fallbackTemplate` is sent instead when configured, otherwise the message fails
//! with that reason. Messenger allows agent replies up to 7 days after it with
//! the `HUMAN_AGENT` tag and fails them clearly after that. Rejected credentials flag the channel.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use meta_chat_channels::{
    GraphClient, MessageTag, OutboundContent, SecretField, SendError, SendErrorKind, SendRateLimiter, TemplateRef,
    open_secret,
};
use meta_chat_database::channels::{self, Channel};
use meta_chat_database::delivery::Applied;
use meta_chat_database::messages::Message;
use meta_chat_database::pipeline;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, DbPool, contacts, conversations};
use meta_chat_events::{Envelope, EventType, HandleError, Handler, Relay};
use meta_chat_shared::ChannelType;
use meta_chat_shared::ids::{ContactId, ConversationId, TenantId};
use meta_chat_shared::secrets::Keyring;
use uuid::Uuid;

use crate::ingest::status_event;

/// The longest provider-requested wait (`Retry-After`) honoured in place; longer ones go to the retry queue.
const MAX_INLINE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// Messenger's standard messaging window.
const MESSENGER_WINDOW_HOURS: i64 = 24;
/// Messenger's `HUMAN_AGENT` tag window.
const HUMAN_AGENT_WINDOW_DAYS: i64 = 7;

/// The `message.queued` consumer.
pub struct OutboundHandler {
    pool: DbPool,
    relay: Relay,
    graph: GraphClient,
    pacing: Arc<SendRateLimiter>,
    keyring: Arc<Keyring>,
    max_retries: usize,
}

/// Everything needed to send one message.
struct Job {
    message: Message,
    channel: Channel,
    recipient: String,
    last_inbound_at: Option<DateTime<Utc>>,
}

/// How a send ended.
enum Sent {
    Ok(String),
    Failed { code: String, reason: String, flag_channel: bool },
}

impl OutboundHandler {
    /// A handler sending through `graph`, paced by `pacing`, opening channel secrets with `keyring`;
    /// `max_retries` is the consumer's retry count, after which a retryable failure fails the message.
    #[must_use]
    pub fn new(
        pool: DbPool,
        relay: Relay,
        graph: GraphClient,
        pacing: Arc<SendRateLimiter>,
        keyring: Arc<Keyring>,
        max_retries: usize,
    ) -> Self {
        Self { pool, relay, graph, pacing, keyring, max_retries }
    }

    async fn job(&self, tenant: TenantId, id: Uuid) -> Result<Option<Job>, DbError> {
        let mut conn = self.pool.get().await?;
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let Some(message) = pipeline::find_message(conn, tenant, id).await? else { return Ok(None) };
                if message.status != "queued" || message.direction != "outbound" {
                    return Ok(None);
                }
                let conversation = ConversationId::from_uuid(message.conversation_id);
                let Some(item) = conversations::find(conn, tenant, conversation).await? else { return Ok(None) };
                let contact = ContactId::from_uuid(item.conversation.contact_id);
                let Some(contact) = contacts::find(conn, tenant, contact).await? else { return Ok(None) };
                let channel_id = meta_chat_shared::ids::ChannelId::from_uuid(item.conversation.channel_id);
                let Some(channel) = channels::find(conn, tenant, channel_id).await? else { return Ok(None) };
                let last_inbound_at = item.conversation.last_inbound_at;
                Ok(Some(Job { message, channel, recipient: contact.external_id, last_inbound_at }))
            })
        })
        .await
    }

    async fn send(&self, tenant: TenantId, job: &Job) -> Result<Sent, SendError> {
        let text = job.message.text.clone().unwrap_or_default();
        let content = OutboundContent::Text { body: text, preview_url: false };
        let account = job.channel.external_id.clone().unwrap_or_default();
        let secret = |field| open_secret(&self.keyring, tenant, job.channel.id, &job.channel.secrets, field);
        match job.channel.channel_type {
            ChannelType::WhatsApp => {
                let Ok(token) = secret(SecretField::AccessToken) else { return Ok(no_token()) };
                self.pacing.acquire(&account).await;
                let sent = match self
                    .graph
                    .whatsapp_send(&account, token.expose(), &job.recipient, &content, None)
                    .await
                {
                    Err(err) if matches!(err.kind, SendErrorKind::WindowClosed) => {
                        // outside the 24-hour window only an approved template may be sent
                        let Some(template) = fallback_template(&job.channel) else { return Err(err) };
                        tracing::info!(message_id = %job.message.id, "window closed; sending the fallback template");
                        let content = OutboundContent::Template {
                            name: template.name,
                            language: template.language,
                            body_parameters: Vec::new(),
                        };
                        self.pacing.acquire(&account).await;
                        self.graph.whatsapp_send(&account, token.expose(), &job.recipient, &content, None).await?
                    }
                    other => other?,
                };
                Ok(Sent::Ok(sent.external_id))
            }
            ChannelType::Messenger => {
                let age = job.last_inbound_at.map(|at| Utc::now() - at);
                let tag = match age {
                    Some(age) if age <= Duration::hours(MESSENGER_WINDOW_HOURS) => None,
                    Some(age) if age <= Duration::days(HUMAN_AGENT_WINDOW_DAYS) && job.message.sender == "agent" => {
                        Some(MessageTag::HumanAgent)
                    }
                    _ => {
                        return Ok(Sent::Failed {
                            code: "window_closed".into(),
                            reason: "outside Messenger's messaging window (24 hours; 7 days for human agents)".into(),
                            flag_channel: false,
                        });
                    }
                };
                let Ok(token) = secret(SecretField::PageAccessToken) else { return Ok(no_token()) };
                self.pacing.acquire(&account).await;
                let sent = self.graph.messenger_send(token.expose(), &job.recipient, &content, tag).await?;
                Ok(Sent::Ok(sent.external_id))
            }
            ChannelType::WebChat => Ok(Sent::Failed {
                code: "unsupported_channel".into(),
                reason: "web chat delivery is not available yet".into(),
                flag_channel: false,
            }),
            // chat API conversations are answered inline; a queued message there (an agent's reply) has no
            // provider to go to
            ChannelType::Api => Ok(Sent::Failed {
                code: "unsupported_channel".into(),
                reason: "chat API conversations have no delivery channel; the API client reads the conversation".into(),
                flag_channel: false,
            }),
        }
    }

    async fn record(&self, tenant: TenantId, job: &Job, outcome: Sent) -> Result<Vec<Envelope>, DbError> {
        let mut conn = self.pool.get().await?;
        let id = job.message.id;
        let channel = job.channel.id;
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let applied: Option<Applied> = match outcome {
                    Sent::Ok(external_id) => pipeline::mark_sent(conn, tenant, id, &external_id).await?,
                    Sent::Failed { code, reason, flag_channel } => {
                        if flag_channel {
                            pipeline::flag_channel(conn, tenant, channel, &reason).await?;
                        }
                        pipeline::mark_failed(conn, tenant, id, &code, &reason).await?
                    }
                };
                let events: Vec<Envelope> = applied.iter().filter_map(|change| status_event(tenant, change)).collect();
                meta_chat_events::record(conn, tenant, &events).await?;
                Ok(events)
            })
        })
        .await
    }
}

/// The WhatsApp channel's `fallbackTemplate`, if configured.
fn fallback_template(channel: &Channel) -> Option<TemplateRef> {
    serde_json::from_value(channel.config.get("fallbackTemplate")?.clone()).ok()
}

fn no_token() -> Sent {
    Sent::Failed {
        code: "no_credentials".into(),
        reason: "the channel's access token is not set".into(),
        flag_channel: true,
    }
}

impl Handler for OutboundHandler {
    async fn handle(&self, event: Envelope, attempt: usize) -> Result<(), HandleError> {
        if event.event_type != EventType::MessageQueued {
            return Ok(());
        }
        let Some(id) = event.aggregate_id else { return Err(HandleError::Park("no message id".into())) };
        let tenant = event.tenant_id;
        // one sender per message: a republished event waits for the first delivery, then finds it sent
        let database = |err: DbError| HandleError::Retry(format!("database: {err}"));
        let mut claim = self.pool.get().await.map_err(|err| database(err.into()))?;
        if !pipeline::claim_send(&mut claim, id).await.map_err(database)? {
            return Err(HandleError::Retry("another delivery is sending this message".into()));
        }
        let result = self.send_claimed(tenant, id, attempt).await;
        if let Err(err) = pipeline::release_send(&mut claim, id).await {
            tracing::warn!(message_id = %id, error = %err, "send claim not released; the pooled session keeps it");
            meta_chat_database::pool::discard(claim);
        }
        result
    }
}

impl OutboundHandler {
    async fn send_claimed(&self, tenant: TenantId, id: Uuid, attempt: usize) -> Result<(), HandleError> {
        let job = self.job(tenant, id).await.map_err(|err| HandleError::Retry(format!("database: {err}")))?;
        let Some(job) = job else { return Ok(()) };
        if !job.channel.enabled {
            let failed = Sent::Failed {
                code: "channel_disabled".into(),
                reason: "the channel is disabled".into(),
                flag_channel: false,
            };
            return self.finish(tenant, &job, failed).await;
        }
        let mut sent = self.send(tenant, &job).await;
        // throttled with an explicit wait: honour it once here rather than guessing with the retry queue
        if let Err(SendError { kind: SendErrorKind::RateLimited { retry_after: Some(wait) }, .. }) = &sent
            && *wait <= MAX_INLINE_WAIT
        {
            tracing::info!(message_id = %id, wait_ms = wait.as_millis(), "throttled by the provider; waiting as asked");
            tokio::time::sleep(*wait).await;
            sent = self.send(tenant, &job).await;
        }
        let outcome = match sent {
            Ok(outcome) => outcome,
            Err(err) if err.is_retryable() && attempt < self.max_retries => {
                tracing::warn!(message_id = %id, kind = err.kind.as_str(), attempt, "send failed; will retry");
                return Err(HandleError::Retry(format!("send failed: {}", err.kind.as_str())));
            }
            Err(err) => {
                let code = err.code.map_or_else(|| err.kind.as_str().to_owned(), |code| code.to_string());
                let flag_channel = matches!(err.kind, SendErrorKind::Auth);
                let reason = if err.is_retryable() {
                    format!("gave up after {} attempts: {}", attempt + 1, err.message)
                } else {
                    err.message.clone()
                };
                Sent::Failed { code, reason, flag_channel }
            }
        };
        self.finish(tenant, &job, outcome).await
    }
}

impl OutboundHandler {
    async fn finish(&self, tenant: TenantId, job: &Job, outcome: Sent) -> Result<(), HandleError> {
        let events =
            self.record(tenant, job, outcome).await.map_err(|err| HandleError::Retry(format!("database: {err}")))?;
        self.relay.publish_committed(tenant, events).await;
        Ok(())
    }
}
