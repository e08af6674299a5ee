//! Conversations: the agent inbox's list and detail queries and the status state machine
//! (`active` ⇄ `assigned_human` → `closed`, `closed` → `active`). Every function runs inside
//! [`crate::tenant::in_tenant_tx`] and filters on the tenant too; another tenant's id is "not found".

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ConversationStatus;
use meta_chat_shared::ids::{ChannelId, ConversationId, TenantId, UserId};
use uuid::Uuid;

use crate::error::{DbError, DbResult};
use crate::keyset::{Keyset, PageRequest};
use crate::schema::{channels, contacts, conversations, tenant_users};

/// A conversation row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations, check_for_backend(diesel::pg::Pg))]
pub struct Conversation {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Id.
    pub id: Uuid,
    /// Channel the conversation runs on.
    pub channel_id: Uuid,
    /// The end user.
    pub contact_id: Uuid,
    /// `active`, `assigned_human` or `closed` (see [`Conversation::status`]).
    pub status: String,
    /// The agent who owns it, if any.
    pub assignee_id: Option<Uuid>,
    /// Why it was handed to a human.
    pub handoff_reason: Option<String>,
    /// Free-form metadata.
    pub metadata: serde_json::Value,
    /// Time of the newest message (creation time before the first one).
    pub last_message_at: DateTime<Utc>,
    /// Time of the newest inbound message.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Conversation {
    /// The status as the domain enum (the database CHECK guarantees it parses).
    pub fn status(&self) -> DbResult<ConversationStatus> {
        self.status.parse().map_err(|e| DbError::InvalidInput(format!("stored status: {e}")))
    }
}

/// The contact fields shown in the inbox.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts, check_for_backend(diesel::pg::Pg))]
pub struct ContactSummary {
    /// Contact id.
    pub id: Uuid,
    /// Channel-specific id (`wa_id`, PSID, visitor id).
    pub external_id: String,
    /// Phone number, when the channel gives one.
    pub phone: Option<String>,
    /// Profile name.
    pub display_name: Option<String>,
}

/// One inbox row: the conversation, its contact and its channel type.
#[derive(Debug, Clone)]
pub struct InboxItem {
    /// The conversation.
    pub conversation: Conversation,
    /// Its contact.
    pub contact: ContactSummary,
    /// `whatsapp`, `messenger` or `webchat`.
    pub channel_type: String,
}

/// Inbox filters; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// Only this status.
    pub status: Option<ConversationStatus>,
    /// Only this channel.
    pub channel_id: Option<ChannelId>,
    /// Only conversations owned by this agent.
    pub assignee_id: Option<UserId>,
    /// Case-insensitive substring of the contact's name, phone or external id.
    pub query: Option<String>,
    /// Only conversations with a message at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// Escapes `%`, `_` and `\` so user text is matched literally by `ILIKE`.
fn like_pattern(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// The inbox: newest activity first, `(last_message_at, id)` keyset pagination.
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    filter: &InboxFilter,
    page: &PageRequest,
) -> DbResult<(Vec<InboxItem>, Option<String>)> {
    let tenant = tenant.as_uuid();
    let mut query = conversations::table
        .inner_join(
            contacts::table
                .on(contacts::id.eq(conversations::contact_id).and(contacts::tenant_id.eq(conversations::tenant_id))),
        )
        .inner_join(
            channels::table
                .on(channels::id.eq(conversations::channel_id).and(channels::tenant_id.eq(conversations::tenant_id))),
        )
        .filter(conversations::tenant_id.eq(tenant))
        .select((Conversation::as_select(), ContactSummary::as_select(), channels::type_))
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(conversations::status.eq(status.as_str()));
    }
    if let Some(channel) = filter.channel_id {
        query = query.filter(conversations::channel_id.eq(channel.as_uuid()));
    }
    if let Some(assignee) = filter.assignee_id {
        query = query.filter(conversations::assignee_id.eq(assignee.as_uuid()));
    }
    if let Some(since) = filter.since {
        query = query.filter(conversations::last_message_at.ge(since));
    }
    if let Some(text) = filter.query.as_deref().filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        query = query.filter(
            contacts::external_id
                .ilike(pattern.clone())
                .nullable()
                .or(contacts::display_name.ilike(pattern.clone()))
                .or(contacts::phone.ilike(pattern)),
        );
    }
    if let Some(after) = page.after {
        query = query.filter(
            conversations::last_message_at
                .lt(after.at)
                .or(conversations::last_message_at.eq(after.at).and(conversations::id.lt(after.id))),
        );
    }
    let rows: Vec<(Conversation, ContactSummary, String)> = query
        .order((conversations::last_message_at.desc(), conversations::id.desc()))
        .limit(page.fetch_limit())
        .load(conn)
        .await?;
    let items = rows
        .into_iter()
        .map(|(conversation, contact, channel_type)| InboxItem { conversation, contact, channel_type })
        .collect();
    Ok(page.finish(items, |item| Keyset { at: item.conversation.last_message_at, id: item.conversation.id }))
}

/// One conversation with its contact and channel type; `None` for unknown ids and other tenants' ids.
pub async fn find(conn: &mut AsyncPgConnection, tenant: TenantId, id: ConversationId) -> DbResult<Option<InboxItem>> {
    let row: Option<(Conversation, ContactSummary, String)> = conversations::table
        .inner_join(
            contacts::table
                .on(contacts::id.eq(conversations::contact_id).and(contacts::tenant_id.eq(conversations::tenant_id))),
        )
        .inner_join(
            channels::table
                .on(channels::id.eq(conversations::channel_id).and(channels::tenant_id.eq(conversations::tenant_id))),
        )
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(id.as_uuid())))
        .select((Conversation::as_select(), ContactSummary::as_select(), channels::type_))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(conversation, contact, channel_type)| InboxItem { conversation, contact, channel_type }))
}

/// Locks the conversation row for the rest of the transaction (`FOR UPDATE`), so concurrent changes are
/// applied one after the other, each checked against the state the previous one left.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: ConversationId,
) -> DbResult<Option<Conversation>> {
    conversations::table
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(id.as_uuid())))
        .select(Conversation::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
        .map_err(DbError::from)
}

/// A requested change of status and/or assignee.
#[derive(Debug, Clone, Default)]
pub struct ConversationChange {
    /// New status.
    pub status: Option<ConversationStatus>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee: Option<Option<UserId>>,
    /// Why a human takes over (kept with `assigned_human`).
    pub handoff_reason: Option<String>,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRefused {
    /// No such conversation for this tenant.
    NotFound,
    /// The state machine does not allow it.
    InvalidTransition {
        /// Current status.
        from: ConversationStatus,
        /// Requested status.
        to: ConversationStatus,
    },
    /// The assignee is not an active user of this tenant.
    UnknownAssignee,
}

/// Applies `change` under a row lock. Assigning an agent to an `active` conversation hands it to humans;
/// moving back to `active` clears the assignee unless one is given; closing records `closed_at`, reopening
/// clears it.
pub async fn change(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: ConversationId,
    change: &ConversationChange,
) -> DbResult<Result<Conversation, ChangeRefused>> {
    let Some(current) = lock(conn, tenant, id).await? else { return Ok(Err(ChangeRefused::NotFound)) };
    let from = current.status()?;
    let assigning = matches!(change.assignee, Some(Some(_)));
    let to = match change.status {
        Some(to) => to,
        None if assigning && from == ConversationStatus::Active => ConversationStatus::AssignedHuman,
        None => from,
    };
    if to != from && !from.can_become(to) {
        return Ok(Err(ChangeRefused::InvalidTransition { from, to }));
    }
    if let Some(Some(user)) = change.assignee
        && !is_active_user(conn, tenant, user).await?
    {
        return Ok(Err(ChangeRefused::UnknownAssignee));
    }
    let assignee = match change.assignee {
        Some(assignee) => assignee.map(|u| u.as_uuid()),
        None if to == ConversationStatus::Active => None,
        None => current.assignee_id,
    };
    let closed_at = match to {
        ConversationStatus::Closed if from != ConversationStatus::Closed => Some(Utc::now()),
        ConversationStatus::Closed => current.closed_at,
        _ => None,
    };
    let handoff_reason = match to {
        ConversationStatus::AssignedHuman => change.handoff_reason.clone().or(current.handoff_reason),
        _ => None,
    };
    let updated = diesel::update(conversations::table)
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(id.as_uuid())))
        .set((
            conversations::status.eq(to.as_str()),
            conversations::assignee_id.eq(assignee),
            conversations::closed_at.eq(closed_at),
            conversations::handoff_reason.eq(handoff_reason),
        ))
        .returning(Conversation::as_returning())
        .get_result(conn)
        .await?;
    Ok(Ok(updated))
}

async fn is_active_user(conn: &mut AsyncPgConnection, tenant: TenantId, user: UserId) -> DbResult<bool> {
    let found: Option<Uuid> = tenant_users::table
        .filter(
            tenant_users::tenant_id
                .eq(tenant.as_uuid())
                .and(tenant_users::id.eq(user.as_uuid()))
                .and(tenant_users::status.eq("active")),
        )
        .select(tenant_users::id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_match_user_text_literally() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("ana"), "%ana%");
    }
}
