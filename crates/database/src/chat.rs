//! The chat API's storage (`POST /chat`): its conversations live on one platform-made channel of type `api` per
//! tenant, with one contact per caller (a user or an API key). Its exchanges are written in one transaction —
//! the question, the answer (delivered inline, so `delivered` at once) and the decision — so the orchestrator's
//! consumer, which sees the question's `message.received`, finds it decided and does nothing.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{ChannelId, ContactId, ConversationId, TenantId};
use meta_chat_shared::{ChannelType, ConversationStatus};
use uuid::Uuid;

use crate::conversations::Conversation;
use crate::error::DbResult;
use crate::inbound::{self, ContactIdentity, NewInbound};
use crate::messages::Message;
use crate::schema::{channels, conversations, messages};

/// The tenant's API channel, created on first use (concurrent first uses agree on one).
pub async fn api_channel(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<ChannelId> {
    diesel::insert_into(channels::table)
        .values((
            channels::tenant_id.eq(tenant.as_uuid()),
            channels::id.eq(Uuid::now_v7()),
            channels::type_.eq(ChannelType::Api.as_str()),
            channels::name.eq("Chat API"),
            channels::enabled.eq(true),
            channels::config.eq(serde_json::json!({})),
            channels::secrets.eq(serde_json::json!({})),
            // non-webchat channels carry an external id (the table's CHECK); the API channel's is its tenant's
            channels::external_id.eq(format!("api:{tenant}")),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let id: Uuid = channels::table
        .filter(channels::tenant_id.eq(tenant.as_uuid()).and(channels::type_.eq(ChannelType::Api.as_str())))
        .select(channels::id)
        .first(conn)
        .await?;
    Ok(ChannelId::from_uuid(id))
}

/// A contact on the API channel (`user:<id>:<conversation>` or `key:<id>:<conversation>`).
pub async fn caller_contact(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    channel: ChannelId,
    caller: &str,
) -> DbResult<ContactId> {
    inbound::upsert_contact(
        conn,
        tenant,
        channel,
        &ContactIdentity { external_id: caller, phone: None, display_name: None },
    )
    .await
}

/// A new conversation of `contact` on the API channel.
pub async fn start_conversation(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    channel: ChannelId,
    contact: ContactId,
) -> DbResult<Conversation> {
    Ok(diesel::insert_into(conversations::table)
        .values((
            conversations::tenant_id.eq(tenant.as_uuid()),
            conversations::id.eq(Uuid::now_v7()),
            conversations::channel_id.eq(channel.as_uuid()),
            conversations::contact_id.eq(contact.as_uuid()),
            conversations::status.eq(ConversationStatus::Active.as_str()),
        ))
        .returning(Conversation::as_returning())
        .get_result(conn)
        .await?)
}

/// An API-channel conversation of the tenant by id, locked; `None` for other channels' and tenants' ids.
pub async fn find_conversation(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    channel: ChannelId,
    id: ConversationId,
) -> DbResult<Option<Conversation>> {
    Ok(conversations::table
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(id.as_uuid())))
        .filter(conversations::channel_id.eq(channel.as_uuid()))
        .select(Conversation::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Stores the caller's question in `conversation` (reopening it if it was closed); returns its id.
pub async fn insert_question(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    conversation: &Conversation,
    text: &str,
) -> DbResult<Uuid> {
    if conversation.closed_at.is_some() {
        diesel::update(conversations::table)
            .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(conversation.id)))
            .set((
                conversations::status.eq(ConversationStatus::Active.as_str()),
                conversations::closed_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            ))
            .execute(conn)
            .await?;
    }
    let id = Uuid::now_v7();
    let external = format!("chat:{id}");
    let new = NewInbound {
        id,
        created_at: chrono::Utc::now(),
        conversation,
        kind: "text",
        text: Some(text),
        payload: &serde_json::json!({}),
        external_id: &external,
        reply_to: None,
    };
    inbound::insert_message(conn, tenant, &new).await?;
    Ok(id)
}

/// Stores the answer, delivered inline (status `delivered`), and advances the conversation.
pub async fn insert_answer(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    sender: &str,
    text: &str,
    payload: &serde_json::Value,
) -> DbResult<Message> {
    let message: Message = diesel::insert_into(messages::table)
        .values((
            messages::tenant_id.eq(tenant.as_uuid()),
            messages::id.eq(Uuid::now_v7()),
            messages::conversation_id.eq(conversation.as_uuid()),
            messages::direction.eq("outbound"),
            messages::sender.eq(sender),
            messages::type_.eq("text"),
            messages::text.eq(text),
            messages::payload.eq(payload),
            messages::status.eq("delivered"),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await?;
    diesel::update(conversations::table)
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(conversation.as_uuid())))
        .set(conversations::last_message_at.eq(message.created_at))
        .execute(conn)
        .await?;
    Ok(message)
}
