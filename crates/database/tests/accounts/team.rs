use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_database::audit::RequestOrigin;
use meta_chat_database::email_tokens;
use meta_chat_database::team::{self, NewInvitation, TeamRefusal};
use meta_chat_database::tenant::{in_tenant_tx, set_tenant};
use meta_chat_database::tenants::{self, TenantChangeset};
use meta_chat_database::testkit::TestDb;
use meta_chat_database::users::{self, TenantUser};
use meta_chat_database::{DbError, DbResult};
use meta_chat_shared::ids::{TenantId, UserId};
use meta_chat_shared::{UserRole, UserStatus};

use crate::support::{HASH, connect, count, sign_up};

/// Invites `email` as `role` on behalf of `actor`.
async fn invite(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    actor: UserId,
    email: &'static str,
    role: UserRole,
    token_hash: [u8; 32],
) -> DbResult<Result<TenantUser, TeamRefusal>> {
    in_tenant_tx(conn, tenant, move |conn| {
        Box::pin(async move {
            let new = NewInvitation {
                email,
                name: "Invitee",
                role,
                token_hash: &token_hash,
                expires_at: Utc::now() + Duration::hours(48),
            };
            team::invite(conn, tenant, actor, &new, &RequestOrigin::default()).await
        })
    })
    .await
}

async fn accept(conn: &mut AsyncPgConnection, tenant: TenantId, token: uuid::Uuid) -> Option<TenantUser> {
    in_tenant_tx(conn, tenant, move |conn| {
        Box::pin(async move { team::accept_invitation(conn, tenant, token, HASH, &RequestOrigin::default()).await })
    })
    .await
    .unwrap()
}

/// Invites and accepts: an active member with `role`.
async fn join(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    owner: UserId,
    email: &'static str,
    role: UserRole,
    seed: u8,
) -> UserId {
    let user = invite(conn, tenant, owner, email, role, [seed; 32]).await.unwrap().unwrap();
    let (_, token) = email_tokens::lookup_by_token_hash(conn, &[seed; 32]).await.unwrap().unwrap();
    accept(conn, tenant, token).await.unwrap();
    user.user_id()
}

async fn change_role(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    actor: UserId,
    target: UserId,
    role: UserRole,
) -> Result<UserRole, TeamRefusal> {
    in_tenant_tx(conn, tenant, move |conn| {
        Box::pin(async move { team::change_role(conn, tenant, actor, target, role, &RequestOrigin::default()).await })
    })
    .await
    .unwrap()
    .map(|changed| changed.user.role().unwrap())
}

#[tokio::test]
async fn an_invitation_creates_an_invited_user_and_works_once() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let done = sign_up(&mut app, "Acme", "owner@acme.test").await.unwrap();
    let (tenant, owner) = (done.tenant.tenant_id(), done.user.user_id());

    let invited = invite(&mut app, tenant, owner, "agent@acme.test", UserRole::Agent, [7; 32]).await.unwrap().unwrap();
    assert_eq!(invited.status().unwrap(), UserStatus::Invited);
    assert!(invited.password_hash.is_none() && invited.email_verified_at.is_none());
    let duplicate = invite(&mut app, tenant, owner, "agent@acme.test", UserRole::Agent, [8; 32]).await;
    assert!(matches!(duplicate, Err(DbError::Conflict(c)) if c == users::EMAIL_UNIQUE));

    let (routed, token) = email_tokens::lookup_by_token_hash(&mut app, &[7; 32]).await.unwrap().unwrap();
    assert_eq!(routed, tenant);
    let active = accept(&mut app, tenant, token).await.expect("the token works once");
    assert_eq!(active.status().unwrap(), UserStatus::Active);
    assert!(active.email_verified_at.is_some() && active.password_hash.is_some());
    assert!(accept(&mut app, tenant, token).await.is_none(), "and only once");

    let mut owner_conn = connect(&db.owner_url()).await;
    let audited = count(
        &mut owner_conn,
        "SELECT count(*) AS n FROM audit_log WHERE action IN ('team.user_invited', 'team.invitation_accepted')",
    )
    .await;
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn an_admin_invites_and_manages_agents_only() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let done = sign_up(&mut app, "Acme", "owner@acme.test").await.unwrap();
    let (tenant, owner) = (done.tenant.tenant_id(), done.user.user_id());
    let admin = join(&mut app, tenant, owner, "admin@acme.test", UserRole::Admin, 1).await;
    let agent = join(&mut app, tenant, owner, "agent@acme.test", UserRole::Agent, 2).await;

    let refused = invite(&mut app, tenant, admin, "x@acme.test", UserRole::Admin, [3; 32]).await.unwrap();
    assert_eq!(refused.unwrap_err(), TeamRefusal::Forbidden);
    assert_eq!(change_role(&mut app, tenant, admin, agent, UserRole::Admin).await, Err(TeamRefusal::Forbidden));
    assert_eq!(change_role(&mut app, tenant, admin, owner, UserRole::Agent).await, Err(TeamRefusal::Forbidden));
    assert_eq!(change_role(&mut app, tenant, agent, agent, UserRole::Agent).await, Err(TeamRefusal::Forbidden));
    assert_eq!(change_role(&mut app, tenant, owner, agent, UserRole::Admin).await, Ok(UserRole::Admin));
}

#[tokio::test]
async fn the_owner_lock_makes_a_concurrent_demotion_wait_and_then_refuses_it() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let done = sign_up(&mut app, "Acme", "first@acme.test").await.unwrap();
    let (tenant, first) = (done.tenant.tenant_id(), done.user.user_id());
    let second = join(&mut app, tenant, first, "second@acme.test", UserRole::Admin, 1).await;
    assert_eq!(change_role(&mut app, tenant, first, second, UserRole::Owner).await, Ok(UserRole::Owner));

    // the first owner demotes the second in a transaction that stays open...
    diesel::sql_query("BEGIN").execute(&mut app).await.unwrap();
    set_tenant(&mut app, tenant).await.unwrap();
    let demoted = team::change_role(&mut app, tenant, first, second, UserRole::Admin, &RequestOrigin::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(demoted.previous, UserRole::Owner);

    // ...while the second tries to demote the first: it waits for the owner rows
    let url = db.app_url();
    let racer = tokio::spawn(async move {
        let mut conn = connect(&url).await;
        change_role(&mut conn, tenant, second, first, UserRole::Admin).await
    });
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(!racer.is_finished(), "the second change waits for the first transaction");
    diesel::sql_query("COMMIT").execute(&mut app).await.unwrap();
    assert_eq!(racer.await.unwrap(), Err(TeamRefusal::Forbidden), "by then the second is no longer an owner");

    let mut owner = connect(&db.owner_url()).await;
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM tenant_users WHERE role = 'owner'").await, 1);
    // and the remaining owner is the last one
    assert_eq!(change_role(&mut app, tenant, first, first, UserRole::Agent).await, Err(TeamRefusal::LastOwner));
    let removed = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move { team::remove(conn, tenant, first, first, &RequestOrigin::default()).await })
    })
    .await
    .unwrap();
    assert_eq!(removed.unwrap_err(), TeamRefusal::LastOwner);
}

#[tokio::test]
async fn another_tenants_users_are_not_found() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let acme = sign_up(&mut app, "Acme", "owner@acme.test").await.unwrap();
    let globex = sign_up(&mut app, "Globex", "owner@globex.test").await.unwrap();
    let (tenant, owner) = (acme.tenant.tenant_id(), acme.user.user_id());
    let foreign = globex.user.user_id();
    assert_eq!(change_role(&mut app, tenant, owner, foreign, UserRole::Agent).await, Err(TeamRefusal::NotFound));
    let removed = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move { team::remove(conn, tenant, owner, foreign, &RequestOrigin::default()).await })
    })
    .await
    .unwrap();
    assert_eq!(removed.unwrap_err(), TeamRefusal::NotFound);
    let mut owner_conn = connect(&db.owner_url()).await;
    assert_eq!(count(&mut owner_conn, "SELECT count(*) AS n FROM tenant_users WHERE role = 'owner'").await, 2);
}

#[tokio::test]
async fn tenant_details_change_in_place_and_only_for_the_transactions_tenant() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let acme = sign_up(&mut app, "Acme", "owner@acme.test").await.unwrap();
    let globex = sign_up(&mut app, "Globex", "owner@globex.test").await.unwrap();
    let tenant = acme.tenant.tenant_id();
    let foreign = globex.tenant.tenant_id();

    let details = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move {
            let unchanged = tenants::update_details(conn, tenant, &TenantChangeset::default()).await?;
            let settings = serde_json::json!({ "rag": { "topK": 9 } });
            let change = TenantChangeset {
                name: Some("Acme Support"),
                settings: Some(&settings),
                llm_api_key_enc: Some(Some("v1.k.nonce.ciphertext".to_owned())),
            };
            let changed = tenants::update_details(conn, tenant, &change).await?;
            let other = tenants::update_details(conn, foreign, &change).await?;
            Ok::<_, DbError>((unchanged, changed, other))
        })
    })
    .await
    .unwrap();
    let (unchanged, changed, other) = details;
    assert_eq!(unchanged.unwrap().tenant.name, "Acme");
    let changed = changed.unwrap();
    assert_eq!(changed.tenant.name, "Acme Support");
    assert_eq!(changed.settings().rag.top_k, 9);
    assert_eq!(changed.settings().widget, meta_chat_shared::settings::WidgetSettings::default());
    assert!(!format!("{changed:?}").contains("ciphertext"), "Debug hides the sealed key");
    assert!(other.is_none(), "row-level security hides another tenant's row");

    let mut owner = connect(&db.owner_url()).await;
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM tenants WHERE name = 'Globex'").await, 1);
}
