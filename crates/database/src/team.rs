//! The team of a tenant: invitations, role changes and removals, each with its audit entry, in the caller's
//! [`crate::tenant::in_tenant_tx`] transaction.
//!
//! Who may do what is [`UserRole::can_manage`], judged on the roles as they are inside the transaction, not
//! as the caller's token says. One rule is kept here rather than trusted to callers: a tenant always keeps
//! an active owner. Every change that could break it first locks the tenant's owner rows
//! ([`users::lock_owners`]), so of two concurrent requests that would each remove one of the last two
//! owners, the second waits for the first and is then refused with [`TeamRefusal::LastOwner`].

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use meta_chat_shared::ids::{TenantId, UserId};
use meta_chat_shared::{UserRole, UserStatus};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor, NewAuditEntry, RequestOrigin};
use crate::email_tokens::{self, EmailTokenPurpose};
use crate::error::DbResult;
use crate::sessions;
use crate::users::{self, NewTenantUser, TenantUser};

/// Why a team change was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRefusal {
    /// The target user does not exist in this tenant (another tenant's ids included).
    NotFound,
    /// The actor's role does not allow this change (or the actor no longer exists).
    Forbidden,
    /// The change would leave the tenant without an active owner.
    LastOwner,
}

/// An invitation to create.
#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    /// The invitee's login email, lower case.
    pub email: &'a str,
    /// The invitee's display name.
    pub name: &'a str,
    /// The role they get.
    pub role: UserRole,
    /// SHA-256 of the emailed invitation token.
    pub token_hash: &'a [u8],
    /// When the invitation expires.
    pub expires_at: DateTime<Utc>,
}

/// A role change that was made (or was already in force).
#[derive(Debug, Clone)]
pub struct RoleChanged {
    /// The user as they are now.
    pub user: TenantUser,
    /// Their role before.
    pub previous: UserRole,
}

/// A removal that was made.
#[derive(Debug, Clone, Copy)]
pub struct Removed {
    /// The removed user's role.
    pub role: UserRole,
    /// How many live sessions were revoked.
    pub sessions_revoked: usize,
}

fn entry<'a>(
    actor: UserId,
    action: &'a str,
    target: UserId,
    origin: &'a RequestOrigin,
    details: serde_json::Value,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        actor: Actor::User(actor),
        action,
        target_type: Some("user"),
        target_id: Some(target.to_string()),
        origin,
        details,
    }
}

/// The actor's current role; `None` when they no longer exist or are not active.
async fn actor_role(conn: &mut AsyncPgConnection, tenant: TenantId, actor: UserId) -> DbResult<Option<UserRole>> {
    let Some(user) = users::find(conn, tenant, actor).await? else { return Ok(None) };
    if user.status()? != UserStatus::Active {
        return Ok(None);
    }
    Ok(Some(user.role()?))
}

/// Whether an active owner other than `user` is among `owners`.
fn another_active_owner(owners: &[TenantUser], user: Uuid) -> bool {
    owners.iter().any(|owner| owner.id != user && owner.status == UserStatus::Active.as_str())
}

/// Creates an `invited` user (no password, cannot log in) with an invitation token, if the actor may give
/// `new.role`. A taken email fails with [`crate::DbError::Conflict`] naming [`users::EMAIL_UNIQUE`].
pub async fn invite(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    actor: UserId,
    new: &NewInvitation<'_>,
    origin: &RequestOrigin,
) -> DbResult<Result<TenantUser, TeamRefusal>> {
    if !actor_role(conn, tenant, actor).await?.is_some_and(|role| role.can_manage(new.role)) {
        return Ok(Err(TeamRefusal::Forbidden));
    }
    let id = UserId::new();
    let user = users::insert(
        conn,
        tenant,
        &NewTenantUser {
            id: id.as_uuid(),
            email: new.email,
            name: new.name,
            role: new.role.as_str(),
            status: UserStatus::Invited.as_str(),
            password_hash: None,
        },
    )
    .await?;
    email_tokens::issue(conn, tenant, id, EmailTokenPurpose::Invitation, new.token_hash, new.expires_at).await?;
    let details = json!({ "role": new.role.as_str() });
    audit::insert(conn, tenant, &entry(actor, "team.user_invited", id, origin, details)).await?;
    Ok(Ok(user))
}

/// Uses an invitation token (single use, unexpired): the invited user gets `password_hash`, a confirmed
/// address and the `active` status. `None` for unknown, used, expired or non-invitation tokens, and for users
/// who are no longer `invited`.
pub async fn accept_invitation(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    token: Uuid,
    password_hash: &str,
    origin: &RequestOrigin,
) -> DbResult<Option<TenantUser>> {
    let consumed = email_tokens::consume(conn, tenant, token, EmailTokenPurpose::Invitation).await?;
    let Some(user_id) = consumed.and_then(|t| t.user_id).map(UserId::from_uuid) else { return Ok(None) };
    let Some(user) = users::activate_invited(conn, tenant, user_id, password_hash).await? else {
        return Ok(None);
    };
    audit::insert(conn, tenant, &entry(user_id, "team.invitation_accepted", user_id, origin, json!({}))).await?;
    Ok(Some(user))
}

/// Gives `target` the role `role`. The actor must be allowed to manage both the target's current role and
/// the new one; taking the owner role from the last active owner is refused.
pub async fn change_role(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    actor: UserId,
    target: UserId,
    role: UserRole,
    origin: &RequestOrigin,
) -> DbResult<Result<RoleChanged, TeamRefusal>> {
    let owners = users::lock_owners(conn, tenant).await?;
    let Some(user) = users::find_for_update(conn, tenant, target).await? else {
        return Ok(Err(TeamRefusal::NotFound));
    };
    let current = user.role()?;
    let Some(actor_role) = actor_role(conn, tenant, actor).await? else { return Ok(Err(TeamRefusal::Forbidden)) };
    if !(actor_role.can_manage(current) && actor_role.can_manage(role)) {
        return Ok(Err(TeamRefusal::Forbidden));
    }
    if current == role {
        return Ok(Ok(RoleChanged { user, previous: current }));
    }
    if current == UserRole::Owner && !another_active_owner(&owners, user.id) {
        return Ok(Err(TeamRefusal::LastOwner));
    }
    let Some(changed) = users::update_role(conn, tenant, target, role).await? else {
        return Ok(Err(TeamRefusal::NotFound));
    };
    let details = json!({ "from": current.as_str(), "to": role.as_str() });
    audit::insert(conn, tenant, &entry(actor, "team.role_changed", target, origin, details)).await?;
    Ok(Ok(RoleChanged { user: changed, previous: current }))
}

/// Removes `target` from the tenant and revokes their sessions. Anyone who may manage the target's role may
/// remove them, and anyone may remove themself; removing the last active owner is refused.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    actor: UserId,
    target: UserId,
    origin: &RequestOrigin,
) -> DbResult<Result<Removed, TeamRefusal>> {
    let owners = users::lock_owners(conn, tenant).await?;
    let Some(user) = users::find_for_update(conn, tenant, target).await? else {
        return Ok(Err(TeamRefusal::NotFound));
    };
    let role = user.role()?;
    let Some(actor_role) = actor_role(conn, tenant, actor).await? else { return Ok(Err(TeamRefusal::Forbidden)) };
    if actor != target && !actor_role.can_manage(role) {
        return Ok(Err(TeamRefusal::Forbidden));
    }
    if role == UserRole::Owner && !another_active_owner(&owners, user.id) {
        return Ok(Err(TeamRefusal::LastOwner));
    }
    let sessions_revoked = sessions::revoke_all_for_user(conn, tenant, target).await?;
    if !users::delete(conn, tenant, target).await? {
        return Ok(Err(TeamRefusal::NotFound));
    }
    let details = json!({ "role": role.as_str(), "sessionsRevoked": sessions_revoked, "self": actor == target });
    audit::insert(conn, tenant, &entry(actor, "team.user_removed", target, origin, details)).await?;
    Ok(Ok(Removed { role, sessions_revoked }))
}
