//! The flows behind `GET/PATCH /tenant`, `/users` and `POST /auth/accept-invitation`: the tenant's settings
//! and its team. Each flow checks the caller's role, runs one tenant transaction over the database's query
//! functions ([`meta_chat_database::tenants`], [`meta_chat_database::team`]) and writes its audit entry in
//! that same transaction. There is no SQL here.
//!
//! Rules the flows keep:
//! - The tenant's LLM API key is write-only: sealed with the keyring (associated data
//!   [`llm_api_key_associated_data`]) before it reaches the database, never returned, never logged.
//! - Settings change field by field inside the sections a request names; the merged result is validated as
//!   a whole before it is stored, and the row is locked meanwhile so concurrent changes are not lost.
//! - Invitations are random tokens stored as SHA-256, single use, valid as long as verification links.
//! - The last active owner can be neither demoted nor removed, also under concurrent requests (409 `CONFLICT`).

use garde::Validate as _;
use meta_chat_database::DbError;
use meta_chat_database::audit::{self, Actor, NewAuditEntry, RequestOrigin};
use meta_chat_database::email_tokens;
use meta_chat_database::keyset::PageRequest;
use meta_chat_database::team::{self, NewInvitation, TeamRefusal};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::tenants::{self, TenantChangeset, TenantDetails};
use meta_chat_database::users::{self, EMAIL_UNIQUE, TenantUser};
use meta_chat_shared::UserRole;
use meta_chat_shared::auth::{OpaqueToken, opaque, password};
use meta_chat_shared::ids::UserId;
use meta_chat_shared::mail::Email;
use meta_chat_shared::settings::{SettingsPatch, llm_api_key_associated_data};
use serde_json::json;

use crate::accounts::{blocking, connection, from_now, internal, lifetime_text, link, send_later};
use crate::error::{ApiError, FieldError};
use crate::extract::TenantContext;
use crate::state::AppState;

/// What to do with the tenant's LLM API key. `Debug` never shows the key.
#[derive(Clone, Default)]
pub enum LlmKeyChange {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Remove it.
    Remove,
    /// Store this key (sealed).
    Set(String),
}

impl std::fmt::Debug for LlmKeyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Keep => "Keep",
            Self::Remove => "Remove",
            Self::Set(_) => "Set([redacted])",
        })
    }
}

/// A change to the tenant, already checked for shape: a new name, settings sections, the LLM key.
#[derive(Debug, Clone, Default)]
pub struct TenantUpdate {
    /// New name (trimmed before it is stored).
    pub name: Option<String>,
    /// The settings sections to change.
    pub settings: SettingsPatch,
    /// The LLM API key.
    pub llm_api_key: LlmKeyChange,
}

/// An invitation, already validated; `email` lower case. No `Debug`: it carries an email address.
#[derive(Clone)]
pub struct InviteInput {
    /// The invitee's login email.
    pub email: String,
    /// Their display name.
    pub name: String,
    /// `admin` or `agent`.
    pub role: UserRole,
}

fn refused(refusal: TeamRefusal, field: &'static str) -> ApiError {
    match refusal {
        TeamRefusal::NotFound => ApiError::NotFound,
        TeamRefusal::Forbidden => ApiError::Forbidden("Your role does not allow this change."),
        TeamRefusal::LastOwner => ApiError::Conflict {
            field,
            message: "The organisation must keep at least one active owner: make someone else owner first.",
        },
    }
}

fn db(err: DbError) -> ApiError {
    internal(err)
}

/// The caller's tenant with its settings (every role).
pub async fn get_tenant(state: &AppState, ctx: &TenantContext) -> Result<TenantDetails, ApiError> {
    let tenant = ctx.tenant_id;
    let mut conn = connection(state).await?;
    in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(tenants::find_details(conn, tenant)))
        .await
        .map_err(db)?
        .ok_or(ApiError::NotFound)
}

/// Changes the caller's tenant (owners and admins): name, settings sections, LLM key. Audited as
/// `tenant.updated` with the names of what changed (never values).
pub async fn update_tenant(
    state: &AppState,
    ctx: &TenantContext,
    update: TenantUpdate,
    origin: RequestOrigin,
) -> Result<TenantDetails, ApiError> {
    ctx.require(UserRole::Admin)?;
    let (tenant, actor) = (ctx.tenant_id, ctx.user_id);
    let sealed = match &update.llm_api_key {
        LlmKeyChange::Keep => None,
        LlmKeyChange::Remove => Some(None),
        LlmKeyChange::Set(key) => {
            let ad = llm_api_key_associated_data(tenant);
            Some(Some(state.keyring.seal(key, ad.as_bytes()).map_err(internal)?))
        }
    };
    let name = update.name.map(|name| name.trim().to_owned());
    let patch = update.settings;
    let mut conn = connection(state).await?;
    let outcome = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(current) = tenants::find_details_for_update(conn, tenant).await? else {
                return Ok(Err(ApiError::NotFound));
            };
            let settings = if patch.is_empty() {
                None
            } else {
                let merged = match current.settings().merged(&patch) {
                    Ok(merged) => merged,
                    Err(errors) => {
                        let fields = errors.into_iter().map(|e| FieldError::new(e.path, e.message)).collect();
                        return Ok(Err(ApiError::Validation(fields)));
                    }
                };
                if let Err(report) = merged.validate() {
                    return Ok(Err(ApiError::from(report)));
                }
                Some(merged.to_stored())
            };
            let change =
                TenantChangeset { name: name.as_deref(), settings: settings.as_ref(), llm_api_key_enc: sealed.clone() };
            let Some(updated) = tenants::update_details(conn, tenant, &change).await? else {
                return Ok(Err(ApiError::NotFound));
            };
            let mut changed: Vec<&str> = patch.changed_sections();
            if name.is_some() {
                changed.insert(0, "name");
            }
            let key = sealed.as_ref().map(|key| if key.is_some() { "set" } else { "removed" });
            if !changed.is_empty() || key.is_some() {
                let entry = NewAuditEntry {
                    actor: Actor::User(actor),
                    action: "tenant.updated",
                    target_type: Some("tenant"),
                    target_id: Some(tenant.to_string()),
                    origin: &origin,
                    details: json!({ "changed": changed, "llmApiKey": key }),
                };
                audit::insert(conn, tenant, &entry).await?;
            }
            Ok::<_, DbError>(Ok(updated))
        })
    })
    .await
    .map_err(db)??;
    tracing::info!(tenant.id = %tenant, "tenant updated");
    Ok(outcome)
}

/// The tenant's users, newest first (every role).
pub async fn list_users(
    state: &AppState,
    ctx: &TenantContext,
    page: PageRequest,
) -> Result<(Vec<TenantUser>, Option<String>), ApiError> {
    let tenant = ctx.tenant_id;
    let mut conn = connection(state).await?;
    in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(async move { users::list(conn, tenant, &page).await }))
        .await
        .map_err(db)
}

fn invitation_email(state: &AppState, user: &TenantUser, inviter: &str, company: &str, token: &OpaqueToken) -> Email {
    let link = link(state, "accept-invitation", token.expose());
    let valid = lifetime_text(state.config.auth.verification_token_ttl_secs);
    Email {
        to: user.email.clone(),
        subject: format!("You are invited to join {company} on Meta Chat"),
        text: format!(
            "Hello {},\n\n{inviter} invited you to join {company} on Meta Chat as {}. To accept, choose your \
             password here:\n\n{link}\n\nThe link is valid for {valid} and works once. If you did not expect \
             this invitation, ignore this message.\n",
            user.name, user.role
        ),
    }
}

/// Invites a user (owners invite admins and agents, admins invite agents) and emails them a link. A taken
/// address is 409 `EMAIL_EXISTS`.
pub async fn invite(
    state: &AppState,
    ctx: &TenantContext,
    input: InviteInput,
    origin: RequestOrigin,
) -> Result<TenantUser, ApiError> {
    ctx.require(UserRole::Admin)?;
    if !ctx.role.can_manage(input.role) {
        return Err(refused(TeamRefusal::Forbidden, "role"));
    }
    let (tenant, actor) = (ctx.tenant_id, ctx.user_id);
    let token = OpaqueToken::generate().map_err(internal)?;
    let (hash, expires_at) = (token.hash(), from_now(state.config.auth.verification_token_ttl_secs));
    let mut conn = connection(state).await?;
    let billing = state.config.billing.clone();
    let outcome = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let metric = meta_chat_database::usage::Metric::TeamMembers;
            let alerts = match meta_chat_billing::quota::make_room(conn, tenant, metric, 1, &billing).await? {
                Ok(alerts) => alerts,
                Err(exceeded) => return Ok(Err(Err(exceeded))),
            };
            let new = NewInvitation {
                email: &input.email,
                name: input.name.trim(),
                role: input.role,
                token_hash: &hash,
                expires_at,
            };
            let user = match team::invite(conn, tenant, actor, &new, &origin).await? {
                Ok(user) => user,
                Err(refusal) => return Ok(Err(Ok(refusal))),
            };
            let inviter = users::find(conn, tenant, actor).await?.map(|u| u.name).unwrap_or_default();
            let company = tenants::find(conn, tenant).await?.map(|t| t.name).unwrap_or_default();
            Ok::<_, DbError>(Ok((user, inviter, company, alerts)))
        })
    })
    .await
    .map_err(|err| match err {
        DbError::Conflict(constraint) if constraint == EMAIL_UNIQUE => ApiError::EmailExists,
        other => db(other),
    })?;
    let (user, inviter, company, alerts) = outcome.map_err(|refusal| match refusal {
        Ok(refusal) => refused(refusal, "role"),
        Err(exceeded) => ApiError::from(exceeded),
    })?;
    crate::routes::billing::publish(state, tenant, alerts);
    tracing::info!(tenant.id = %tenant, user.id = %user.id, "user invited");
    send_later(state, invitation_email(state, &user, &inviter, &company, &token), "invitation");
    Ok(user)
}

/// Accepts an invitation with the emailed token (single use): sets the password, confirms the address and
/// activates the user, who can log in from then on. 401 for unknown, used or expired tokens.
pub async fn accept_invitation(
    state: &AppState,
    token: &str,
    new_password: String,
    origin: RequestOrigin,
) -> Result<TenantUser, ApiError> {
    let (tenant, token_id) = {
        let mut conn = connection(state).await?;
        email_tokens::lookup_by_token_hash(&mut conn, &opaque::hash(token))
            .await
            .map_err(db)?
            .ok_or(ApiError::InvalidToken)?
    };
    let password_hash = blocking(move || password::hash(&new_password)).await?.map_err(internal)?;
    let mut conn = connection(state).await?;
    let user = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { team::accept_invitation(conn, tenant, token_id, &password_hash, &origin).await })
    })
    .await
    .map_err(db)?
    .ok_or(ApiError::InvalidToken)?;
    tracing::info!(tenant.id = %tenant, user.id = %user.id, "invitation accepted");
    Ok(user)
}

/// Changes a user's role: owners change anyone's, admins only agents' (to agent). The last active owner keeps
/// the role (409 `CONFLICT`, `details.field = "role"`).
pub async fn change_role(
    state: &AppState,
    ctx: &TenantContext,
    target: UserId,
    role: UserRole,
    origin: RequestOrigin,
) -> Result<TenantUser, ApiError> {
    ctx.require(UserRole::Admin)?;
    let (tenant, actor) = (ctx.tenant_id, ctx.user_id);
    let mut conn = connection(state).await?;
    let changed = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { team::change_role(conn, tenant, actor, target, role, &origin).await })
    })
    .await
    .map_err(db)?
    .map_err(|refusal| refused(refusal, "role"))?;
    tracing::info!(tenant.id = %tenant, user.id = %target, "role changed");
    Ok(changed.user)
}

/// Removes a user and revokes their sessions: owners remove anyone, admins agents, and anyone allowed here may
/// remove themself. The last active owner stays (409 `CONFLICT`, `details.field = "id"`).
pub async fn remove(
    state: &AppState,
    ctx: &TenantContext,
    target: UserId,
    origin: RequestOrigin,
) -> Result<(), ApiError> {
    ctx.require(UserRole::Admin)?;
    let (tenant, actor) = (ctx.tenant_id, ctx.user_id);
    let mut conn = connection(state).await?;
    let removed = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { team::remove(conn, tenant, actor, target, &origin).await })
    })
    .await
    .map_err(db)?
    .map_err(|refusal| refused(refusal, "id"))?;
    let sessions_revoked = removed.sessions_revoked;
    tracing::info!(tenant.id = %tenant, user.id = %target, sessions_revoked, "user removed");
    Ok(())
}
