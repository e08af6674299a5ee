//! Storing inbound traffic from a channel webhook, inside the one transaction that also records the outbox
//! events: the contact (created or refreshed), its conversation (found, created, or reopened when closed),
//! the message, and the receipt that deduplicates the provider's redeliveries. Also delivery receipts for
//! outbound messages, applied monotonically (`queued → sent → delivered → read`; `failed` is terminal).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{ChannelId, ContactId, TenantId};
use meta_chat_shared::{ConversationStatus, DeliveryStatus};
use uuid::Uuid;

use crate::conversations::Conversation;
use crate::error::DbResult;
use crate::schema::{contacts, conversations, inbound_receipts, messages};

/// The end user a message came from, as the provider identifies them.
#[derive(Debug, Clone)]
pub struct ContactIdentity<'a> {
    /// `wa_id`, business-scoped user id, PSID or visitor id.
    pub external_id: &'a str,
    /// Phone number, `+` and digits.
    pub phone: Option<&'a str>,
    /// Profile name.
    pub display_name: Option<&'a str>,
}

/// Creates the contact or refreshes its phone, name and last-seen time; returns its id. The upsert locks
/// the contact's row, so concurrent messages of one contact are stored one after the other.
pub async fn upsert_contact(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    channel: ChannelId,
    who: &ContactIdentity<'_>,
) -> DbResult<ContactId> {
    let id: Uuid = diesel::insert_into(contacts::table)
        .values((
            contacts::tenant_id.eq(tenant.as_uuid()),
            contacts::id.eq(Uuid::now_v7()),
            contacts::channel_id.eq(channel.as_uuid()),
            contacts::external_id.eq(who.external_id),
            contacts::phone.eq(who.phone),
            contacts::display_name.eq(who.display_name),
            contacts::last_seen_at.eq(diesel::dsl::now),
        ))
        .on_conflict((contacts::tenant_id, contacts::channel_id, contacts::external_id))
        .do_update()
        .set((
            contacts::phone.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                "COALESCE(excluded.phone, contacts.phone)",
            )),
            contacts::display_name.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                "COALESCE(excluded.display_name, contacts.display_name)",
            )),
            contacts::last_seen_at.eq(excluded(contacts::last_seen_at)),
        ))
        .returning(contacts::id)
        .get_result(conn)
        .await?;
    Ok(ContactId::from_uuid(id))
}

/// How the conversation for an inbound message was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// An open conversation existed.
    Existing,
    /// None existed: a new one was created.
    Created,
    /// The latest one was closed and has been reopened (back to the assistant).
    Reopened,
}

/// The contact's open conversation, or its latest closed one reopened (`active`, unassigned), or a new one;
/// the row is locked for the rest of the transaction.
pub async fn open_conversation(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    channel: ChannelId,
    contact: ContactId,
) -> DbResult<(Conversation, Opened)> {
    let latest: Option<Conversation> = conversations::table
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::contact_id.eq(contact.as_uuid())))
        .order((conversations::closed_at.is_not_null().asc(), conversations::last_message_at.desc()))
        .select(Conversation::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    match latest {
        Some(conversation) if conversation.closed_at.is_none() => Ok((conversation, Opened::Existing)),
        Some(conversation) => {
            let reopened = diesel::update(conversations::table)
                .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(conversation.id)))
                .set((
                    conversations::status.eq(ConversationStatus::Active.as_str()),
                    conversations::closed_at.eq(None::<DateTime<Utc>>),
                    conversations::assignee_id.eq(None::<Uuid>),
                    conversations::handoff_reason.eq(None::<String>),
                ))
                .returning(Conversation::as_returning())
                .get_result(conn)
                .await?;
            Ok((reopened, Opened::Reopened))
        }
        None => {
            let created = diesel::insert_into(conversations::table)
                .values((
                    conversations::tenant_id.eq(tenant.as_uuid()),
                    conversations::id.eq(Uuid::now_v7()),
                    conversations::channel_id.eq(channel.as_uuid()),
                    conversations::contact_id.eq(contact.as_uuid()),
                    conversations::status.eq(ConversationStatus::Active.as_str()),
                ))
                .returning(Conversation::as_returning())
                .get_result(conn)
                .await?;
            Ok((created, Opened::Created))
        }
    }
}

/// Claims `(channel, external_id)` for a new message id: `None` when the provider already delivered this
/// message (a retry or a concurrent duplicate — the unique key makes the second writer wait for the first
/// and then see the conflict).
pub async fn claim_receipt(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    channel: ChannelId,
    external_id: &str,
) -> DbResult<Option<(Uuid, DateTime<Utc>)>> {
    let message_id = Uuid::now_v7();
    let created_at = Utc::now();
    let inserted = diesel::insert_into(inbound_receipts::table)
        .values((
            inbound_receipts::tenant_id.eq(tenant.as_uuid()),
            inbound_receipts::channel_id.eq(channel.as_uuid()),
            inbound_receipts::external_id.eq(external_id),
            inbound_receipts::message_id.eq(message_id),
            inbound_receipts::message_created_at.eq(created_at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok((inserted == 1).then_some((message_id, created_at)))
}

/// An inbound message to store.
#[derive(Debug, Clone)]
pub struct NewInbound<'a> {
    /// Id claimed by [`claim_receipt`].
    pub id: Uuid,
    /// Creation time claimed by [`claim_receipt`] (the partition key).
    pub created_at: DateTime<Utc>,
    /// Its conversation.
    pub conversation: &'a Conversation,
    /// Message type (`text`, `image`, ...).
    pub kind: &'a str,
    /// Text content.
    pub text: Option<&'a str>,
    /// Normalised type-specific content.
    pub payload: &'a serde_json::Value,
    /// Provider message id.
    pub external_id: &'a str,
    /// The provider id of the message it replies to.
    pub reply_to: Option<&'a str>,
}

/// Stores an inbound message and advances its conversation's `last_message_at` and `last_inbound_at`.
pub async fn insert_message(conn: &mut AsyncPgConnection, tenant: TenantId, new: &NewInbound<'_>) -> DbResult<()> {
    diesel::insert_into(messages::table)
        .values((
            messages::tenant_id.eq(tenant.as_uuid()),
            messages::id.eq(new.id),
            messages::conversation_id.eq(new.conversation.id),
            messages::direction.eq("inbound"),
            messages::sender.eq("contact"),
            messages::type_.eq(new.kind),
            messages::text.eq(new.text),
            messages::payload.eq(new.payload),
            messages::status.eq(DeliveryStatus::Received.as_str()),
            messages::external_id.eq(new.external_id),
            messages::reply_to_external_id.eq(new.reply_to),
            messages::created_at.eq(new.created_at),
        ))
        .execute(conn)
        .await?;
    diesel::update(conversations::table)
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(new.conversation.id)))
        .set((
            conversations::last_message_at.eq(diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
                "GREATEST(conversations.last_message_at, now())",
            )),
            conversations::last_inbound_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
