//! The knowledge base end to end: upload through the API (multipart and JSON), ingestion by the worker's
//! `ingestion` consumer from `document.uploaded`, and `POST /search` finding what was uploaded — for every
//! accepted type. Also the upload checks (415/413/409), status that clients cannot set, failure with a
//! reason when the embedding service fails and recovery by reprocessing, and tenant isolation.

#[path = "../../../../crates/rag/tests/documents/build.rs"]
#[expect(dead_code, reason = "shared builders; not every one is used here")]
mod build;

use std::sync::Arc;
use std::time::Duration;

use meta_chat_llm::LocalProvider;
use meta_chat_shared::config::EmbeddingProvider;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api_keys::seeded_tenant;
use crate::helpers::{TestApp, assert_envelope, spawn_app_with};
use crate::pipeline::Worker;

async fn upload_file(app: &TestApp, token: &str, filename: &str, mime: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = Part::bytes(bytes).file_name(filename.to_owned()).mime_str(mime).unwrap();
    let form = Form::new().part("file", part).text("metadata", r#"{"source": "test"}"#);
    app.post("/api/v1/documents").bearer_auth(token).multipart(form).send().await.unwrap()
}

async fn upload_text(app: &TestApp, token: &str, filename: &str, content: &str) -> reqwest::Response {
    let body = json!({ "filename": filename, "content": content });
    app.post("/api/v1/documents").bearer_auth(token).json(&body).send().await.unwrap()
}

/// Waits (20 s deadline, not a measurement) until the document is no longer pending or processing.
pub(crate) async fn settled(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..400 {
        let doc: Value =
            app.get(&format!("/api/v1/documents/{id}")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        if !matches!(doc["status"].as_str(), Some("pending" | "processing")) {
            return doc;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("document {id} never settled");
}

pub(crate) async fn search(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app.post("/api/v1/search").bearer_auth(token).json(&json!({ "query": query })).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["data"].as_array().unwrap().clone()
}

fn fast_worker(config: &mut meta_chat_shared::Config) {
    config.amqp.retry_delays_ms = vec![100, 200, 400];
    config.amqp.sweep_interval_ms = 200;
    config.amqp.sweep_after_ms = 300;
}

#[tokio::test]
async fn every_accepted_type_is_ingested_and_found_by_search_and_never_by_another_tenant() {
    let app = spawn_app_with(|config, _| fast_worker(config)).await;
    let worker = Worker::start(&app.config, Arc::new(LocalProvider));
    let (_, acme) = seeded_tenant(&app, "acme").await;
    let (_, globex) = seeded_tenant(&app, "globex").await;
    let pdf = build::pdf(&[
        vec!["Our warehouse ships orders every weekday.".into()],
        vec!["The XR-200 router comes with a three year warranty.".into()],
    ]);
    let uploads = vec![
        upload_file(&app, &acme, "manual.pdf", "application/pdf", pdf).await,
        upload_file(&app, &acme, "handbook.docx", "application/octet-stream", build::docx()).await,
        upload_text(
            &app,
            &acme,
            "about.html",
            "<html><body><nav>Menu</nav><h1>About</h1><p>Our bakery opened in 1987 in Zagreb.</p></body></html>",
        )
        .await,
        upload_text(&app, &acme, "faq.md", "# FAQ\n\n## Payment\n\nWe accept payment by bank transfer and by card.\n")
            .await,
        upload_text(&app, &acme, "notes.txt", "Parking is free for customers behind the building.").await,
        upload_text(&app, &acme, "prices.csv", "product,price\nespresso beans,12 EUR\n\"decaf, organic\",14 EUR\n")
            .await,
    ];
    let mut ids = Vec::new();
    for res in uploads {
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "pending");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let doc = settled(&app, &acme, id).await;
        assert_eq!(doc["status"], "ready", "{doc}");
        assert!(doc["chunkCount"].as_i64().unwrap() > 0, "{doc}");
    }
    let expectations = [
        ("warranty of the XR-200 router", 0, "three year warranty"),
        ("refund policy days", 1, "fourteen days"),
        ("when did the bakery open", 2, "1987"),
        ("payment by bank transfer", 3, "bank transfer"),
        ("is parking free", 4, "Parking is free"),
        ("price of decaf organic", 5, "14 EUR"),
    ];
    for (query, document, sentence) in expectations {
        let hits = search(&app, &acme, query).await;
        let best = hits.first().unwrap_or_else(|| panic!("nothing found for {query}"));
        assert_eq!(best["documentId"], ids[document].as_str(), "{query}: {hits:?}");
        assert!(best["content"].as_str().unwrap().contains(sentence), "{query}: {best}");
        assert!(best["score"].as_f64().unwrap() > 0.0);
    }
    let pdf_chunks: Value = app
        .get(&format!("/api/v1/documents/{}/chunks", ids[0]))
        .bearer_auth(&acme)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pages: Vec<i64> =
        pdf_chunks["data"].as_array().unwrap().iter().filter_map(|c| c["metadata"]["page"].as_i64()).collect();
    assert!(pages.contains(&2), "page numbers kept: {pdf_chunks}");
    // another tenant, the best match for its own question, sees nothing of acme's
    assert!(search(&app, &globex, "warranty of the XR-200 router").await.is_empty());
    let foreign = app.get(&format!("/api/v1/documents/{}", ids[0])).bearer_auth(&globex).send().await.unwrap();
    assert_envelope(foreign, 404, "DOCUMENT_NOT_FOUND").await;
    worker.stop().await;
}

#[tokio::test]
async fn uploads_are_judged_by_their_bytes_and_rejected_ones_store_nothing() {
    let app = spawn_app_with(|config, _| config.knowledge.max_document_bytes = 2_000).await;
    let (seeded, owner) = seeded_tenant(&app, "acme").await;
    let exe = [b"MZ\x90\x00\x03\x00\x00\x00".as_slice(), &[0u8; 64]].concat();
    let res = upload_file(&app, &owner, "readme.txt", "text/plain", exe).await;
    let body = assert_envelope(res, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    assert!(body["error"]["details"]["accepted"].is_array());
    let pdf = build::pdf(&[vec!["hello".into()]]);
    let res = upload_file(&app, &owner, "notes.txt", "text/plain", pdf).await;
    assert_envelope(res, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    let res = upload_text(&app, &owner, "big.txt", &"word ".repeat(1_000)).await;
    assert_envelope(res, 413, "PAYLOAD_TOO_LARGE").await;
    let res = upload_file(&app, &owner, "big.txt", "text/plain", "word ".repeat(1_000).into_bytes()).await;
    assert_envelope(res, 413, "PAYLOAD_TOO_LARGE").await;
    let res = app.post("/api/v1/documents").bearer_auth(&owner).body("plain").send().await.unwrap();
    assert_envelope(res, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    let mut conn = meta_chat_database::testkit::seed::connect(&app.db.owner_url()).await;
    let count = "SELECT count(*)::text AS value FROM documents";
    assert_eq!(meta_chat_database::testkit::seed::texts(&mut conn, count).await, ["0"]);

    let first = upload_text(&app, &owner, "a.txt", "Opening hours are 9 to 5.").await;
    assert_eq!(first.status(), 202);
    let id = first.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let again = upload_text(&app, &owner, "b.txt", "Opening hours are 9 to 5.").await;
    let body = assert_envelope(again, 409, "CONFLICT").await;
    assert_eq!(body["error"]["details"]["field"], "content");
    // status is never client-settable
    let res = app
        .http
        .patch(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&owner)
        .json(&json!({ "status": "ready" }))
        .send()
        .await
        .unwrap();
    assert_envelope(res, 400, "VALIDATION_ERROR").await;
    let renamed: Value = app
        .http
        .patch(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&owner)
        .json(&json!({ "filename": "hours.txt", "metadata": { "team": "support" } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((renamed["filename"].as_str(), renamed["status"].as_str()), (Some("hours.txt"), Some("pending")));
    assert_eq!(meta_chat_database::testkit::seed::texts(&mut conn, count).await, ["1"]);
    let events = format!(
        "SELECT count(*)::text AS value FROM outbox_events WHERE tenant_id = '{}' AND event_type = 'document.uploaded'",
        seeded.tenant
    );
    assert_eq!(meta_chat_database::testkit::seed::texts(&mut conn, &events).await, ["1"]);
}

#[tokio::test]
async fn a_document_fails_with_its_reason_while_embeddings_fail_and_reprocessing_recovers_it() {
    let embeddings = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/embeddings"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&embeddings)
        .await;
    let uri = embeddings.uri();
    let app = spawn_app_with(move |config, _| {
        fast_worker(config);
        config.llm.embedding.provider = EmbeddingProvider::OpenaiCompatible;
        config.llm.embedding.base_url = uri;
        config.llm.embedding.model = "fake-embed-8".into();
        config.llm.embedding.dimensions = 8;
        config.llm.retry.max_attempts = 2;
        config.llm.retry.base_delay_ms = 10;
    })
    .await;
    let (seeded, owner) = seeded_tenant(&app, "acme").await;
    let mut conn = meta_chat_database::testkit::seed::connect(&app.db.owner_url()).await;
    meta_chat_database::embedding_models::register(&mut conn, "fake-embed-8", "openai_compatible", 8).await.unwrap();
    let use_model = format!("UPDATE tenants SET embedding_model = 'fake-embed-8' WHERE id = '{}'", seeded.tenant);
    meta_chat_database::testkit::seed::exec(&mut conn, &use_model).await;
    let worker = Worker::start(&app.config, Arc::new(LocalProvider));

    let res =
        upload_text(&app, &owner, "faq.md", "# Shipping\n\nShipping takes two days.\n\n# Returns\n\nReturns are free.")
            .await;
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let failed = settled(&app, &owner, &id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["statusReason"].as_str().unwrap().contains("embedding service"), "{failed}");

    embeddings.reset().await;
    Mock::given(method("POST"))
        .and(path("/embeddings"))
        .respond_with(|request: &wiremock::Request| {
            let body: Value = request.body_json().unwrap();
            let n = body["input"].as_array().map_or(1, Vec::len);
            let data: Vec<Value> = (0..n)
                .map(|i| json!({ "object": "embedding", "index": i, "embedding": [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5] }))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({
                "object": "list", "data": data, "model": "fake-embed-8", "usage": { "prompt_tokens": 1, "total_tokens": 1 }
            }))
        })
        .mount(&embeddings)
        .await;
    for _ in 0..2 {
        let res = app.post(&format!("/api/v1/documents/{id}/reprocess")).bearer_auth(&owner).send().await.unwrap();
        assert_eq!(res.status(), 202);
        let ready = settled(&app, &owner, &id).await;
        assert_eq!(ready["status"], "ready", "{ready}");
        assert_eq!(ready["statusReason"], Value::Null);
    }
    let chunks =
        meta_chat_database::testkit::seed::texts(&mut conn, "SELECT count(*)::text AS value FROM chunks").await;
    let vectors = meta_chat_database::testkit::seed::texts(
        &mut conn,
        "SELECT count(*)::text AS value FROM chunk_embeddings WHERE model = 'fake-embed-8'",
    )
    .await;
    assert_eq!(chunks, vectors, "one vector per chunk, no duplicates after reprocessing twice");
    assert_ne!(chunks, ["0"]);
    worker.stop().await;
}
