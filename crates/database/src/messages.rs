//! Messages of a conversation: the inbox's history (newest first) and agent replies. `messages` is
//! partitioned by month; every query filters on the tenant and conversation, which the
//! `(tenant_id, conversation_id, created_at DESC)` index serves.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ConversationStatus;
use meta_chat_shared::ids::{ConversationId, TenantId, UserId};
use uuid::Uuid;

use crate::conversations::{self, Conversation};
use crate::error::DbResult;
use crate::keyset::{Keyset, PageRequest};
use crate::schema::{conversations as conversations_table, messages};

/// A message row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `contact`, `assistant`, `agent` or `system`.
    pub sender: String,
    /// The agent who wrote it (`sender = agent`).
    pub sender_user_id: Option<Uuid>,
    /// Message type (`text`, `image`, ...).
    #[diesel(column_name = type_)]
    pub kind: String,
    /// Text content, if any.
    pub text: Option<String>,
    /// Type-specific content.
    pub payload: serde_json::Value,
    /// Delivery status.
    pub status: String,
    /// The provider's message id.
    pub external_id: Option<String>,
    /// Provider error code when failed.
    pub error_code: Option<String>,
    /// Created (partition key).
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Messages of one conversation, newest first, `(created_at, id)` keyset pagination. An unknown or foreign
/// conversation yields an empty page (callers check the conversation first to answer 404).
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    page: &PageRequest,
) -> DbResult<(Vec<Message>, Option<String>)> {
    let mut query = messages::table
        .filter(messages::tenant_id.eq(tenant.as_uuid()).and(messages::conversation_id.eq(conversation.as_uuid())))
        .select(Message::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(
            messages::created_at.lt(after.at).or(messages::created_at.eq(after.at).and(messages::id.lt(after.id))),
        );
    }
    let rows =
        query.order((messages::created_at.desc(), messages::id.desc())).limit(page.fetch_limit()).load(conn).await?;
    Ok(page.finish(rows, |m: &Message| Keyset { at: m.created_at, id: m.id }))
}

/// Who an outbound message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundSender {
    /// A human agent (`None`: through an API key).
    Agent(Option<UserId>),
    /// The assistant.
    Assistant,
    /// The platform itself (hand-off notices).
    System,
}

/// Inserts a queued outbound text message (the caller advances the conversation).
pub async fn insert_queued_text(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    sender: OutboundSender,
    text: &str,
    payload: &serde_json::Value,
) -> DbResult<Message> {
    let (sender, user) = match sender {
        OutboundSender::Agent(user) => ("agent", user.map(|user| user.as_uuid())),
        OutboundSender::Assistant => ("assistant", None),
        OutboundSender::System => ("system", None),
    };
    let message = diesel::insert_into(messages::table)
        .values((
            messages::tenant_id.eq(tenant.as_uuid()),
            messages::id.eq(Uuid::now_v7()),
            messages::conversation_id.eq(conversation.as_uuid()),
            messages::direction.eq("outbound"),
            messages::sender.eq(sender),
            messages::sender_user_id.eq(user),
            messages::type_.eq("text"),
            messages::text.eq(text),
            messages::payload.eq(payload),
            messages::status.eq("queued"),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await?;
    Ok(message)
}

/// Stores an agent's text reply as a queued outbound message and hands the conversation to humans: it
/// becomes `assigned_human` (reopened if it was closed), owned by the replying agent unless another agent
/// owns it already, so the assistant stays silent until it is released. `agent` is `None` for a reply sent
/// through an API key: the message has no sender user and the assignee stays as it is. `None` when the
/// conversation does not exist for this tenant. Runs under the conversation's row lock.
pub async fn insert_agent_reply(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    agent: Option<UserId>,
    text: &str,
) -> DbResult<Option<(Message, Conversation)>> {
    let Some(current) = conversations::lock(conn, tenant, conversation).await? else { return Ok(None) };
    let sender = OutboundSender::Agent(agent);
    let message = insert_queued_text(conn, tenant, conversation, sender, text, &serde_json::json!({})).await?;
    let assignee = current.assignee_id.or_else(|| agent.map(|agent| agent.as_uuid()));
    let updated: Conversation = diesel::update(conversations_table::table)
        .filter(
            conversations_table::tenant_id.eq(tenant.as_uuid()).and(conversations_table::id.eq(conversation.as_uuid())),
        )
        .set((
            conversations_table::status.eq(ConversationStatus::AssignedHuman.as_str()),
            conversations_table::assignee_id.eq(assignee),
            conversations_table::closed_at.eq(None::<DateTime<Utc>>),
            conversations_table::last_message_at.eq(message.created_at),
        ))
        .returning(Conversation::as_returning())
        .get_result(conn)
        .await?;
    Ok(Some((message, updated)))
}
