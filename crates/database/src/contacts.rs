//! End users (contacts) and the GDPR operations on one of them: export everything stored about them,
//! and erase them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{ContactId, TenantId};
use uuid::Uuid;

use crate::conversations::Conversation;
use crate::error::DbResult;
use crate::messages::Message;
use crate::schema::{contacts, conversations, messages};

/// A contact row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts, check_for_backend(diesel::pg::Pg))]
pub struct Contact {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Id.
    pub id: Uuid,
    /// The channel they write on.
    pub channel_id: Uuid,
    /// Channel-specific id.
    pub external_id: String,
    /// Phone number, when known.
    pub phone: Option<String>,
    /// Profile name.
    pub display_name: Option<String>,
    /// Free-form metadata.
    pub metadata: serde_json::Value,
    /// Last activity.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Everything stored about one contact.
#[derive(Debug, Clone)]
pub struct ContactExport {
    /// The contact.
    pub contact: Contact,
    /// Their conversations, oldest first, each with its messages oldest first.
    pub conversations: Vec<(Conversation, Vec<Message>)>,
}

/// One contact; `None` for unknown ids and other tenants' ids.
pub async fn find(conn: &mut AsyncPgConnection, tenant: TenantId, id: ContactId) -> DbResult<Option<Contact>> {
    Ok(contacts::table
        .filter(contacts::tenant_id.eq(tenant.as_uuid()).and(contacts::id.eq(id.as_uuid())))
        .select(Contact::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Collects the contact, their conversations and all their messages. Exactly that contact's data: every
/// query filters on the tenant and on the contact's own conversation ids.
pub async fn export(conn: &mut AsyncPgConnection, tenant: TenantId, id: ContactId) -> DbResult<Option<ContactExport>> {
    let Some(contact) = find(conn, tenant, id).await? else { return Ok(None) };
    let conversations: Vec<Conversation> = conversations::table
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::contact_id.eq(contact.id)))
        .select(Conversation::as_select())
        .order((conversations::created_at.asc(), conversations::id.asc()))
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = conversations.iter().map(|c| c.id).collect();
    let mut all_messages: Vec<Message> = messages::table
        .filter(messages::tenant_id.eq(tenant.as_uuid()).and(messages::conversation_id.eq_any(&ids)))
        .select(Message::as_select())
        .order((messages::created_at.asc(), messages::id.asc()))
        .load(conn)
        .await?;
    let conversations = conversations
        .into_iter()
        .map(|conversation| {
            let (mine, rest): (Vec<Message>, Vec<Message>) =
                all_messages.drain(..).partition(|m| m.conversation_id == conversation.id);
            all_messages = rest;
            (conversation, mine)
        })
        .collect();
    Ok(Some(ContactExport { contact, conversations }))
}

/// Erases a contact: the contact row, their conversations and every message (foreign-key cascades).
/// Inbound receipts stay, holding only the provider's message id, so a late retry from Meta is still
/// recognised as a duplicate instead of recreating the contact. Returns whether the contact existed.
pub async fn erase(conn: &mut AsyncPgConnection, tenant: TenantId, id: ContactId) -> DbResult<bool> {
    let deleted = diesel::delete(contacts::table)
        .filter(contacts::tenant_id.eq(tenant.as_uuid()).and(contacts::id.eq(id.as_uuid())))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}
