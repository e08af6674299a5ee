//! API keys: only a hash at rest, authentication with every way to fail, rotation, revocation, expiry, the
//! once-a-minute `last_used_at` write, and tenant isolation.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use meta_chat_database::api_keys::{self, ApiKey, NewApiKey};
use meta_chat_database::keyset::{Keyset, PageRequest};
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_shared::api_keys::{ApiScope, GeneratedApiKey, hash_key};
use meta_chat_shared::ids::{ApiKeyId, TenantId, UserId};

use crate::support::{as_tenant, owner_read};

struct Tenant {
    id: TenantId,
    user: UserId,
}

async fn tenant(owner: &mut AsyncPgConnection, slug: &str) -> Tenant {
    let seeded = seed::tenant_with_conversation(owner, slug).await;
    Tenant { id: TenantId::from_uuid(seeded.tenant), user: UserId::from_uuid(seeded.user) }
}

/// Creates a key; returns the stored row and the plain key.
async fn create(
    app: &mut AsyncPgConnection,
    tenant: &Tenant,
    scopes: Vec<ApiScope>,
    expires_at: Option<DateTime<Utc>>,
) -> (ApiKey, String) {
    let material = GeneratedApiKey::generate().expect("generate");
    let plain = material.key().expose().to_owned();
    let (id, user) = (tenant.id, tenant.user);
    let key = as_tenant(app, id, move |conn| {
        Box::pin(async move {
            let new = NewApiKey {
                name: "CRM sync",
                scopes: &scopes,
                expires_at,
                created_by: Some(user),
                material: &material,
            };
            api_keys::insert(conn, id, &new).await
        })
    })
    .await
    .expect("insert key");
    (key, plain)
}

async fn authenticate(app: &mut AsyncPgConnection, presented: &str) -> Option<(TenantId, ApiKey)> {
    api_keys::authenticate(app, presented).await.expect("authenticate")
}

async fn revoke(app: &mut AsyncPgConnection, tenant: TenantId, id: ApiKeyId) -> Option<ApiKey> {
    as_tenant(app, tenant, move |conn| Box::pin(async move { api_keys::revoke(conn, tenant, id).await }))
        .await
        .expect("revoke")
}

async fn rotate(app: &mut AsyncPgConnection, tenant: TenantId, id: ApiKeyId) -> (Option<ApiKey>, String) {
    let material = GeneratedApiKey::generate().expect("generate");
    let plain = material.key().expose().to_owned();
    let rotated = as_tenant(app, tenant, move |conn| {
        Box::pin(async move { api_keys::rotate(conn, tenant, id, &material).await })
    })
    .await
    .expect("rotate");
    (rotated, plain)
}

#[tokio::test]
async fn the_plain_key_is_never_stored() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = tenant(&mut owner, "acme").await;
    let mut app = seed::connect(&db.app_url()).await;
    let (key, plain) =
        create(&mut app, &acme, vec![ApiScope::Chat, ApiScope::DocumentsRead, ApiScope::Chat], None).await;

    assert_eq!(key.scopes, [ApiScope::Chat, ApiScope::DocumentsRead], "typed, sorted, once each");
    assert_eq!(key.prefix, plain[..12]);
    assert_eq!(key.created_by, Some(acme.user));
    let row = owner_read(&mut owner, "api_keys", "row_to_json(api_keys)", key.id.as_uuid()).await;
    assert!(!row.contains(&plain), "the whole key is stored: {row}");
    assert!(!row.contains(&plain[12..]), "the secret part is stored: {row}");
    let stored_hash = owner_read(&mut owner, "api_keys", "encode(key_hash, 'hex')", key.id.as_uuid()).await;
    let expected = hash_key(&plain).iter().fold(String::new(), |mut hex, b| {
        write!(hex, "{b:02x}").expect("write to a String");
        hex
    });
    assert_eq!(stored_hash, expected, "SHA-256 of the whole key");

    // every scope the enum knows passes the CHECK constraint
    let (all, _) = create(&mut app, &acme, ApiScope::ALL.to_vec(), None).await;
    assert_eq!(all.scopes.len(), ApiScope::ALL.len());
}

#[tokio::test]
async fn authenticate_accepts_the_key_and_nothing_near_it() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = tenant(&mut owner, "acme").await;
    let mut app = seed::connect(&db.app_url()).await;
    let (key, plain) = create(&mut app, &acme, vec![ApiScope::Chat], Some(Utc::now() + Duration::days(30))).await;

    let (tenant, found) = authenticate(&mut app, &plain).await.expect("valid key");
    assert_eq!((tenant, found.id, found.scopes.as_slice()), (acme.id, key.id, [ApiScope::Chat].as_slice()));

    // right prefix, wrong secret
    let mut wrong = plain.clone();
    let last = if wrong.ends_with('x') { "y" } else { "x" };
    wrong.replace_range(wrong.len() - 1.., last);
    assert!(authenticate(&mut app, &wrong).await.is_none());
    // unknown prefix, malformed, empty, and the bare prefix
    let unknown = GeneratedApiKey::generate().expect("generate");
    for bad in [unknown.key().expose(), "mck_short", "", key.prefix.as_str(), format!("Bearer {plain}").as_str()] {
        assert!(authenticate(&mut app, bad).await.is_none(), "{bad:?}");
    }

    // revoked: refused at once; revoking again keeps the first time
    let revoked = revoke(&mut app, acme.id, key.id).await.expect("revoked");
    let first_revocation = revoked.revoked_at.expect("revoked_at");
    assert!(authenticate(&mut app, &plain).await.is_none(), "revoked key authenticated");
    let again = revoke(&mut app, acme.id, key.id).await.expect("still there");
    assert_eq!(again.revoked_at, Some(first_revocation));
    assert!(revoke(&mut app, acme.id, ApiKeyId::new()).await.is_none(), "unknown id");

    // expired (expiry in the past), and a key expiring in the future still works
    let (_, expired) = create(&mut app, &acme, vec![ApiScope::Chat], Some(Utc::now() - Duration::seconds(1))).await;
    assert!(authenticate(&mut app, &expired).await.is_none(), "expired key authenticated");
    let (_, no_expiry) = create(&mut app, &acme, vec![ApiScope::Admin], None).await;
    assert!(authenticate(&mut app, &no_expiry).await.is_some());
}

#[tokio::test]
async fn rotation_replaces_the_key_at_once() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = tenant(&mut owner, "acme").await;
    let mut app = seed::connect(&db.app_url()).await;
    let (key, old) =
        create(&mut app, &acme, vec![ApiScope::ConversationsRead, ApiScope::ConversationsWrite], None).await;
    assert!(authenticate(&mut app, &old).await.is_some());

    let (rotated, new) = rotate(&mut app, acme.id, key.id).await;
    let rotated = rotated.expect("rotated");
    assert_eq!((rotated.id, &rotated.name, &rotated.scopes), (key.id, &key.name, &key.scopes), "same key, new secret");
    assert_ne!(rotated.prefix, key.prefix);
    assert_eq!(rotated.prefix, new[..12]);
    assert_eq!(rotated.last_used_at, None, "usage starts over");
    assert!(authenticate(&mut app, &old).await.is_none(), "the old key still works");
    let (tenant, found) = authenticate(&mut app, &new).await.expect("the new key works");
    assert_eq!((tenant, found.id), (acme.id, key.id));

    // revoked and unknown keys cannot be rotated back to life
    revoke(&mut app, acme.id, key.id).await.expect("revoke");
    let (again, newest) = rotate(&mut app, acme.id, key.id).await;
    assert!(again.is_none());
    assert!(authenticate(&mut app, &newest).await.is_none());
    assert!(rotate(&mut app, acme.id, ApiKeyId::new()).await.0.is_none());
}

#[tokio::test]
async fn last_used_at_is_written_at_most_once_a_minute() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = tenant(&mut owner, "acme").await;
    let mut app = seed::connect(&db.app_url()).await;
    let (key, plain) = create(&mut app, &acme, vec![ApiScope::Chat], None).await;
    let id = key.id.as_uuid();
    assert_eq!(key.last_used_at, None);

    let (_, first) = authenticate(&mut app, &plain).await.expect("first use");
    let used_at = first.last_used_at.expect("first use is recorded");
    // the row version (xmin) changes on every write: later uses within the minute must not write
    let version = owner_read(&mut owner, "api_keys", "xmin", id).await;
    for _ in 0..5 {
        let (_, again) = authenticate(&mut app, &plain).await.expect("repeated use");
        assert_eq!(again.last_used_at, Some(used_at));
    }
    assert_eq!(owner_read(&mut owner, "api_keys", "xmin", id).await, version, "a repeated use wrote the row");

    // a minute later, the next use is recorded again
    seed::exec(
        &mut owner,
        &format!("UPDATE api_keys SET last_used_at = last_used_at - interval '61 seconds' WHERE id = '{id}'"),
    )
    .await;
    let (_, later) = authenticate(&mut app, &plain).await.expect("use after a minute");
    assert!(later.last_used_at.expect("recorded") > used_at - Duration::seconds(61));
    assert_ne!(owner_read(&mut owner, "api_keys", "xmin", id).await, version);
}

#[tokio::test]
async fn a_key_belongs_to_exactly_one_tenant() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let (acme, globex) = (tenant(&mut owner, "acme").await, tenant(&mut owner, "globex").await);
    let mut app = seed::connect(&db.app_url()).await;
    let (acme_key, acme_plain) = create(&mut app, &acme, vec![ApiScope::Admin], None).await;
    let (globex_key, globex_plain) = create(&mut app, &globex, vec![ApiScope::Chat], None).await;

    assert_eq!(authenticate(&mut app, &acme_plain).await.map(|(t, k)| (t, k.id)), Some((acme.id, acme_key.id)));
    assert_eq!(authenticate(&mut app, &globex_plain).await.map(|(t, k)| (t, k.id)), Some((globex.id, globex_key.id)));

    // globex cannot see, rotate or revoke acme's key
    let (g, a) = (globex.id, acme_key.id);
    let seen = as_tenant(&mut app, g, move |conn| Box::pin(async move { api_keys::find(conn, g, a).await }))
        .await
        .expect("find");
    assert!(seen.is_none());
    let (listed, _) = as_tenant(&mut app, g, move |conn| {
        Box::pin(async move { api_keys::list(conn, g, &PageRequest { limit: 100, after: None }).await })
    })
    .await
    .expect("list");
    assert_eq!(listed.iter().map(|k| k.id).collect::<Vec<_>>(), [globex_key.id]);
    assert!(revoke(&mut app, g, a).await.is_none());
    assert!(rotate(&mut app, g, a).await.0.is_none());
    assert!(authenticate(&mut app, &acme_plain).await.is_some(), "acme's key is untouched");
    assert_eq!(owner_read(&mut owner, "api_keys", "prefix", a.as_uuid()).await, acme_key.prefix);
}

#[tokio::test]
async fn keys_list_newest_first_in_pages() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = tenant(&mut owner, "acme").await;
    let mut app = seed::connect(&db.app_url()).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(create(&mut app, &acme, vec![ApiScope::Chat], None).await.0.id);
    }
    created.reverse();
    let t = acme.id;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor.as_deref().map(Keyset::decode).transpose().expect("cursor");
        let (page, next) = as_tenant(&mut app, t, move |conn| {
            Box::pin(async move { api_keys::list(conn, t, &PageRequest { limit: 2, after }).await })
        })
        .await
        .expect("list");
        seen.extend(page.into_iter().map(|k| k.id));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, created);
}
