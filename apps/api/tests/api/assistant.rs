//! The assistant on the channel path: a WhatsApp question answered from an uploaded document cites it (in
//! the reply's stored payload and the decision record); an unrelated question gets no citation (a refusal or
//! a hand-off); and when retrieval fails at runtime the reply says the knowledge base could not be consulted,
//! the failure is counted, and nothing is silent.

use std::sync::Arc;

use meta_chat_llm::LocalProvider;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::documents::settled;
use crate::integrations::{APP_SECRET, TEXT, deliver, whatsapp_channel};
use crate::pipeline::{Worker, wait_for_sends, world_with};
use crate::tenant::{rows, send};

/// The text fixture with another message id and body.
fn question(id: &str, body: &str) -> Vec<u8> {
    let mut payload: Value = serde_json::from_slice(TEXT).unwrap();
    let message = &mut payload["entry"][0]["changes"][0]["value"]["messages"][0];
    message["id"] = json!(id);
    message["text"]["body"] = json!(body);
    serde_json::to_vec(&payload).unwrap()
}

fn sent_text(send: &Value) -> String {
    send["text"]["body"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_whatsapp_question_is_answered_from_a_document_and_cites_it() {
    let w = world_with(|_| {}).await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    let doc = json!({ "filename": "plans.txt", "content": "The premium plan includes free international shipping to 40 countries.\n\nThe basic plan ships within the country only." });
    let res = w.app.post("/api/v1/documents").bearer_auth(&w.owner).json(&doc).send().await.unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&w.app, &w.owner, &id).await["status"], "ready");
    let path = format!("/integrations/whatsapp/{channel}");
    assert_eq!(deliver(&w.app, &path, TEXT, Some(APP_SECRET)).await.status(), 200);
    let sends = wait_for_sends(&w.graph, 1).await;
    assert!(sent_text(&sends[0]).contains("premium plan includes free international shipping"), "{sends:?}");
    let payload = rows(&w.app, "SELECT payload::text AS value FROM messages WHERE direction = 'outbound'").await;
    let payload: Value = serde_json::from_str(&payload[0]).unwrap();
    assert_eq!(payload["assistant"]["contextUsed"], true, "{payload}");
    assert_eq!(payload["assistant"]["citations"][0]["documentId"], id.as_str(), "{payload}");
    assert_eq!(payload["assistant"]["retrieval"], "hits");
    let decision = rows(&w.app, "SELECT retrieval || ' ' || jsonb_array_length(citations) || ' ' || (prompt_tokens > 0) AS value FROM message_replies").await;
    assert_eq!(decision, ["hits 1 true"]);

    // unrelated: no citation; the local model says plainly it found nothing (a refusal, not an invention)
    let unrelated = question("wamid.UNRELATED1", "What will the weather be like on Mars tomorrow?");
    assert_eq!(deliver(&w.app, &path, &unrelated, Some(APP_SECRET)).await.status(), 200);
    let sends = wait_for_sends(&w.graph, 2).await;
    let reply = sent_text(&sends[1]);
    assert!(!reply.contains("premium plan"), "{reply}");
    assert!(reply.contains("couldn't find anything about that"), "{reply}");
    let outcomes = rows(&w.app, "SELECT outcome || ' ' || retrieval || ' ' || jsonb_array_length(citations) AS value FROM message_replies ORDER BY created_at").await;
    assert_eq!(outcomes, ["replied hits 1", "replied empty 0"]);
    worker.stop().await;
}

#[tokio::test]
async fn a_retrieval_failure_is_said_counted_and_never_silent() {
    let w = world_with(|_| {}).await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    // the tenant's model has no embedder in this worker: every search fails at runtime
    let mut conn = meta_chat_database::testkit::seed::connect(&w.app.db.owner_url()).await;
    meta_chat_database::embedding_models::register(&mut conn, "ghost-embed-8", "openai_compatible", 8).await.unwrap();
    meta_chat_database::testkit::seed::exec(&mut conn, "UPDATE tenants SET embedding_model = 'ghost-embed-8'").await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await.status(),
        200
    );
    let sends = wait_for_sends(&w.graph, 1).await;
    assert!(sent_text(&sends[0]).contains("couldn't consult our knowledge base"), "{sends:?}");
    assert_eq!(rows(&w.app, "SELECT retrieval AS value FROM message_replies").await, ["failed"]);
    let metrics = w.app.http.get(format!("{}/metrics", w.app.metrics_url)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("rag_retrieval_failures_total{") && l.contains(r#"kind="no_embedder""#)),
        "{metrics}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_tenant_on_an_openai_compatible_model_gets_numbered_sources_and_its_citations_are_kept() {
    let model = MockServer::start().await;
    let answer = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "fake-chat",
        "choices": [{ "index": 0, "finish_reason": "stop",
            "message": { "role": "assistant", "content": "Yes: the premium plan ships internationally to 40 countries [1]." } }],
        "usage": { "prompt_tokens": 120, "completion_tokens": 14, "total_tokens": 134 }
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-tenant-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&model)
        .await;
    let w = world_with(|_| {}).await;
    let llm = json!({ "llm": { "provider": "openai_compatible", "model": "fake-chat",
        "baseUrl": format!("{}/v1", model.uri()), "apiKey": "sk-tenant-key" } });
    assert_eq!(send(&w.app, Method::PATCH, "/tenant", &w.owner, Some(llm)).await.status(), 200);
    let worker = Worker::start_real(&w.app.config);
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    let doc = json!({ "filename": "plans.txt", "content": "The premium plan includes free international shipping to 40 countries." });
    let res = w.app.post("/api/v1/documents").bearer_auth(&w.owner).json(&doc).send().await.unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&w.app, &w.owner, &id).await["status"], "ready");
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await.status(),
        200
    );
    let sends = wait_for_sends(&w.graph, 1).await;
    assert_eq!(sent_text(&sends[0]), "Yes: the premium plan ships internationally to 40 countries [1].");
    let requests = model.received_requests().await.unwrap();
    let body: Value = requests.last().unwrap().body_json().unwrap();
    assert_eq!(body["model"], "fake-chat");
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("[1] (plans.txt) The premium plan includes free international shipping"), "{system}");
    let payload = rows(&w.app, "SELECT payload::text AS value FROM messages WHERE direction = 'outbound'").await;
    let payload: Value = serde_json::from_str(&payload[0]).unwrap();
    assert_eq!(payload["assistant"]["citations"][0]["documentId"], id.as_str(), "{payload}");
    assert_eq!(payload["assistant"]["model"], "fake-chat");
    let usage = rows(&w.app, "SELECT prompt_tokens || ' ' || completion_tokens AS value FROM message_replies").await;
    assert_eq!(usage, ["120 14"]);
    worker.stop().await;
}
