//! The agent inbox: `GET /conversations` (filters, cursor pagination), `GET/PATCH /conversations/{id}`,
//! `GET/POST /conversations/{id}/messages`, `POST /conversations/{id}/handoff` and `/release`. Every role
//! works the inbox; API keys need `conversations:read` to read and `conversations:write` to change or reply.
//! Every query is scoped to the caller's tenant (another tenant's id is 404).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_database::conversations::{self, ChangeRefused, ConversationChange, InboxFilter, InboxItem};
use meta_chat_database::keyset::{Keyset, PageRequest};
use meta_chat_database::messages::{self, Message};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, PooledConnection};
use meta_chat_shared::ConversationStatus;
use meta_chat_shared::api_keys::ApiScope;
use meta_chat_shared::ids::{ChannelId, ConversationId, TenantId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::state::AppState;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/conversations").route(web::get().to(list_conversations)))
        .service(
            web::resource("/conversations/{id}")
                .route(web::get().to(get_conversation))
                .route(web::patch().to(update_conversation)),
        )
        .service(
            web::resource("/conversations/{id}/messages")
                .route(web::get().to(list_messages))
                .route(web::post().to(send_agent_message)),
        )
        .service(web::resource("/conversations/{id}/handoff").route(web::post().to(handoff_conversation)))
        .service(web::resource("/conversations/{id}/release").route(web::post().to(release_conversation)));
}

// ---- request DTOs ----

/// Query of `GET /conversations`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListConversationsQuery {
    /// `active`, `assigned_human` or `closed`.
    #[garde(skip)]
    pub status: Option<String>,
    /// Only this channel.
    #[garde(skip)]
    pub channel: Option<Uuid>,
    /// Only conversations owned by this agent.
    #[garde(skip)]
    pub assignee: Option<Uuid>,
    /// Substring of the contact's name, phone or channel id (1–200 characters).
    #[garde(inner(length(chars, min = 1, max = 200)))]
    pub q: Option<String>,
    /// Only conversations with activity at or after this time (RFC 3339).
    #[garde(skip)]
    pub since: Option<DateTime<Utc>>,
    /// 1–100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 128)))]
    pub cursor: Option<String>,
}

/// Query of `GET /conversations/{id}/messages`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 128)))]
    pub cursor: Option<String>,
}

/// `PATCH /conversations/{id}`: status and/or assignee (`null` unassigns).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateConversationRequest {
    /// New status: `active`, `assigned_human` or `closed`.
    #[garde(skip)]
    pub status: Option<ConversationStatusDto>,
    /// Agent to own the conversation; `null` to unassign.
    #[garde(skip)]
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<Option<Uuid>>,
}

/// `POST /conversations/{id}/messages`: an agent's reply.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendMessageRequest {
    /// The reply, 1–4096 characters.
    #[garde(custom(not_blank), length(chars, min = 1, max = 4096))]
    pub text: String,
}

/// `POST /conversations/{id}/handoff`.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HandoffRequest {
    /// Why a human takes over (up to 500 characters).
    #[garde(inner(length(chars, max = 500)))]
    pub reason: Option<String>,
}

/// A conversation status on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatusDto {
    /// The assistant answers.
    Active,
    /// A human owns it; the assistant is silent.
    AssignedHuman,
    /// Finished.
    Closed,
}

impl From<ConversationStatusDto> for ConversationStatus {
    fn from(status: ConversationStatusDto) -> Self {
        match status {
            ConversationStatusDto::Active => Self::Active,
            ConversationStatusDto::AssignedHuman => Self::AssignedHuman,
            ConversationStatusDto::Closed => Self::Closed,
        }
    }
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde's custom validator signature")]
pub(crate) fn not_blank(value: &str, (): &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

/// `Option<Option<T>>` from JSON: absent → `None`, `null` → `Some(None)`, value → `Some(Some(v))`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    #[expect(clippy::option_option, reason = "absent, null and a value are three different requests")]
    pub(super) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

// ---- response DTOs ----

/// The contact of a conversation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactResponse {
    /// Contact id.
    pub id: Uuid,
    /// Channel-specific id (WhatsApp id, Messenger PSID, visitor id).
    pub external_id: String,
    /// Phone number, when the channel gives one.
    pub phone: Option<String>,
    /// Profile name.
    pub display_name: Option<String>,
}

/// A conversation in the inbox.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationResponse {
    /// Id.
    pub id: Uuid,
    /// `active`, `assigned_human` or `closed`.
    pub status: String,
    /// Channel id.
    pub channel_id: Uuid,
    /// `whatsapp`, `messenger` or `webchat`.
    pub channel_type: String,
    /// The end user.
    pub contact: ContactResponse,
    /// The agent who owns it.
    pub assignee_id: Option<Uuid>,
    /// Why it was handed to a human.
    pub handoff_reason: Option<String>,
    /// Newest activity.
    pub last_message_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<InboxItem> for ConversationResponse {
    fn from(item: InboxItem) -> Self {
        let c = item.conversation;
        Self {
            id: c.id,
            status: c.status,
            channel_id: c.channel_id,
            channel_type: item.channel_type,
            contact: ContactResponse {
                id: item.contact.id,
                external_id: item.contact.external_id,
                phone: item.contact.phone,
                display_name: item.contact.display_name,
            },
            assignee_id: c.assignee_id,
            handoff_reason: c.handoff_reason,
            last_message_at: c.last_message_at,
            closed_at: c.closed_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A page of conversations.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationList {
    /// The conversations, newest activity first.
    pub data: Vec<ConversationResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageResponse {
    /// Id.
    pub id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `contact`, `assistant`, `agent` or `system`.
    pub sender: String,
    /// The agent who wrote it.
    pub sender_user_id: Option<Uuid>,
    /// `text`, `image`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Text content.
    pub text: Option<String>,
    /// Type-specific content (media, location, citations, ...).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// `received`, `queued`, `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<Message> for MessageResponse {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            direction: m.direction,
            sender: m.sender,
            sender_user_id: m.sender_user_id,
            kind: m.kind,
            text: m.text,
            payload: m.payload,
            status: m.status,
            created_at: m.created_at,
        }
    }
}

/// A page of messages.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageList {
    /// The messages, newest first.
    pub data: Vec<MessageResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

// ---- helpers ----

async fn connection(state: &AppState) -> Result<PooledConnection, ApiError> {
    state.db.get().await.map_err(|err| ApiError::Internal(DbError::from(err).into()))
}

fn internal(err: DbError) -> ApiError {
    ApiError::Internal(err.into())
}

/// The page a `limit` (already validated 1–100) and `cursor` ask for; 400 naming `cursor` for a cursor this API
/// did not return.
pub(crate) fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let after = cursor
        .map(Keyset::decode)
        .transpose()
        .map_err(|_| ApiError::Validation(vec![FieldError::new("cursor", "is not a cursor this API returned")]))?;
    Ok(PageRequest { limit: limit.unwrap_or(20), after })
}

fn refused(refusal: &ChangeRefused) -> ApiError {
    match refusal {
        ChangeRefused::NotFound => ApiError::NotFound,
        &ChangeRefused::InvalidTransition { from, to } => ApiError::Validation(vec![FieldError::new(
            "status",
            format!("a conversation cannot go from {from} to {to}"),
        )]),
        ChangeRefused::UnknownAssignee => {
            ApiError::Validation(vec![FieldError::new("assigneeId", "is not an active user of this tenant")])
        }
    }
}

async fn apply_change(
    state: &AppState,
    tenant: TenantId,
    id: ConversationId,
    change: ConversationChange,
) -> Result<HttpResponse, ApiError> {
    let mut conn = connection(state).await?;
    let handoff = change.handoff_reason.is_some();
    let outcome = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            match conversations::change(conn, tenant, id, &change).await? {
                Ok(changed) => {
                    // agents and tenant webhooks learn about it; the outbox commits with the change
                    let event = meta_chat_orchestrator::reply::conversation_changed(tenant, &changed, handoff);
                    meta_chat_events::record(conn, tenant, std::slice::from_ref(&event)).await?;
                    Ok(conversations::find(conn, tenant, id).await?.map(|item| Ok((item, event))))
                }
                Err(refusal) => Ok::<_, DbError>(Some(Err(refusal))),
            }
        })
    })
    .await
    .map_err(internal)?;
    match outcome {
        Some(Ok((item, event))) => {
            let relay = state.relay.clone();
            tokio::spawn(async move { relay.publish_committed(tenant, vec![event]).await });
            Ok(HttpResponse::Ok().json(ConversationResponse::from(item)))
        }
        Some(Err(refusal)) => Err(refused(&refusal)),
        None => Err(ApiError::NotFound),
    }
}

// ---- handlers ----

/// The inbox.
#[utoipa::path(
    get,
    path = "/conversations",
    tag = "inbox",
    params(ListConversationsQuery),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 403, description = "An API key without `conversations:read`", body = ErrorEnvelope),
        (status = 200, description = "Newest activity first", body = ConversationList),
        (status = 400, description = "`VALIDATION_ERROR` or `INVALID_QUERY`", body = ErrorEnvelope),
        (status = 401, description = "No or invalid token", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_conversations(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListConversationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    query.validate()?;
    caller.require_scope(ApiScope::ConversationsRead)?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<ConversationStatus>)
        .transpose()
        .map_err(|e| ApiError::Validation(vec![FieldError::new("status", e.to_string())]))?;
    let page = page(query.limit, query.cursor.as_deref())?;
    let filter = InboxFilter {
        status,
        channel_id: query.channel.map(ChannelId::from_uuid),
        assignee_id: query.assignee.map(UserId::from_uuid),
        query: query.q,
        since: query.since,
    };
    let mut conn = connection(&state).await?;
    let tenant = caller.tenant_id();
    let (items, next_cursor) = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { conversations::list(conn, tenant, &filter, &page).await })
    })
    .await
    .map_err(internal)?;
    let data = items.into_iter().map(ConversationResponse::from).collect();
    Ok(HttpResponse::Ok().json(ConversationList { data, next_cursor }))
}

/// One conversation with its contact.
#[utoipa::path(
    get,
    path = "/conversations/{id}",
    tag = "inbox",
    params(("id" = Uuid, Path, description = "Conversation id")),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 403, description = "An API key without `conversations:read`", body = ErrorEnvelope),
        (status = 200, description = "The conversation", body = ConversationResponse),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn get_conversation(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::ConversationsRead)?;
    let id = ConversationId::from_uuid(path.into_inner());
    let mut conn = connection(&state).await?;
    let tenant = caller.tenant_id();
    let item = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(conversations::find(conn, tenant, id)))
        .await
        .map_err(internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(ConversationResponse::from(item)))
}

/// Change status and/or assignee; transitions follow the state machine
/// (`active` ⇄ `assigned_human` → `closed`, `closed` → `active`).
#[utoipa::path(
    patch,
    path = "/conversations/{id}",
    tag = "inbox",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = UpdateConversationRequest,
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 403, description = "An API key without `conversations:write`", body = ErrorEnvelope),
        (status = 200, description = "The updated conversation", body = ConversationResponse),
        (status = 400, description = "`VALIDATION_ERROR`: an invalid transition or assignee", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn update_conversation(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<UpdateConversationRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    caller.require_scope(ApiScope::ConversationsWrite)?;
    if body.status.is_none() && body.assignee_id.is_none() {
        return Err(ApiError::Validation(vec![FieldError::new("status", "give a status or an assigneeId")]));
    }
    let change = ConversationChange {
        status: body.status.map(ConversationStatus::from),
        assignee: body.assignee_id.map(|a| a.map(UserId::from_uuid)),
        handoff_reason: None,
    };
    apply_change(&state, caller.tenant_id(), ConversationId::from_uuid(path.into_inner()), change).await
}

/// Hand the conversation to humans: the assistant stays silent until it is released.
#[utoipa::path(
    post,
    path = "/conversations/{id}/handoff",
    tag = "inbox",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body(content = HandoffRequest, description = "Optional reason"),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 403, description = "An API key without `conversations:write`", body = ErrorEnvelope),
        (status = 200, description = "Now `assigned_human`", body = ConversationResponse),
        (status = 400, description = "`VALIDATION_ERROR`, e.g. the conversation is closed", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn handoff_conversation(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // the body is optional; when present it must be a valid `HandoffRequest`
    let body: HandoffRequest = crate::payload::optional_json(&body)?.unwrap_or_default();
    body.validate()?;
    caller.require_scope(ApiScope::ConversationsWrite)?;
    let change = ConversationChange {
        status: Some(ConversationStatus::AssignedHuman),
        assignee: None,
        handoff_reason: body.reason,
    };
    apply_change(&state, caller.tenant_id(), ConversationId::from_uuid(path.into_inner()), change).await
}

/// Give the conversation back to the assistant.
#[utoipa::path(
    post,
    path = "/conversations/{id}/release",
    tag = "inbox",
    params(("id" = Uuid, Path, description = "Conversation id")),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 403, description = "An API key without `conversations:write`", body = ErrorEnvelope),
        (status = 200, description = "Now `active`, unassigned", body = ConversationResponse),
        (status = 400, description = "`VALIDATION_ERROR`: not human-owned", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn release_conversation(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::ConversationsWrite)?;
    let id = ConversationId::from_uuid(path.into_inner());
    let mut conn = connection(&state).await?;
    let tenant = caller.tenant_id();
    // releasing is only meaningful for a human-owned conversation
    let current = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(conversations::find(conn, tenant, id)))
        .await
        .map_err(internal)?
        .ok_or(ApiError::NotFound)?;
    if current.conversation.status != ConversationStatus::AssignedHuman.as_str() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "status",
            "only a human-owned conversation can be released",
        )]));
    }
    let change =
        ConversationChange { status: Some(ConversationStatus::Active), assignee: Some(None), handoff_reason: None };
    apply_change(&state, tenant, id, change).await
}

/// Messages, newest first.
#[utoipa::path(
    get,
    path = "/conversations/{id}/messages",
    tag = "inbox",
    params(("id" = Uuid, Path, description = "Conversation id"), PageQuery),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 403, description = "An API key without `conversations:read`", body = ErrorEnvelope),
        (status = 200, description = "Newest first", body = MessageList),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_messages(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    query.validate()?;
    caller.require_scope(ApiScope::ConversationsRead)?;
    let page = page(query.limit, query.cursor.as_deref())?;
    let id = ConversationId::from_uuid(path.into_inner());
    let mut conn = connection(&state).await?;
    let tenant = caller.tenant_id();
    let listed = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            if conversations::find(conn, tenant, id).await?.is_none() {
                return Ok(None);
            }
            Ok::<_, DbError>(Some(messages::list(conn, tenant, id, &page).await?))
        })
    })
    .await
    .map_err(internal)?;
    let (rows, next_cursor) = listed.ok_or(ApiError::NotFound)?;
    let data = rows.into_iter().map(MessageResponse::from).collect();
    Ok(HttpResponse::Ok().json(MessageList { data, next_cursor }))
}

/// An agent's reply: stored, queued for sending through the channel, and the conversation becomes
/// human-owned (the assistant stays silent until it is released). Sent with an API key, the message has no
/// `senderUserId` and the conversation keeps its assignee (none if it had none).
#[utoipa::path(
    post,
    path = "/conversations/{id}/messages",
    tag = "inbox",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = SendMessageRequest,
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 403, description = "An API key without `conversations:write`", body = ErrorEnvelope),
        (status = 202, description = "Stored and queued", body = MessageResponse),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn send_agent_message(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<SendMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    caller.require_scope(ApiScope::ConversationsWrite)?;
    let id = ConversationId::from_uuid(path.into_inner());
    let mut conn = connection(&state).await?;
    let (tenant, agent) = (caller.tenant_id(), caller.user_id());
    let text = body.text;
    let stored = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some((message, _)) = messages::insert_agent_reply(conn, tenant, id, agent, &text).await? else {
                return Ok(None);
            };
            // the outbound consumer sends it through the channel
            let queued = meta_chat_orchestrator::reply::queued_event(tenant, &message);
            meta_chat_events::record(conn, tenant, std::slice::from_ref(&queued)).await?;
            Ok::<_, meta_chat_database::DbError>(Some((message, queued)))
        })
    })
    .await
    .map_err(internal)?;
    let (message, queued) = stored.ok_or(ApiError::NotFound)?;
    let relay = state.relay.clone();
    tokio::spawn(async move { relay.publish_committed(tenant, vec![queued]).await });
    Ok(HttpResponse::Accepted().json(MessageResponse::from(message)))
}
