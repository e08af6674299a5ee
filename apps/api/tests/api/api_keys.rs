//! API keys end to end: created once-shown, stored hashed, usable as `Authorization: Bearer mck_…` or
//! `X-API-Key` inside their own tenant and scopes only, rotated and revoked with immediate effect. The
//! fixtures here (seeded tenants, minted user tokens, `send`) are shared with the channel tests.

use std::time::Duration;

use meta_chat_database::testkit::seed::{self, Seeded};
use meta_chat_shared::UserRole;
use meta_chat_shared::auth::{JwtKeys, Subject};
use meta_chat_shared::ids::{TenantId, UserId};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_envelope, spawn_app};

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// `Authorization: Bearer <token or key>`.
    Bearer(&'a str),
    /// `X-API-Key: <key>`.
    Header(&'a str),
    /// Nothing.
    None,
}

/// Sends `method path` under `/api/v1` with `auth` and an optional JSON body.
pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.http.request(method, app.url(&format!("/api/v1{path}")));
    request = match auth {
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Header(key) => request.header("X-API-Key", key),
        Auth::None => request,
    };
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// An access token for `user` of `seeded`'s tenant.
pub fn user_token(app: &TestApp, seeded: &Seeded, user: Uuid, role: UserRole) -> String {
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let subject =
        Subject::TenantUser { user: UserId::from_uuid(user), tenant: TenantId::from_uuid(seeded.tenant), role };
    keys.issue(&subject, Duration::from_secs(600)).unwrap().token
}

/// Seeds a tenant (user, WhatsApp channel, contact, conversation) and returns it with its owner's token.
pub async fn seeded_tenant(app: &TestApp, slug: &str) -> (Seeded, String) {
    let mut owner = seed::connect(&app.db.owner_url()).await;
    let seeded = seed::tenant_with_conversation(&mut owner, slug).await;
    let token = user_token(app, &seeded, seeded.user, UserRole::Owner);
    (seeded, token)
}

/// Adds a user with `role` to the tenant and returns their token.
pub async fn member_token(app: &TestApp, seeded: &Seeded, role: UserRole) -> String {
    let id = Uuid::now_v7();
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO tenant_users (tenant_id, id, email, name, role, password_hash) VALUES \
             ('{}', '{id}', 'member-{id}@example.com', 'Member', '{role}', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')",
            seeded.tenant
        ),
    )
    .await;
    user_token(app, seeded, id, role)
}

/// Creates a key with `scopes` as the tenant's owner and returns the creation response.
pub async fn create_key(app: &TestApp, owner_token: &str, scopes: &[&str]) -> Value {
    let body = json!({ "name": "Integration", "scopes": scopes });
    let res = send(app, Method::POST, "/api-keys", Auth::Bearer(owner_token), Some(&body)).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// Every row of `table` as JSON text, read as the owner (row-level security bypassed).
pub async fn rows_as_text(app: &TestApp, table: &str) -> String {
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::texts(&mut owner, &format!("SELECT row_to_json(t)::text AS value FROM {table} t")).await.join("\n")
}

/// How many audit entries have `action`.
pub async fn audit_count(app: &TestApp, action: &str) -> usize {
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::exec(&mut owner, &format!("SELECT 1 FROM audit_log WHERE action = '{action}'")).await
}

fn key_of(created: &Value) -> String {
    created["key"].as_str().expect("the plain key").to_owned()
}

#[tokio::test]
async fn a_key_is_shown_once_stored_hashed_and_reads_conversations_with_its_scope() {
    let app = spawn_app().await;
    let (acme, owner) = seeded_tenant(&app, "acme").await;
    let created = create_key(&app, &owner, &["conversations:read"]).await;
    let key = key_of(&created);
    assert!(key.starts_with("mck_") && key.len() == 55, "{key}");
    assert_eq!(created["prefix"], &key[..12]);
    assert_eq!(created["scopes"], json!(["conversations:read"]));
    assert!(created["expiresAt"].is_null());
    assert!(created["id"].is_string() && created["createdAt"].is_string());

    let listed = send(&app, Method::GET, "/api-keys", Auth::Bearer(&owner), None).await;
    assert_eq!(listed.status(), 200);
    let listed_text = listed.text().await.unwrap();
    assert!(!listed_text.contains(&key[12..]), "the list never shows a key: {listed_text}");
    let listed: Value = serde_json::from_str(&listed_text).unwrap();
    let item = &listed["data"][0];
    assert_eq!((item["id"].clone(), item["prefix"].clone()), (created["id"].clone(), created["prefix"].clone()));
    assert!(item.get("key").is_none() && item.get("keyHash").is_none(), "{item}");
    assert!(listed["nextCursor"].is_null());

    for auth in [Auth::Bearer(&key), Auth::Header(&key)] {
        let res = send(&app, Method::GET, "/conversations", auth, None).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        assert_eq!(page["data"][0]["id"], acme.conversation.to_string());
    }
    let messages = format!("/conversations/{}/messages", acme.conversation);
    assert_eq!(send(&app, Method::GET, &messages, Auth::Bearer(&key), None).await.status(), 200);

    // writes need conversations:write; keys never manage keys or channels
    let reply = json!({ "text": "Hello from the CRM" });
    let res = send(&app, Method::POST, &messages, Auth::Bearer(&key), Some(&reply)).await;
    assert_envelope(res, 403, "FORBIDDEN").await;
    let patch = json!({ "status": "closed" });
    let conversation = format!("/conversations/{}", acme.conversation);
    let res = send(&app, Method::PATCH, &conversation, Auth::Header(&key), Some(&patch)).await;
    assert_envelope(res, 403, "FORBIDDEN").await;
    assert_envelope(send(&app, Method::GET, "/api-keys", Auth::Bearer(&key), None).await, 403, "FORBIDDEN").await;
    assert_envelope(send(&app, Method::GET, "/me", Auth::Bearer(&key), None).await, 403, "FORBIDDEN").await;

    // the database holds the prefix and a hash, never the key; the audit log neither
    let stored = rows_as_text(&app, "api_keys").await;
    assert!(stored.contains(&key[..12]), "the prefix is stored");
    assert!(!stored.contains(&key[12..]), "the key's secret part is not stored: {stored}");
    let audit = rows_as_text(&app, "audit_log").await;
    assert!(!audit.contains(&key[12..]));
    assert_eq!(audit_count(&app, "api_key.created").await, 1);
}

#[tokio::test]
async fn rotated_and_revoked_keys_stop_working_at_once() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let created = create_key(&app, &owner, &["conversations:read", "conversations:write"]).await;
    let (id, old_key) = (created["id"].as_str().unwrap().to_owned(), key_of(&created));
    assert_eq!(send(&app, Method::GET, "/conversations", Auth::Bearer(&old_key), None).await.status(), 200);

    let res = send(&app, Method::POST, &format!("/api-keys/{id}/rotate"), Auth::Bearer(&owner), None).await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new_key = key_of(&rotated);
    assert_ne!(new_key, old_key);
    assert_eq!((rotated["id"].as_str(), rotated["scopes"].clone()), (Some(id.as_str()), created["scopes"].clone()));
    let res = send(&app, Method::GET, "/conversations", Auth::Bearer(&old_key), None).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;
    assert_eq!(send(&app, Method::GET, "/conversations", Auth::Header(&new_key), None).await.status(), 200);
    assert!(!rows_as_text(&app, "api_keys").await.contains(&new_key[12..]));

    let revoke = format!("/api-keys/{id}");
    assert_eq!(send(&app, Method::DELETE, &revoke, Auth::Bearer(&owner), None).await.status(), 204);
    let res = send(&app, Method::GET, "/conversations", Auth::Bearer(&new_key), None).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;
    // revoking again changes nothing; a revoked key cannot be rotated back to life
    assert_eq!(send(&app, Method::DELETE, &revoke, Auth::Bearer(&owner), None).await.status(), 204);
    let res = send(&app, Method::POST, &format!("/api-keys/{id}/rotate"), Auth::Bearer(&owner), None).await;
    let body = assert_envelope(res, 409, "CONFLICT").await;
    assert_eq!(body["error"]["details"]["field"], "id");
    let listed: Value = send(&app, Method::GET, "/api-keys", Auth::Bearer(&owner), None).await.json().await.unwrap();
    assert!(listed["data"][0]["revokedAt"].is_string());
    assert_eq!(audit_count(&app, "api_key.rotated").await, 1);
    assert_eq!(audit_count(&app, "api_key.revoked").await, 1);
}

#[tokio::test]
async fn a_key_acts_only_inside_its_own_tenant() {
    let app = spawn_app().await;
    let (acme, acme_owner) = seeded_tenant(&app, "acme").await;
    let (globex, globex_owner) = seeded_tenant(&app, "globex").await;
    let key = key_of(&create_key(&app, &acme_owner, &["admin"]).await);
    let auth = Auth::Bearer(&key);

    let listed: Value = send(&app, Method::GET, "/conversations", auth, None).await.json().await.unwrap();
    let ids: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [acme.conversation.to_string()]);
    let foreign = globex.conversation;
    let close = json!({ "status": "closed" });
    let reply = json!({ "text": "hi" });
    for (method, path, body) in [
        (Method::GET, format!("/conversations/{foreign}"), None),
        (Method::PATCH, format!("/conversations/{foreign}"), Some(&close)),
        (Method::GET, format!("/conversations/{foreign}/messages"), None),
        (Method::POST, format!("/conversations/{foreign}/messages"), Some(&reply)),
        (Method::POST, format!("/conversations/{foreign}/handoff"), None),
        (Method::GET, format!("/contacts/{}/export", globex.contact), None),
        (Method::DELETE, format!("/contacts/{}", globex.contact), None),
    ] {
        let res = send(&app, method.clone(), &path, auth, body).await;
        assert_envelope(res, 404, "NOT_FOUND").await;
    }
    let mut owner = seed::connect(&app.db.owner_url()).await;
    let untouched = format!("SELECT 1 FROM conversations WHERE id = '{foreign}' AND status = 'active'");
    assert_eq!(seed::exec(&mut owner, &untouched).await, 1, "globex's conversation is unchanged");
    assert_eq!(seed::exec(&mut owner, &format!("SELECT 1 FROM contacts WHERE id = '{}'", globex.contact)).await, 1);

    // the admin scope opens the GDPR export of its own tenant, audited as the key
    let export = format!("/contacts/{}/export", acme.contact);
    assert_eq!(send(&app, Method::GET, &export, auth, None).await.status(), 200);
    assert_eq!(seed::exec(&mut owner, "SELECT 1 FROM audit_log WHERE actor_type = 'api_key'").await, 1);
    // ... but no scope makes a key a user: keys, channels and the team stay with signed-in users
    for path in ["/api-keys", "/channels"] {
        assert_envelope(send(&app, Method::GET, path, auth, None).await, 403, "FORBIDDEN").await;
    }

    // another tenant's key id is not found, and the key keeps working
    let key_id = listed_key_id(&app, &acme_owner).await;
    for (method, path) in
        [(Method::POST, format!("/api-keys/{key_id}/rotate")), (Method::DELETE, format!("/api-keys/{key_id}"))]
    {
        let res = send(&app, method, &path, Auth::Bearer(&globex_owner), None).await;
        assert_envelope(res, 404, "NOT_FOUND").await;
    }
    assert_eq!(send(&app, Method::GET, "/conversations", auth, None).await.status(), 200);
}

async fn listed_key_id(app: &TestApp, owner: &str) -> String {
    let listed: Value = send(app, Method::GET, "/api-keys", Auth::Bearer(owner), None).await.json().await.unwrap();
    listed["data"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_reply_through_a_key_has_no_sender_user_and_hands_the_conversation_to_humans() {
    let app = spawn_app().await;
    let (acme, owner) = seeded_tenant(&app, "acme").await;
    let writer = key_of(&create_key(&app, &owner, &["conversations:write"]).await);
    let messages = format!("/conversations/{}/messages", acme.conversation);
    // write does not imply read
    assert_envelope(send(&app, Method::GET, &messages, Auth::Bearer(&writer), None).await, 403, "FORBIDDEN").await;

    let reply = json!({ "text": "Your order has shipped." });
    let res = send(&app, Method::POST, &messages, Auth::Header(&writer), Some(&reply)).await;
    assert_eq!(res.status(), 202);
    let message: Value = res.json().await.unwrap();
    assert_eq!((message["sender"].as_str(), message["status"].as_str()), (Some("agent"), Some("queued")));
    assert!(message["senderUserId"].is_null(), "{message}");
    let conversation: Value =
        send(&app, Method::GET, &format!("/conversations/{}", acme.conversation), Auth::Bearer(&owner), None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(conversation["status"], "assigned_human");
    assert!(conversation["assigneeId"].is_null());
}

#[tokio::test]
async fn garbage_expired_and_suspended_keys_are_refused() {
    let app = spawn_app().await;
    let (acme, owner) = seeded_tenant(&app, "acme").await;
    let key = key_of(&create_key(&app, &owner, &["conversations:read"]).await);
    let unknown = format!("mck_{}", "A".repeat(51));
    for auth in [Auth::Bearer(&unknown), Auth::Bearer("mck_short"), Auth::Header("not-a-key"), Auth::Header(&unknown)] {
        assert_envelope(send(&app, Method::GET, "/conversations", auth, None).await, 401, "INVALID_TOKEN").await;
    }
    // one request, one credential
    let both = app
        .http
        .get(app.url("/api/v1/conversations"))
        .bearer_auth(&owner)
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_envelope(both, 401, "INVALID_TOKEN").await;
    assert_envelope(send(&app, Method::GET, "/conversations", Auth::None, None).await, 401, "UNAUTHORIZED").await;

    let mut db = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut db,
        &format!("UPDATE tenants SET status = 'suspended', suspended_at = now() WHERE id = '{}'", acme.tenant),
    )
    .await;
    assert_envelope(send(&app, Method::GET, "/conversations", Auth::Bearer(&key), None).await, 403, "FORBIDDEN").await;
    seed::exec(
        &mut db,
        &format!("UPDATE tenants SET status = 'active', suspended_at = NULL WHERE id = '{}'", acme.tenant),
    )
    .await;
    assert_eq!(send(&app, Method::GET, "/conversations", Auth::Bearer(&key), None).await.status(), 200);
    seed::exec(&mut db, "UPDATE api_keys SET expires_at = now() - interval '1 second'").await;
    let res = send(&app, Method::GET, "/conversations", Auth::Bearer(&key), None).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;
}

#[tokio::test]
async fn key_management_is_for_owners_and_admins_and_validates_its_input() {
    let app = spawn_app().await;
    let (acme, owner) = seeded_tenant(&app, "acme").await;
    let agent = member_token(&app, &acme, UserRole::Agent).await;
    let admin = member_token(&app, &acme, UserRole::Admin).await;
    let body = json!({ "name": "CI", "scopes": ["chat"] });
    let res = send(&app, Method::POST, "/api-keys", Auth::Bearer(&agent), Some(&body)).await;
    assert_envelope(res, 403, "FORBIDDEN").await;
    assert_envelope(send(&app, Method::GET, "/api-keys", Auth::Bearer(&agent), None).await, 403, "FORBIDDEN").await;
    let created = create_key(&app, &admin, &["chat", "chat", "documents:read"]).await;
    assert_eq!(created["scopes"], json!(["chat", "documents:read"]), "duplicates dropped");
    let id = created["id"].as_str().unwrap();
    for (method, path) in
        [(Method::POST, format!("/api-keys/{id}/rotate")), (Method::DELETE, format!("/api-keys/{id}"))]
    {
        assert_envelope(send(&app, method, &path, Auth::Bearer(&agent), None).await, 403, "FORBIDDEN").await;
    }
    for (method, path) in [
        (Method::GET, "/api-keys".to_owned()),
        (Method::POST, "/api-keys".to_owned()),
        (Method::POST, format!("/api-keys/{id}/rotate")),
        (Method::DELETE, format!("/api-keys/{id}")),
    ] {
        assert_envelope(send(&app, method, &path, Auth::None, None).await, 401, "UNAUTHORIZED").await;
    }

    let future = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
    let with_expiry = json!({ "name": "Temp", "scopes": ["chat"], "expiresAt": future });
    let res = send(&app, Method::POST, "/api-keys", Auth::Bearer(&owner), Some(&with_expiry)).await;
    assert_eq!(res.status(), 201);
    assert!(res.json::<Value>().await.unwrap()["expiresAt"].is_string());

    for (body, field) in [
        (json!({ "name": "x", "scopes": [] }), "scopes"),
        (json!({ "name": "x", "scopes": ["chat", "root"] }), "scopes[1]"),
        (json!({ "name": "  ", "scopes": ["chat"] }), "name"),
        (json!({ "name": "x".repeat(101), "scopes": ["chat"] }), "name"),
        (json!({ "name": "x", "scopes": ["chat"], "expiresAt": "2001-01-01T00:00:00Z" }), "expiresAt"),
        (json!({ "name": "x", "scopes": ["chat"], "key": "mck_mine" }), "key"),
        (json!({ "scopes": ["chat"] }), "name"),
    ] {
        let res = send(&app, Method::POST, "/api-keys", Auth::Bearer(&owner), Some(&body)).await;
        let error = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(error["error"]["details"]["fields"][0]["path"], field, "{body}: {error}");
    }
    for query in ["limit=0", "limit=101", "cursor=zzz"] {
        let res = send(&app, Method::GET, &format!("/api-keys?{query}"), Auth::Bearer(&owner), None).await;
        assert_envelope(res, 400, "VALIDATION_ERROR").await;
    }
    let page: Value =
        send(&app, Method::GET, "/api-keys?limit=1", Auth::Bearer(&owner), None).await.json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let cursor = page["nextCursor"].as_str().expect("a second page");
    let rest: Value =
        send(&app, Method::GET, &format!("/api-keys?limit=1&cursor={cursor}"), Auth::Bearer(&owner), None)
            .await
            .json()
            .await
            .unwrap();
    assert_ne!(rest["data"][0]["id"], page["data"][0]["id"]);
}
