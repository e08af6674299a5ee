//! `GET/PATCH /tenant` end to end: the settings shape and defaults, per-section merging, validation that names
//! the field, the write-only encrypted LLM key (checked in the stored row), and role checks.

use std::time::Duration;

use meta_chat_database::testkit::seed::{self, Seeded};
use meta_chat_shared::UserRole;
use meta_chat_shared::auth::{JwtKeys, Subject};
use meta_chat_shared::ids::{TenantId, UserId};
use meta_chat_shared::secrets::Keyring;
use meta_chat_shared::settings::llm_api_key_associated_data;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_envelope, spawn_app};

/// A seeded tenant and its owner's access token.
pub struct Org {
    pub seeded: Seeded,
    pub owner: String,
}

/// A fake argon2id hash: seeded users get tokens minted, they never log in with a password.
const FAKE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";

/// Seeds tenant `slug` (its owner is `<slug>@example.com`) and mints its owner a token.
pub async fn org(app: &TestApp, slug: &str) -> Org {
    let mut conn = seed::connect(&app.db.owner_url()).await;
    let seeded = seed::tenant_with_conversation(&mut conn, slug).await;
    let owner = token(app, &seeded, seeded.user, UserRole::Owner);
    Org { seeded, owner }
}

/// An access token for `user` of `seeded`'s tenant.
pub fn token(app: &TestApp, seeded: &Seeded, user: Uuid, role: UserRole) -> String {
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let subject =
        Subject::TenantUser { user: UserId::from_uuid(user), tenant: TenantId::from_uuid(seeded.tenant), role };
    keys.issue(&subject, Duration::from_secs(600)).unwrap().token
}

/// Adds an active, verified user with `role` to `org` and returns its id and an access token.
pub async fn member(app: &TestApp, org: &Org, role: UserRole) -> (Uuid, String) {
    let id = Uuid::now_v7();
    let mut conn = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut conn,
        &format!(
            "INSERT INTO tenant_users (tenant_id, id, email, name, role, password_hash, email_verified_at) VALUES \
             ('{}', '{id}', '{role}-{id}@example.com', 'Member', '{role}', '{FAKE_HASH}', now())",
            org.seeded.tenant
        ),
    )
    .await;
    (id, token(app, &org.seeded, id, role))
}

/// Sends `method path` (under `/api/v1`) with `token` and an optional JSON body.
pub async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app.http.request(method, app.url(&format!("/api/v1{path}"))).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Rows of `sql` (one text column named `value`), read as the owner role (no row-level security).
pub async fn rows(app: &TestApp, sql: &str) -> Vec<String> {
    let mut conn = seed::connect(&app.db.owner_url()).await;
    seed::texts(&mut conn, sql).await
}

async fn patch(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    send(app, Method::PATCH, "/tenant", token, Some(body)).await
}

async fn get(app: &TestApp, token: &str) -> Value {
    let res = send(app, Method::GET, "/tenant", token, None).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The `details.fields[].path`s of a `VALIDATION_ERROR`.
async fn invalid_paths(res: reqwest::Response) -> Vec<String> {
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_role_reads_the_tenant_with_default_settings() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let (_, agent) = member(&app, &acme, UserRole::Agent).await;
    let body = get(&app, &agent).await;
    assert_eq!(body["id"], acme.seeded.tenant.to_string());
    assert_eq!(body["name"], "acme");
    assert_eq!(body["slug"], "acme");
    assert_eq!(body["plan"], "free");
    assert_eq!(body["status"], "active");
    assert!(body["assistant"]["prompt"].as_str().is_some_and(|p| !p.is_empty()));
    assert_eq!(body["assistant"]["tone"], "friendly");
    assert_eq!(body["assistant"]["language"], Value::Null);
    assert_eq!(
        body["rag"],
        json!({ "enabled": true, "topK": 5, "minScore": 0.3, "vectorWeight": 1.0, "keywordWeight": 1.0 })
    );
    assert_eq!(body["handoff"]["enabled"], true);
    assert_eq!(body["handoff"]["confidenceThreshold"], 0.4);
    assert!(body["handoff"]["keywords"].is_array());
    assert_eq!(body["llm"], json!({ "provider": "local", "model": "local", "baseUrl": null, "hasApiKey": false }));
    assert_eq!(body["widget"]["primaryColor"], "#2563eb");
    assert_eq!(body["widget"]["quickReplies"], json!([]));
    assert!(body["createdAt"].is_string() && body["updatedAt"].is_string());
    assert_eq!(get(&app, &acme.owner).await, body, "every role sees the same");

    let res = app.get("/api/v1/tenant").send().await.unwrap();
    assert_envelope(res, 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn a_patch_changes_only_the_fields_and_sections_it_names() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let before = get(&app, &acme.owner).await;
    let res = patch(
        &app,
        &acme.owner,
        json!({
            "name": "  Acme Support  ",
            "rag": { "topK": 8 },
            "assistant": { "tone": "professional", "language": "pt-BR" },
            "widget": { "quickReplies": ["Opening hours", "Talk to a person"], "primaryColor": "#FF8800" },
            "llm": { "provider": "openai_compatible", "model": "llama3.1:8b", "baseUrl": "http://localhost:11434/v1" }
        }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["name"], "Acme Support", "trimmed");
    assert_eq!(
        after["rag"],
        json!({ "enabled": true, "topK": 8, "minScore": 0.3, "vectorWeight": 1.0, "keywordWeight": 1.0 })
    );
    assert_eq!(after["assistant"]["tone"], "professional");
    assert_eq!(after["assistant"]["language"], "pt-BR");
    assert_eq!(after["assistant"]["prompt"], before["assistant"]["prompt"], "a field not named keeps its value");
    assert_eq!(after["handoff"], before["handoff"], "an absent section is unchanged");
    assert_eq!(after["widget"]["greeting"], before["widget"]["greeting"]);
    assert_eq!(after["widget"]["quickReplies"], json!(["Opening hours", "Talk to a person"]));
    assert_eq!(after["llm"]["baseUrl"], "http://localhost:11434/v1");
    assert_eq!(get(&app, &acme.owner).await, after);

    // stored typed, in camelCase, every section present
    let stored =
        rows(&app, &format!("SELECT settings::text AS value FROM tenants WHERE id = '{}'", acme.seeded.tenant)).await;
    let stored: Value = serde_json::from_str(&stored[0]).unwrap();
    assert_eq!(stored["rag"]["topK"], 8);
    assert_eq!(stored["llm"]["provider"], "openai_compatible");
    assert!(stored["handoff"].is_object());

    // `null` clears an optional field; a body with nothing in it changes nothing
    let res = patch(&app, &acme.owner, json!({ "assistant": { "language": null } })).await;
    let cleared: Value = res.json().await.unwrap();
    assert_eq!(cleared["assistant"]["language"], Value::Null);
    assert_eq!(cleared["assistant"]["tone"], "professional");
    let res = patch(&app, &acme.owner, json!({})).await;
    assert_eq!(res.status(), 200);

    let audit = rows(
        &app,
        &format!(
            "SELECT details::text AS value FROM audit_log WHERE tenant_id = '{}' AND action = 'tenant.updated' \
             ORDER BY created_at",
            acme.seeded.tenant
        ),
    )
    .await;
    assert_eq!(audit.len(), 2, "the empty PATCH is not audited: {audit:?}");
    let first: Value = serde_json::from_str(&audit[0]).unwrap();
    assert_eq!(first["changed"], json!(["name", "assistant", "rag", "llm", "widget"]));
}

#[tokio::test]
async fn invalid_settings_are_refused_naming_the_field_and_nothing_changes() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let before = get(&app, &acme.owner).await;
    let cases = [
        (json!({ "rag": { "topK": 21 } }), "rag.topK"),
        (json!({ "rag": { "topK": 0 } }), "rag.topK"),
        (json!({ "rag": { "topK": "five" } }), "rag.topK"),
        (json!({ "rag": { "minScore": 1.5 } }), "rag.minScore"),
        (json!({ "rag": { "vectorWeight": 0.0, "keywordWeight": 0.0 } }), "rag.vectorWeight"),
        (json!({ "rag": { "topk": 3 } }), "rag.topk"),
        (json!({ "rag": null }), "rag"),
        (json!({ "handoff": { "confidenceThreshold": -0.1 } }), "handoff.confidenceThreshold"),
        (json!({ "handoff": { "keywords": vec!["human"; 51] } }), "handoff.keywords"),
        (json!({ "assistant": { "prompt": "p".repeat(8_001) } }), "assistant.prompt"),
        (json!({ "assistant": { "tone": "sarcastic" } }), "assistant.tone"),
        (json!({ "assistant": { "language": "english" } }), "assistant.language"),
        (json!({ "llm": { "provider": "mistral" } }), "llm.provider"),
        (json!({ "llm": { "provider": "openai", "baseUrl": "http://api.example.com/v1" } }), "llm.baseUrl"),
        (json!({ "llm": { "provider": "openai_compatible" } }), "llm.baseUrl"),
        (json!({ "llm": { "apiKey": 42 } }), "llm.apiKey"),
        (json!({ "widget": { "primaryColor": "red" } }), "widget.primaryColor"),
        (json!({ "widget": { "greeting": "g".repeat(501) } }), "widget.greeting"),
        (json!({ "widget": { "agentName": "a".repeat(81) } }), "widget.agentName"),
        (json!({ "widget": { "quickReplies": vec!["q"; 11] } }), "widget.quickReplies"),
        (json!({ "widget": { "quickReplies": ["q".repeat(81)] } }), "widget.quickReplies[0]"),
        (json!({ "name": " " }), "name"),
        (json!({ "settings": {} }), "settings"),
    ];
    for (body, path) in cases {
        let paths = invalid_paths(patch(&app, &acme.owner, body.clone()).await).await;
        assert!(paths.iter().any(|p| p == path), "{body}: expected {path} in {paths:?}");
    }
    assert_eq!(get(&app, &acme.owner).await, before, "nothing was stored");
}

#[tokio::test]
async fn the_llm_api_key_is_write_only_and_sealed_at_rest() {
    const KEY: &str = "sk-test-4f9c2e7a1b8d3c6e5f0a";
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let globex = org(&app, "globex").await;
    let res =
        patch(&app, &acme.owner, json!({ "llm": { "provider": "openai", "model": "gpt-4o-mini", "apiKey": KEY } }))
            .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(KEY) && !text.contains("apiKey") && !text.contains("v1."), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body["llm"],
        json!({ "provider": "openai", "model": "gpt-4o-mini", "baseUrl": null, "hasApiKey": true })
    );
    let read = send(&app, Method::GET, "/tenant", &acme.owner, None).await.text().await.unwrap();
    assert!(!read.contains(KEY) && read.contains(r#""hasApiKey":true"#), "{read}");
    assert_eq!(get(&app, &globex.owner).await["llm"]["hasApiKey"], false, "another tenant is untouched");

    // at rest: an envelope that opens only with this tenant's associated data
    let stored =
        rows(&app, &format!("SELECT llm_api_key_enc AS value FROM tenants WHERE id = '{}'", acme.seeded.tenant)).await;
    let envelope = &stored[0];
    assert!(envelope.starts_with("v1.") && !envelope.contains(KEY), "{envelope}");
    let keyring = Keyring::from_config(&app.config.secrets).unwrap();
    let acme_ad = llm_api_key_associated_data(TenantId::from_uuid(acme.seeded.tenant));
    assert_eq!(keyring.open(envelope, acme_ad.as_bytes()).unwrap(), KEY);
    let globex_ad = llm_api_key_associated_data(TenantId::from_uuid(globex.seeded.tenant));
    assert!(keyring.open(envelope, globex_ad.as_bytes()).is_err());
    let leaked =
        rows(&app, &format!("SELECT count(*)::text AS value FROM audit_log WHERE details::text LIKE '%{KEY}%'")).await;
    assert_eq!(leaked, ["0"]);

    // other llm changes keep the key; `null` removes it
    let res = patch(&app, &acme.owner, json!({ "llm": { "model": "gpt-4o" } })).await;
    assert_eq!(res.json::<Value>().await.unwrap()["llm"]["hasApiKey"], true);
    let res = patch(&app, &acme.owner, json!({ "llm": { "apiKey": null } })).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["llm"]["hasApiKey"], false);
    assert_eq!(body["llm"]["model"], "gpt-4o");
    let stored = rows(
        &app,
        &format!("SELECT coalesce(llm_api_key_enc, 'none') AS value FROM tenants WHERE id = '{}'", acme.seeded.tenant),
    )
    .await;
    assert_eq!(stored, ["none"]);
}

#[tokio::test]
async fn agents_cannot_change_the_tenant() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let (_, agent) = member(&app, &acme, UserRole::Agent).await;
    let (_, admin) = member(&app, &acme, UserRole::Admin).await;
    let res = patch(&app, &agent, json!({ "rag": { "topK": 3 } })).await;
    assert_envelope(res, 403, "FORBIDDEN").await;
    assert_eq!(get(&app, &agent).await["rag"]["topK"], 5);
    let res = patch(&app, &admin, json!({ "rag": { "topK": 3 } })).await;
    assert_eq!(res.status(), 200, "admins may");
}

#[tokio::test]
async fn concurrent_patches_of_different_sections_both_stick() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    for round in 1..=5_u32 {
        let (a, b) = tokio::join!(
            patch(&app, &acme.owner, json!({ "rag": { "topK": round } })),
            patch(&app, &acme.owner, json!({ "widget": { "agentName": format!("Robin {round}") } })),
        );
        assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
        let now = get(&app, &acme.owner).await;
        assert_eq!(now["rag"]["topK"], round, "a concurrent change to another section is not lost");
        assert_eq!(now["widget"]["agentName"], format!("Robin {round}"));
    }
}
