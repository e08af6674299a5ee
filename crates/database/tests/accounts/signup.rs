use meta_chat_database::testkit::TestDb;
use meta_chat_database::users::{self, EMAIL_UNIQUE};
use meta_chat_database::{DbError, tenant::in_tenant_tx, tenants};
use meta_chat_shared::{TenantStatus, UserRole, UserStatus};

use crate::support::{connect, count, sign_up};

#[tokio::test]
async fn signup_creates_the_tenant_its_owner_a_verification_token_and_an_audit_entry() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let done = sign_up(&mut app, "Acme Corp", "owner@acme.test").await.unwrap();
    assert_eq!(done.tenant.name, "Acme Corp");
    assert_eq!(done.tenant.slug, "acme-corp");
    assert_eq!(done.tenant.status().unwrap(), TenantStatus::Active);
    assert_eq!(done.user.role().unwrap(), UserRole::Owner);
    assert_eq!(done.user.status().unwrap(), UserStatus::Active);
    assert!(done.user.email_verified_at.is_none());

    let mut owner = connect(&db.owner_url()).await;
    let tenant = done.tenant.id;
    for (table, expected) in [("tenant_users", 1), ("email_tokens", 1), ("audit_log", 1)] {
        let sql = format!("SELECT count(*) AS n FROM {table} WHERE tenant_id = '{tenant}'");
        assert_eq!(count(&mut owner, &sql).await, expected, "{table}");
    }

    // the runtime role finds the user by email without knowing the tenant, then reads it under RLS
    let (found_tenant, found_user) = users::lookup_by_email(&mut app, "OWNER@acme.test").await.unwrap().unwrap();
    assert_eq!((found_tenant.as_uuid(), found_user.as_uuid()), (tenant, done.user.id));
    let user = in_tenant_tx(&mut app, found_tenant, move |conn| Box::pin(users::find(conn, found_tenant, found_user)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email, "owner@acme.test");
}

/// A failure after the tenant insert (here the user insert, refused by the unique email constraint) rolls
/// the whole sign-up back: no tenant without an owner remains.
#[tokio::test]
async fn signup_is_atomic_when_the_owner_insert_fails() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    sign_up(&mut app, "First Co", "taken@example.test").await.unwrap();

    let err = sign_up(&mut app, "Second Co", "taken@example.test").await.unwrap_err();
    assert!(matches!(&err, DbError::Conflict(c) if c == EMAIL_UNIQUE), "{err:?}");

    let mut owner = connect(&db.owner_url()).await;
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM tenants").await, 1);
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM tenants WHERE name = 'Second Co'").await, 0);
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM tenant_users").await, 1);
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM email_tokens").await, 1);
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM audit_log").await, 1);
}

#[tokio::test]
async fn a_taken_slug_gets_a_random_suffix() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let first = sign_up(&mut app, "Globex", "a@globex.test").await.unwrap();
    let second = sign_up(&mut app, "Globex", "b@globex.test").await.unwrap();
    assert_eq!(first.tenant.slug, "globex");
    assert!(second.tenant.slug.starts_with("globex-") && second.tenant.slug.len() == "globex-".len() + 6);
}

#[tokio::test]
async fn a_tenant_sees_only_its_own_row() {
    let db = TestDb::new();
    let mut app = connect(&db.app_url()).await;
    let a = sign_up(&mut app, "A", "a@a.test").await.unwrap();
    let b = sign_up(&mut app, "B", "b@b.test").await.unwrap();
    let (ta, tb) = (a.tenant.tenant_id(), b.tenant.tenant_id());
    let seen = in_tenant_tx(&mut app, ta, move |conn| Box::pin(tenants::find(conn, tb))).await.unwrap();
    assert!(seen.is_none(), "another tenant's row is invisible");
    let own = in_tenant_tx(&mut app, ta, move |conn| Box::pin(tenants::find(conn, ta))).await.unwrap();
    assert_eq!(own.unwrap().id, a.tenant.id);
}
