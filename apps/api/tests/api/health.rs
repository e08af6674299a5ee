//! `/health`, `/health/live`, `/health/ready`, against real and deliberately broken dependencies.

use serde_json::{Value, json};

use crate::helpers::{assert_envelope, closed_port, host_port, spawn_app, spawn_app_with, with_host_port};
use meta_chat_database::testkit::tcp_proxy::TcpProxy;
use meta_chat_shared::config::Secret;

#[tokio::test]
async fn live_answers_at_the_root_and_under_v1() {
    let app = spawn_app().await;
    for path in ["/health/live", "/api/v1/health/live"] {
        let res = app.get(path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.json::<Value>().await.unwrap(), json!({ "status": "ok" }));
    }
}

#[tokio::test]
async fn ready_and_summary_are_ok_when_postgres_and_rabbitmq_answer() {
    let app = spawn_app().await;
    for path in ["/health/ready", "/api/v1/health/ready", "/health", "/api/v1/health"] {
        let res = app.get(path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok", "{path}: {body}");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        for dependency in ["database", "rabbitmq"] {
            assert_eq!(body["checks"][dependency]["status"], "up", "{path}: {body}");
            assert!(body["checks"][dependency]["durationMs"].is_u64(), "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn ready_follows_postgres_going_away_and_coming_back_without_a_restart() {
    let mut proxy = TcpProxy::new(&host_port(&crate::helpers::postgres_url()));
    let proxy_addr = proxy.addr();
    let app =
        spawn_app_with(|config, db| config.database.url = Secret::new(with_host_port(&db.app_url(), &proxy_addr)))
            .await;

    // nothing listens on the proxy port yet
    let body = assert_envelope(app.get("/health/ready").send().await.unwrap(), 503, "SERVICE_UNAVAILABLE").await;
    assert_eq!(body["error"]["details"]["unavailable"], json!(["database"]), "{body}");
    assert_eq!(body["error"]["details"]["checks"]["rabbitmq"]["status"], "up", "{body}");
    let summary: Value = app.get("/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(summary["status"], "degraded", "{summary}");
    assert_eq!(summary["checks"]["database"]["status"], "down", "{summary}");

    proxy.start().await;
    let res = app.get("/health/ready").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // connections through the proxy are cut and the port refuses new ones
    proxy.stop().await;
    let body = assert_envelope(app.get("/health/ready").send().await.unwrap(), 503, "SERVICE_UNAVAILABLE").await;
    assert_eq!(body["error"]["details"]["unavailable"], json!(["database"]), "{body}");

    proxy.start().await;
    let res = app.get("/api/v1/health/ready").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn ready_is_unavailable_when_rabbitmq_is_on_a_closed_port() {
    let port = closed_port();
    let app = spawn_app_with(|config, _| {
        config.amqp.url = Secret::new(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"));
    })
    .await;
    let body = assert_envelope(app.get("/health/ready").send().await.unwrap(), 503, "SERVICE_UNAVAILABLE").await;
    assert_eq!(body["error"]["details"]["unavailable"], json!(["rabbitmq"]), "{body}");
    assert_eq!(body["error"]["details"]["checks"]["database"]["status"], "up", "{body}");
    // the driver's reason is logged, not returned
    assert!(!body.to_string().contains("refused"), "{body}");
}

#[tokio::test]
async fn ready_answers_within_the_timeout_when_dependencies_hang() {
    // both accept TCP connections and then never say a word
    let silent_pg = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_amqp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let pg_addr = silent_pg.local_addr().unwrap().to_string();
    let amqp_addr = silent_amqp.local_addr().unwrap();
    let app = spawn_app_with(|config, db| {
        config.database.url = Secret::new(with_host_port(&db.app_url(), &pg_addr));
        config.amqp.url = Secret::new(format!("amqp://guest:guest@{amqp_addr}/%2f"));
        config.health.check_timeout_ms = 500;
    })
    .await;
    // the client gives up after 15 s; the answer must come from the check timeout, long before that
    let res = app.get("/health/ready").send().await.expect("ready answers despite hanging dependencies");
    let body = assert_envelope(res, 503, "SERVICE_UNAVAILABLE").await;
    assert_eq!(body["error"]["details"]["unavailable"], json!(["database", "rabbitmq"]), "{body}");
    let res = app.get("/health/live").send().await.unwrap();
    assert_eq!(res.status(), 200, "liveness does not touch dependencies");
    drop((silent_pg, silent_amqp));
}
