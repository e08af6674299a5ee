//! The agent inbox and GDPR routes end to end: real server, per-test database, tokens minted for seeded
//! users (the auth tests cover how tokens are obtained).

use std::time::Duration;

use meta_chat_database::testkit::seed::{self, Seeded};
use meta_chat_shared::UserRole;
use meta_chat_shared::auth::{JwtKeys, Subject};
use meta_chat_shared::ids::{TenantId, UserId};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, spawn_app};

/// Seeds a tenant with a conversation and returns it with an access token for its owner.
async fn tenant(app: &TestApp, slug: &str) -> (Seeded, String) {
    let mut owner = seed::connect(&app.db.owner_url()).await;
    let seeded = seed::tenant_with_conversation(&mut owner, slug).await;
    let token = token_for(app, &seeded, seeded.user, UserRole::Owner);
    (seeded, token)
}

fn token_for(app: &TestApp, seeded: &Seeded, user: uuid::Uuid, role: UserRole) -> String {
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let subject =
        Subject::TenantUser { user: UserId::from_uuid(user), tenant: TenantId::from_uuid(seeded.tenant), role };
    keys.issue(&subject, Duration::from_secs(600)).unwrap().token
}

/// Adds an agent to the tenant and returns (user id, token).
async fn agent(app: &TestApp, seeded: &Seeded) -> (uuid::Uuid, String) {
    let id = uuid::Uuid::now_v7();
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO tenant_users (tenant_id, id, email, name, role, password_hash) VALUES \
             ('{}', '{id}', 'agent-{id}@example.com', 'Agent', 'agent', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')",
            seeded.tenant
        ),
    )
    .await;
    (id, token_for(app, seeded, id, UserRole::Agent))
}

impl TestApp {
    async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(&format!("/api/v1{path}"))).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn the_inbox_lists_shows_and_pages_only_the_tenants_conversations() {
    let app = spawn_app().await;
    let (acme, token) = tenant(&app, "acme").await;
    let (globex, _) = tenant(&app, "globex").await;
    let res = app.call(reqwest::Method::GET, "/conversations?limit=1", &token, None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["id"], acme.conversation.to_string());
    assert_eq!(body["data"][0]["contact"]["externalId"], "acme-contact");
    assert_eq!(body["data"][0]["channelType"], "whatsapp");
    assert!(body["nextCursor"].is_null());

    let res = app.call(reqwest::Method::GET, &format!("/conversations/{}", acme.conversation), &token, None).await;
    assert_eq!(res.status(), 200);
    let foreign =
        app.call(reqwest::Method::GET, &format!("/conversations/{}", globex.conversation), &token, None).await;
    assert_envelope(foreign, 404, "NOT_FOUND").await;
    let messages =
        app.call(reqwest::Method::GET, &format!("/conversations/{}/messages", globex.conversation), &token, None).await;
    assert_envelope(messages, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn invalid_queries_and_bodies_name_the_field() {
    let app = spawn_app().await;
    let (acme, token) = tenant(&app, "acme").await;
    for (query, field) in
        [("limit=0", "limit"), ("limit=101", "limit"), ("status=open", "status"), ("cursor=zzz", "cursor")]
    {
        let res = app.call(reqwest::Method::GET, &format!("/conversations?{query}"), &token, None).await;
        let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(body["error"]["details"]["fields"][0]["path"], field, "{query}: {body}");
    }
    let unknown = app.call(reqwest::Method::GET, "/conversations?sort=asc", &token, None).await;
    assert_envelope(unknown, 400, "INVALID_QUERY").await;
    let path = format!("/conversations/{}/messages", acme.conversation);
    let blank = app.call(reqwest::Method::POST, &path, &token, Some(json!({ "text": "  " }))).await;
    let body = assert_envelope(blank, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "text");
    let extra = app.call(reqwest::Method::POST, &path, &token, Some(json!({ "text": "hi", "html": "<b>" }))).await;
    assert_eq!(extra.status(), 400);
}

#[tokio::test]
async fn an_agent_reply_is_queued_and_makes_the_conversation_human_owned() {
    let app = spawn_app().await;
    let (acme, _) = tenant(&app, "acme").await;
    let (agent_id, agent_token) = agent(&app, &acme).await;
    let path = format!("/conversations/{}/messages", acme.conversation);
    let res = app.call(reqwest::Method::POST, &path, &agent_token, Some(json!({ "text": "Hello, I can help." }))).await;
    assert_eq!(res.status(), 202);
    let message: Value = res.json().await.unwrap();
    assert_eq!((message["direction"].as_str(), message["sender"].as_str()), (Some("outbound"), Some("agent")));
    assert_eq!(message["status"], "queued");
    assert_eq!(message["senderUserId"], agent_id.to_string());

    let conversation: Value = app
        .call(reqwest::Method::GET, &format!("/conversations/{}", acme.conversation), &agent_token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(conversation["status"], "assigned_human");
    assert_eq!(conversation["assigneeId"], agent_id.to_string());

    let history: Value = app.call(reqwest::Method::GET, &path, &agent_token, None).await.json().await.unwrap();
    assert_eq!(history["data"][0]["id"], message["id"]);

    // release hands it back to the assistant; releasing again is refused
    let release = format!("/conversations/{}/release", acme.conversation);
    let released: Value = app.call(reqwest::Method::POST, &release, &agent_token, None).await.json().await.unwrap();
    assert_eq!(released["status"], "active");
    assert!(released["assigneeId"].is_null());
    let again = app.call(reqwest::Method::POST, &release, &agent_token, None).await;
    assert_envelope(again, 400, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn status_changes_follow_the_state_machine_over_http() {
    let app = spawn_app().await;
    let (acme, token) = tenant(&app, "acme").await;
    let (globex, _) = tenant(&app, "globex").await;
    let path = format!("/conversations/{}", acme.conversation);
    let closed: Value = app
        .call(reqwest::Method::PATCH, &path, &token, Some(json!({ "status": "closed" })))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(closed["status"], "closed");
    assert!(closed["closedAt"].is_string());
    let invalid = app.call(reqwest::Method::PATCH, &path, &token, Some(json!({ "status": "assigned_human" }))).await;
    let body = assert_envelope(invalid, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "status");
    let handoff = format!("/conversations/{}/handoff", acme.conversation);
    assert_envelope(app.call(reqwest::Method::POST, &handoff, &token, None).await, 400, "VALIDATION_ERROR").await;
    let reopened: Value = app
        .call(reqwest::Method::PATCH, &path, &token, Some(json!({ "status": "active" })))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reopened["status"], "active");
    let handed: Value = app
        .call(reqwest::Method::POST, &handoff, &token, Some(json!({ "reason": "asked for a person" })))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (handed["status"].as_str(), handed["handoffReason"].as_str()),
        (Some("assigned_human"), Some("asked for a person"))
    );
    // assigning someone from another tenant is refused; so is touching another tenant's conversation
    let foreign_user = json!({ "assigneeId": globex.user.to_string() });
    let res = app.call(reqwest::Method::PATCH, &path, &token, Some(foreign_user)).await;
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "assigneeId");
    let foreign = format!("/conversations/{}", globex.conversation);
    let res = app.call(reqwest::Method::PATCH, &foreign, &token, Some(json!({ "status": "closed" }))).await;
    assert_envelope(res, 404, "NOT_FOUND").await;
    let mut owner = seed::connect(&app.db.owner_url()).await;
    assert_eq!(
        seed::exec(
            &mut owner,
            &format!("SELECT 1 FROM conversations WHERE id = '{}' AND status = 'active'", globex.conversation)
        )
        .await,
        1,
        "another tenant's conversation is unchanged"
    );
}

#[tokio::test]
async fn contact_export_and_erase_are_for_admins_and_audited() {
    let app = spawn_app().await;
    let (acme, token) = tenant(&app, "acme").await;
    let (_, agent_token) = agent(&app, &acme).await;
    let (globex, _) = tenant(&app, "globex").await;
    let mut owner = seed::connect(&app.db.owner_url()).await;
    let message = seed::inbound_message(&mut owner, &acme, "2026-11-20T10:00:00Z").await;
    seed::inbound_message(&mut owner, &globex, "2026-11-20T10:00:00Z").await;

    let export_path = format!("/contacts/{}/export", acme.contact);
    assert_envelope(app.call(reqwest::Method::GET, &export_path, &agent_token, None).await, 403, "FORBIDDEN").await;
    let res = app.call(reqwest::Method::GET, &export_path, &token, None).await;
    assert_eq!(res.status(), 200);
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["contact"]["id"], acme.contact.to_string());
    assert_eq!(export["conversations"].as_array().unwrap().len(), 1);
    let messages = export["conversations"][0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["id"], message.to_string());
    let foreign = format!("/contacts/{}/export", globex.contact);
    assert_envelope(app.call(reqwest::Method::GET, &foreign, &token, None).await, 404, "NOT_FOUND").await;

    let erase_path = format!("/contacts/{}", acme.contact);
    assert_envelope(app.call(reqwest::Method::DELETE, &erase_path, &agent_token, None).await, 403, "FORBIDDEN").await;
    assert_eq!(app.call(reqwest::Method::DELETE, &erase_path, &token, None).await.status(), 204);
    assert_envelope(app.call(reqwest::Method::DELETE, &erase_path, &token, None).await, 404, "NOT_FOUND").await;
    assert_eq!(seed::exec(&mut owner, &format!("SELECT 1 FROM messages WHERE id = '{message}'")).await, 0);
    assert_eq!(seed::exec(&mut owner, "SELECT 1 FROM messages").await, 1, "globex's message is untouched");
    assert_eq!(
        seed::exec(
            &mut owner,
            &format!("SELECT 1 FROM audit_log WHERE action = 'contact.erased' AND target_id = '{}'", acme.contact)
        )
        .await,
        1
    );
    assert_eq!(seed::exec(&mut owner, "SELECT 1 FROM audit_log WHERE action = 'contact.exported'").await, 1);
}

#[tokio::test]
async fn inbox_routes_require_a_tenant_token() {
    let app = spawn_app().await;
    let (acme, _) = tenant(&app, "acme").await;
    let id = acme.conversation;
    for (method, path) in [
        (reqwest::Method::GET, "/conversations".to_owned()),
        (reqwest::Method::GET, format!("/conversations/{id}")),
        (reqwest::Method::PATCH, format!("/conversations/{id}")),
        (reqwest::Method::GET, format!("/conversations/{id}/messages")),
        (reqwest::Method::POST, format!("/conversations/{id}/messages")),
        (reqwest::Method::POST, format!("/conversations/{id}/handoff")),
        (reqwest::Method::POST, format!("/conversations/{id}/release")),
        (reqwest::Method::GET, format!("/contacts/{}/export", acme.contact)),
        (reqwest::Method::DELETE, format!("/contacts/{}", acme.contact)),
    ] {
        let res = app.http.request(method.clone(), app.url(&format!("/api/v1{path}"))).send().await.unwrap();
        assert_envelope(res, 401, "UNAUTHORIZED").await;
        let res = app.call(method, &path, "not-a-token", None).await;
        assert_envelope(res, 401, "INVALID_TOKEN").await;
    }
}
