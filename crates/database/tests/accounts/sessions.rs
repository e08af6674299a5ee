use chrono::{Duration, Utc};
use meta_chat_database::email_tokens::{self, EmailTokenPurpose};
use meta_chat_database::sessions::{self, NewRefreshSession, Rotation};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::TestDb;
use meta_chat_database::{DbError, users};
use meta_chat_shared::ids::{SessionId, TenantId, UserId};

use crate::support::{connect, count, sign_up};

fn new_session(hash: &[u8; 32]) -> NewRefreshSession<'_> {
    NewRefreshSession {
        token_hash: hash,
        expires_at: Utc::now() + Duration::days(30),
        user_agent: Some("test-agent"),
        ip: Some("203.0.113.7".parse().unwrap()),
    }
}

async fn rotate(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    old: SessionId,
    hash: [u8; 32],
) -> Rotation {
    in_tenant_tx(conn, tenant, move |conn| {
        Box::pin(async move { sessions::rotate(conn, tenant, old, &new_session(&hash)).await })
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn rotation_replaces_the_session_and_reuse_revokes_the_family() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let done = sign_up(&mut app, "Acme", "a@acme.test").await.unwrap();
    let (tenant, user) = (done.tenant.tenant_id(), done.user.user_id());

    let first = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move { sessions::start(conn, tenant, user, &new_session(&[1; 32])).await })
    })
    .await
    .unwrap();
    let routed = sessions::lookup_by_token_hash(&mut app, &[1; 32]).await.unwrap();
    assert_eq!(routed, Some((tenant, SessionId::from_uuid(first.id))));

    let Rotation::Rotated(second) = rotate(&mut app, tenant, SessionId::from_uuid(first.id), [2; 32]).await else {
        panic!("a live session rotates");
    };
    assert_eq!(second.family_id, first.family_id);
    assert_eq!(second.user_id, first.user_id);

    // the first token again: it was replaced, so it was copied; the whole family dies
    assert!(matches!(rotate(&mut app, tenant, SessionId::from_uuid(first.id), [3; 32]).await, Rotation::Reused { .. }));
    assert!(matches!(rotate(&mut app, tenant, SessionId::from_uuid(second.id), [4; 32]).await, Rotation::Dead));

    let mut owner = connect(&db.owner_url()).await;
    let live = format!(
        "SELECT count(*) AS n FROM refresh_sessions WHERE family_id = '{}' AND revoked_at IS NULL",
        first.family_id
    );
    assert_eq!(count(&mut owner, &live).await, 0);
    let ip = "SELECT count(*) AS n FROM refresh_sessions WHERE ip = '203.0.113.7'::inet AND user_agent = 'test-agent'";
    assert_eq!(count(&mut owner, ip).await, 2);

    // another tenant cannot rotate (or even see) this tenant's session
    let other = sign_up(&mut app, "Other", "o@other.test").await.unwrap().tenant.tenant_id();
    assert!(matches!(rotate(&mut app, other, SessionId::from_uuid(second.id), [5; 32]).await, Rotation::NotFound));
}

#[tokio::test]
async fn revoking_all_sessions_of_a_user() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let done = sign_up(&mut app, "Acme", "a@acme.test").await.unwrap();
    let (tenant, user) = (done.tenant.tenant_id(), done.user.user_id());
    let revoked = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move {
            sessions::start(conn, tenant, user, &new_session(&[1; 32])).await?;
            sessions::start(conn, tenant, user, &new_session(&[2; 32])).await?;
            sessions::revoke_all_for_user(conn, tenant, user).await
        })
    })
    .await
    .unwrap();
    assert_eq!(revoked, 2);
}

async fn consume(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    id: uuid::Uuid,
    purpose: EmailTokenPurpose,
) -> Option<email_tokens::EmailToken> {
    in_tenant_tx(conn, tenant, move |conn| Box::pin(email_tokens::consume(conn, tenant, id, purpose)))
        .await
        .map_err(|e: DbError| e)
        .unwrap()
}

#[tokio::test]
async fn email_tokens_work_once_for_their_purpose_only() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let done = sign_up(&mut app, "Acme", "a@acme.test").await.unwrap();
    let (tenant, user) = (done.tenant.tenant_id(), done.user.user_id());
    let hash = [7_u8; 32];
    in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move {
            let expires = Utc::now() + Duration::hours(1);
            email_tokens::issue(conn, tenant, user, EmailTokenPurpose::ResetPassword, &hash, expires).await
        })
    })
    .await
    .unwrap();
    let (routed_tenant, id) = email_tokens::lookup_by_token_hash(&mut app, &hash).await.unwrap().unwrap();
    assert_eq!(routed_tenant, tenant);
    let wrong_purpose = consume(&mut app, tenant, id, EmailTokenPurpose::VerifyEmail).await;
    assert!(wrong_purpose.is_none());
    let consumed = consume(&mut app, tenant, id, EmailTokenPurpose::ResetPassword).await;
    assert_eq!(consumed.unwrap().user_id, Some(user.as_uuid()));
    let again = consume(&mut app, tenant, id, EmailTokenPurpose::ResetPassword).await;
    assert!(again.is_none(), "single use");
}

#[tokio::test]
async fn failed_logins_count_up_and_a_success_resets_them() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let done = sign_up(&mut app, "Acme", "a@acme.test").await.unwrap();
    let (tenant, user) = (done.tenant.tenant_id(), done.user.user_id());
    let until = Utc::now() + Duration::minutes(5);
    let after = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move {
            assert_eq!(users::record_failed_login(conn, tenant, user).await?, Some(1));
            assert_eq!(users::record_failed_login(conn, tenant, user).await?, Some(2));
            assert!(users::lock_until(conn, tenant, user, until).await?);
            let locked = users::find(conn, tenant, user).await?.unwrap();
            assert!(locked.locked_until.is_some());
            users::record_login(conn, tenant, user).await?;
            users::find(conn, tenant, user).await
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(after.failed_login_count, 0);
    assert!(after.locked_until.is_none() && after.last_login_at.is_some());
    let unknown = UserId::new();
    let missing =
        in_tenant_tx(&mut app, tenant, move |conn| Box::pin(users::record_failed_login(conn, tenant, unknown)))
            .await
            .unwrap();
    assert_eq!(missing, None);
}
