//! `POST /chat`: the same assistant as the channels, answered inline or as server-sent events.

use std::sync::Arc;

use meta_chat_llm::LocalProvider;
use serde_json::{Value, json};

use crate::api_keys::{create_key, seeded_tenant};
use crate::documents::settled;
use crate::helpers::{TestApp, assert_envelope, spawn_app};
use crate::pipeline::Worker;
use crate::tenant::rows;

async fn ask(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/chat").bearer_auth(token).json(&body).send().await.unwrap()
}

async fn with_document(app: &TestApp, owner: &str) -> String {
    let doc = json!({ "filename": "plans.txt", "content": "The premium plan includes free international shipping to 40 countries.\n\nThe basic plan ships within the country only." });
    let res = app.post("/api/v1/documents").bearer_auth(owner).json(&doc).send().await.unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(app, owner, &id).await["status"], "ready");
    id
}

#[tokio::test]
async fn a_question_answered_from_a_document_cites_it_and_an_unrelated_one_does_not() {
    let app = spawn_app().await;
    let worker = Worker::start(&app.config, Arc::new(LocalProvider));
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let document = with_document(&app, &owner).await;

    let res = ask(&app, &owner, json!({ "message": "Does the premium plan include international shipping?" })).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["contextUsed"], true, "{body}");
    assert_eq!(body["citations"][0]["documentId"], document.as_str(), "{body}");
    assert_eq!(body["citations"][0]["filename"], "plans.txt");
    assert!(body["reply"].as_str().unwrap().contains("international shipping"), "{body}");
    assert_eq!(body["escalated"], false);
    assert!(body["usage"]["promptTokens"].as_i64().unwrap() > 0);
    let conversation = body["conversationId"].as_str().unwrap().to_owned();

    // the same conversation continues; an unrelated question cites nothing
    let res =
        ask(&app, &owner, json!({ "message": "What is the capital of Mongolia?", "conversationId": conversation }))
            .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["conversationId"], conversation.as_str());
    assert_eq!(body["contextUsed"], false, "{body}");
    assert_eq!(body["citations"], json!([]));
    let stored =
        rows(&app, &format!("SELECT count(*)::text AS value FROM messages WHERE conversation_id = '{conversation}'"))
            .await;
    assert_eq!(stored, ["4"], "two questions and two answers");
    let decisions = rows(&app, "SELECT outcome AS value FROM message_replies ORDER BY created_at").await;
    assert_eq!(decisions.len(), 2);
    worker.stop().await;
}

#[tokio::test]
async fn stream_true_sends_tokens_then_one_final_event_with_citations() {
    let app = spawn_app().await;
    let worker = Worker::start(&app.config, Arc::new(LocalProvider));
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let document = with_document(&app, &owner).await;
    let res = ask(
        &app,
        &owner,
        json!({ "message": "Does the premium plan include international shipping?", "stream": true }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let text = res.text().await.unwrap();
    let events: Vec<(&str, Value)> = text
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
            let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect();
    let (last, rest) = events.split_last().unwrap();
    assert!(!rest.is_empty() && rest.iter().all(|(name, _)| *name == "token"), "{text}");
    let streamed: String = rest.iter().map(|(_, data)| data["text"].as_str().unwrap()).collect();
    assert_eq!(last.0, "done", "{text}");
    assert_eq!(last.1["reply"].as_str().unwrap(), streamed);
    assert_eq!(last.1["citations"][0]["documentId"], document.as_str());
    assert!(last.1["messageId"].is_string());
    worker.stop().await;
}

#[tokio::test]
async fn bad_input_foreign_conversations_and_keys_without_the_chat_scope_are_refused() {
    let app = spawn_app().await;
    let (_, acme) = seeded_tenant(&app, "acme").await;
    let (_, globex) = seeded_tenant(&app, "globex").await;
    for body in [
        json!({ "message": "" }),
        json!({ "message": "   " }),
        json!({ "message": "x".repeat(4001) }),
        json!({ "message": "hi", "extra": 1 }),
    ] {
        assert_envelope(ask(&app, &acme, body).await, 400, "VALIDATION_ERROR").await;
    }
    let res = ask(&app, &acme, json!({ "message": "hello" })).await;
    let conversation = res.json::<Value>().await.unwrap()["conversationId"].as_str().unwrap().to_owned();
    // without an id, each call starts its own conversation
    let again = ask(&app, &acme, json!({ "message": "hello again" })).await;
    assert_eq!(again.status(), 200);
    assert_ne!(again.json::<Value>().await.unwrap()["conversationId"], conversation.as_str());
    let foreign = ask(&app, &globex, json!({ "message": "hello", "conversationId": conversation })).await;
    assert_envelope(foreign, 404, "NOT_FOUND").await;
    let unknown = ask(&app, &acme, json!({ "message": "hello", "conversationId": uuid::Uuid::now_v7() })).await;
    assert_envelope(unknown, 404, "NOT_FOUND").await;
    let key = create_key(&app, &acme, &["documents:read"]).await["key"].as_str().unwrap().to_owned();
    assert_envelope(ask(&app, &key, json!({ "message": "hello" })).await, 403, "FORBIDDEN").await;
    let key = create_key(&app, &acme, &["chat"]).await["key"].as_str().unwrap().to_owned();
    assert_eq!(ask(&app, &key, json!({ "message": "hello" })).await.status(), 200);
    // the API channel is the platform's: not listed, not counted
    let channels: Value = app.get("/api/v1/channels").bearer_auth(&acme).send().await.unwrap().json().await.unwrap();
    let types: Vec<&str> = channels["data"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["whatsapp"], "the seeded channel only");
    let stored = rows(&app, "SELECT type AS value FROM channels WHERE type = 'api'").await;
    assert_eq!(stored, ["api", "api"], "one API channel per tenant that chatted");
}
