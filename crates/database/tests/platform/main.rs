//! The platform-admin data layer against a real PostgreSQL: the row-level security bypass works only on the
//! owner role and says so on the runtime role, tenants are listed across tenants, suspension keeps the
//! tenants CHECK (`suspended_at` exactly while suspended), and platform-level audit entries need the bypass.

use diesel_async::AsyncPgConnection;
use meta_chat_database::audit::{self, Actor, AuditFilter, NewAuditEntry, RequestOrigin};
use meta_chat_database::keyset::PageRequest;
use meta_chat_database::platform::{self, TenantChange, TenantFilter};
use meta_chat_database::platform_admins::{self, EMAIL_UNIQUE, NewPlatformAdmin};
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_database::{DbError, DbResult};
use meta_chat_shared::ids::{AdminId, TenantId};
use meta_chat_shared::{Plan, TenantStatus};
use serde_json::json;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";

fn all() -> PageRequest {
    PageRequest { limit: 100, after: None }
}

fn entry(origin: &RequestOrigin) -> NewAuditEntry<'_> {
    NewAuditEntry {
        actor: Actor::Admin(AdminId::new()),
        action: "admin.tenants.listed",
        target_type: None,
        target_id: None,
        origin,
        details: json!({}),
    }
}

async fn as_platform<R: Send>(
    conn: &mut AsyncPgConnection,
    f: impl for<'r> FnOnce(&'r mut AsyncPgConnection) -> futures_util::future::BoxFuture<'r, DbResult<R>> + Send,
) -> DbResult<R> {
    platform::in_platform_tx(conn, f).await
}

fn list_all(
    conn: &mut AsyncPgConnection,
) -> futures_util::future::BoxFuture<'_, DbResult<(Vec<platform::TenantRecord>, Option<String>)>> {
    Box::pin(async move { platform::list_tenants(conn, &TenantFilter::default(), &all()).await })
}

#[tokio::test]
async fn the_bypass_runs_on_the_owner_role_and_refuses_the_runtime_role() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    seed::tenant_with_conversation(&mut owner, "globex").await;

    let (tenants, next) = as_platform(&mut owner, list_all).await.unwrap();
    assert_eq!(tenants.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(), ["globex", "acme"]);
    assert!(next.is_none());
    let counts =
        as_platform(&mut owner, move |conn| Box::pin(platform::tenant_counts(conn, TenantId::from_uuid(acme.tenant))))
            .await
            .unwrap();
    assert_eq!((counts.users, counts.channels, counts.conversations), (1, 1, 1));

    // the runtime role would see no tenant at all: refused instead of answering with an empty list
    let mut app = seed::connect(&db.app_url()).await;
    let refused = as_platform(&mut app, list_all).await;
    assert!(matches!(refused, Err(DbError::InvalidInput(_))), "{refused:?}");
}

#[tokio::test]
async fn platform_level_audit_entries_need_the_bypass() {
    let db = TestDb::new();
    let origin = RequestOrigin { ip: Some("10.0.0.7".parse().unwrap()), ..RequestOrigin::default() };
    let mut app = seed::connect(&db.app_url()).await;
    let denied = audit::insert_platform(&mut app, &entry(&origin)).await;
    assert!(denied.is_err(), "row-level security keeps the runtime role from writing tenant-less entries");

    let mut owner = seed::connect(&db.owner_url()).await;
    let id = audit::insert_platform(&mut owner, &entry(&origin)).await.unwrap();
    let (entries, _) = as_platform(&mut owner, |conn| {
        Box::pin(async move {
            let filter = AuditFilter { action_prefix: Some("admin.tenant".into()), ..AuditFilter::default() };
            audit::list(conn, &filter, &all()).await
        })
    })
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, id);
    assert_eq!(entries[0].tenant_id, None);
    assert_eq!(entries[0].ip.as_deref(), Some("10.0.0.7"));
    // `_` in a prefix is literal, not LIKE's any-character
    let (none, _) = as_platform(&mut owner, |conn| {
        Box::pin(async move {
            let filter = AuditFilter { action_prefix: Some("admin_".into()), ..AuditFilter::default() };
            audit::list(conn, &filter, &all()).await
        })
    })
    .await
    .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn suspension_sets_and_clears_its_time_and_reason_and_plans_are_overridden() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "acme").await.tenant);
    let change = |status, reason: Option<&str>, plan_override| TenantChange {
        status,
        suspended_reason: reason.map(str::to_owned),
        plan_override,
    };

    let suspend = change(Some(TenantStatus::Suspended), Some("abuse"), Some(Some(Plan::Pro)));
    let update = as_platform(&mut owner, move |conn| {
        Box::pin(async move { platform::update_tenant(conn, acme, &suspend).await })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(update.before.status, "active");
    assert_eq!(update.after.status, "suspended");
    let suspended_at = update.after.suspended_at.expect("suspended_at is set");
    assert_eq!(update.after.suspended_reason.as_deref(), Some("abuse"));
    assert_eq!(update.after.plan(), "pro");

    // suspending again keeps the original time and takes the new reason
    let again = change(Some(TenantStatus::Suspended), Some("still abuse"), None);
    let update =
        as_platform(&mut owner, move |conn| Box::pin(async move { platform::update_tenant(conn, acme, &again).await }))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(update.after.suspended_at, Some(suspended_at));
    assert_eq!(update.after.suspended_reason.as_deref(), Some("still abuse"));

    let resume = change(Some(TenantStatus::Active), None, Some(None));
    let update = as_platform(&mut owner, move |conn| {
        Box::pin(async move { platform::update_tenant(conn, acme, &resume).await })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(update.after.status, "active");
    assert_eq!((update.after.suspended_at, update.after.suspended_reason.as_deref()), (None, None));
    assert_eq!(update.after.plan(), "free");

    let nothing = change(None, None, None);
    let update = as_platform(&mut owner, move |conn| {
        Box::pin(async move { platform::update_tenant(conn, acme, &nothing).await })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(update.before.updated_at, update.after.updated_at, "no change, no write");
    let unknown = TenantId::new();
    let missing = as_platform(&mut owner, move |conn| {
        Box::pin(async move { platform::update_tenant(conn, unknown, &TenantChange::default()).await })
    })
    .await
    .unwrap();
    assert!(missing.is_none());
}

#[tokio::test]
async fn admins_are_inserted_by_the_owner_only_and_emails_are_unique() {
    let db = TestDb::new();
    let new = NewPlatformAdmin { email: "ops@example.com", name: "Ops", password_hash: HASH };
    let mut app = seed::connect(&db.app_url()).await;
    assert!(platform_admins::insert(&mut app, &new).await.is_err(), "the runtime role cannot create admins");

    let mut owner = seed::connect(&db.owner_url()).await;
    let admin = platform_admins::insert(&mut owner, &new).await.unwrap();
    assert!(admin.is_enabled());
    let taken = platform_admins::insert(&mut owner, &new).await;
    assert!(matches!(taken, Err(DbError::Conflict(ref c)) if c == EMAIL_UNIQUE), "{taken:?}");
    assert!(!format!("{admin:?}").contains("ops@"), "Debug hides the email");

    // the runtime role reads admins and records logins
    let found = platform_admins::find_by_email(&mut app, "ops@example.com").await.unwrap().unwrap();
    assert_eq!(found.id, admin.id);
    platform_admins::record_login(&mut app, admin.admin_id()).await.unwrap();
    let disabled = platform_admins::set_disabled(&mut owner, "ops@example.com", true).await.unwrap().unwrap();
    let first = disabled.disabled_at.expect("disabled");
    let again = platform_admins::set_disabled(&mut owner, "ops@example.com", true).await.unwrap().unwrap();
    assert_eq!(again.disabled_at, Some(first), "disabling twice keeps the first time");
    let enabled = platform_admins::set_disabled(&mut owner, "ops@example.com", false).await.unwrap().unwrap();
    assert!(enabled.is_enabled());
    assert!(platform_admins::set_disabled(&mut owner, "nobody@example.com", true).await.unwrap().is_none());
    let found = platform_admins::find(&mut app, admin.admin_id()).await.unwrap().unwrap();
    assert!(found.last_login_at.is_some());
}
