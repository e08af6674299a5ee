//! Hybrid retrieval on a small crafted corpus, through `POST /search` with the built-in local embedder: a
//! product-code query and a reworded query are both answered by the fused search, while keyword search alone
//! (set through the tenant's `rag` weights) misses the rewording.

use std::sync::Arc;

use meta_chat_llm::LocalProvider;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_keys::seeded_tenant;
use crate::documents::settled;
use crate::helpers::spawn_app_with;
use crate::pipeline::Worker;
use crate::tenant::send;

const CORPUS: [&str; 5] = [
    "The XR-200 ships with a wall mount and four gigabit ports.",
    "The XR-201 ships with a desk stand and two gigabit ports.",
    "The XR-210 ships with a wall mount and eight gigabit ports.",
    "Refunds are paid to the original card within five working days of receiving returned items.",
    "Our support line answers calls on weekdays between nine and five.",
];

/// `POST /search` with a minimum score of 0.25: the local embedder's similarities are modest.
async fn search(app: &crate::helpers::TestApp, token: &str, query: &str) -> Vec<Value> {
    let body = json!({ "query": query, "minScore": 0.25 });
    let res = app.post("/api/v1/search").bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["data"].as_array().unwrap().clone()
}

fn best(hits: &[Value]) -> Option<&str> {
    hits.first().and_then(|hit| hit["content"].as_str())
}

#[tokio::test]
async fn fused_search_answers_codes_and_rewordings_where_keywords_alone_miss_one() {
    let app = spawn_app_with(|config, _| {
        config.amqp.sweep_interval_ms = 200;
        config.amqp.sweep_after_ms = 300;
    })
    .await;
    let worker = Worker::start(&app.config, Arc::new(LocalProvider));
    let (_, owner) = seeded_tenant(&app, "acme").await;
    for (i, text) in CORPUS.iter().enumerate() {
        let body = json!({ "filename": format!("doc{i}.txt"), "content": text });
        let res = app.post("/api/v1/documents").bearer_auth(&owner).json(&body).send().await.unwrap();
        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(settled(&app, &owner, &id).await["status"], "ready");
    }
    let code = "XR-200";
    let reworded = "returning an item for a refund";
    let set_weights = |vector: f64, keyword: f64| {
        send(
            &app,
            Method::PATCH,
            "/tenant",
            &owner,
            Some(json!({ "rag": { "vectorWeight": vector, "keywordWeight": keyword } })),
        )
    };

    // hybrid: both right
    assert_eq!(best(&search(&app, &owner, code).await), Some(CORPUS[0]));
    assert_eq!(best(&search(&app, &owner, reworded).await), Some(CORPUS[3]));

    // keyword only: none of "returning", "item", "refund" is a word the document uses ("returned items",
    // "Refunds"), so the rewording finds nothing
    assert_eq!(set_weights(0.0, 1.0).await.status(), 200);
    assert_eq!(best(&search(&app, &owner, code).await), Some(CORPUS[0]));
    assert_ne!(best(&search(&app, &owner, reworded).await), Some(CORPUS[3]));

    // vector only: the rewording is found (word stems and character n-grams), and so is the code
    assert_eq!(set_weights(1.0, 0.0).await.status(), 200);
    assert_eq!(best(&search(&app, &owner, reworded).await), Some(CORPUS[3]));
    assert_eq!(best(&search(&app, &owner, code).await), Some(CORPUS[0]));
    worker.stop().await;
}
