//! Spawning the application for a test, and assertions shared by the test modules.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use meta_chat_api::{ApiError, Application, StopHandle};
use meta_chat_database::testkit::TestDb;
use meta_chat_shared::config::{Config, Secret};
use meta_chat_shared::mail::{CapturingMailer, Email};
use meta_chat_shared::telemetry;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A running application. Fields drop in order: the server is asked to stop first, the database last.
pub struct TestApp {
    pub base_url: String,
    pub metrics_url: String,
    pub http: reqwest::Client,
    pub config: Config,
    /// Every email the application sent.
    pub mailer: CapturingMailer,
    stop: StopHandle,
    pub db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // the stop command is sent right away; nobody needs to wait for it
        drop(self.stop.stop(false));
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path))
    }

    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The newest email to `to` whose subject contains `subject`, waiting up to 5 s for it (mail is sent in
    /// the background).
    pub async fn email_to(&self, to: &str, subject: &str) -> Email {
        for _ in 0..250 {
            if let Some(email) =
                self.mailer.sent().into_iter().rev().find(|e| e.to == to && e.subject.contains(subject))
            {
                return email;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no email to {to} with subject containing {subject:?}");
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_, _| {}).await
}

/// Spawns the application with `Config::for_tests()`, a fresh database and the test-only routes, after
/// letting `customize` change the configuration.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Config, &TestDb)) -> TestApp {
    let (app, test_app) = build_app_with(customize);
    tokio::spawn(app.run_until_stopped());
    test_app
}

/// Builds without running: for tests that drive `run_until_stopped` themselves.
pub fn build_app_with(customize: impl FnOnce(&mut Config, &TestDb)) -> (Application, TestApp) {
    telemetry::init_for_tests();
    let db = TestDb::new();
    let mut config = Config::for_tests();
    config.database.url = Secret::new(db.app_url());
    config.database.admin_url = Secret::new(db.owner_url());
    if let Ok(url) = std::env::var("METACHAT_AMQP__URL") {
        config.amqp.url = Secret::new(url);
    }
    // each test app publishes to its own exchanges, never to another test's consumers
    config.amqp.prefix = format!("test-{}", uuid::Uuid::now_v7().simple());
    // cheap classic queues the broker deletes once the test is over (creating and deleting hundreds of quorum
    // queues per run slows the broker down for every test; crates/events tests cover the quorum topology)
    config.amqp.queue_expires_ms = 120_000;
    config.amqp.queue_type = meta_chat_shared::config::QueueType::Classic;
    // seeded tenants are on the free plan, which allows one channel, two users and 1,000 API calls: the
    // tests of other features must not trip over them (tests/api/quota.rs sets its own limits)
    let free = &mut config.billing.plans.free.limits;
    (free.channels, free.team_members, free.api_calls) = (None, None, None);
    customize(&mut config, &db);
    let mailer = CapturingMailer::new();
    let app = Application::build_with_mailer(config.clone(), Arc::new(mailer.clone()), test_routes)
        .expect("build the application");
    let test_app = TestApp {
        base_url: format!("http://127.0.0.1:{}", app.port()),
        metrics_url: format!("http://127.0.0.1:{}", app.metrics_port().expect("metrics are enabled in tests")),
        http: reqwest::Client::builder()
            // every endpoint must answer well within this, even with dependencies hanging
            .timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        config,
        mailer,
        stop: app.stop_handle(),
        db,
    };
    (app, test_app)
}

// ---- test-only routes, mounted under /api/v1/test through Application::build_with ----
// No production route reads JSON, a query or a path parameter yet; these exercise the extractor
// configuration that every future route will share.

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Echo {
    message: String,
}

#[derive(Debug, Deserialize)]
struct Page {
    limit: u32,
}

async fn echo(body: web::Json<Echo>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

async fn page(query: web::Query<Page>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "limit": query.limit }))
}

async fn item(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "id": id.into_inner() }))
}

async fn boom() -> Result<HttpResponse, ApiError> {
    Err(anyhow::anyhow!("SELECT password FROM users: relation does not exist").into())
}

async fn raw_error() -> HttpResponse {
    HttpResponse::BadGateway().content_type("text/plain").body("upstream stack trace: secret-token-123")
}

fn test_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/test/echo").route(web::post().to(echo)))
        .service(web::resource("/test/page").route(web::get().to(page)))
        .service(web::resource("/test/items/{id}").route(web::get().to(item)))
        .service(web::resource("/test/boom").route(web::get().to(boom)))
        .service(web::resource("/test/raw-error").route(web::get().to(raw_error)));
}

// ---- assertions ----

/// Asserts `res` is an error envelope with `status` and `code` whose requestId is the `X-Request-Id`
/// header, and returns the body.
pub async fn assert_envelope(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status of {}", res.url());
    let content_type = res.headers().get("content-type").expect("content-type").to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/json"), "content-type {content_type}");
    let request_id = res.headers().get("x-request-id").expect("x-request-id header").to_str().unwrap().to_owned();
    let body: Value = res.json().await.expect("a JSON body");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(error["details"].is_object(), "{body}");
    assert_eq!(error["requestId"], request_id.as_str(), "{body}");
    let timestamp = error["timestamp"].as_str().expect("timestamp");
    assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(), "timestamp {timestamp}");
    assert!(timestamp.ends_with('Z'), "timestamp {timestamp} is not UTC");
    assert_eq!(body.as_object().unwrap().len(), 1, "only `error` at the top level: {body}");
    body
}

/// The value of header `name`, which must be present.
pub fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).unwrap_or_else(|| panic!("{name} missing on {}", res.url())).to_str().unwrap().to_owned()
}

/// `postgres://user@host:port/db` → `host:port`.
pub fn host_port(url: &str) -> String {
    let authority = url.split_once("://").unwrap().1.split('/').next().unwrap();
    authority.rsplit_once('@').map_or(authority, |(_, host)| host).to_owned()
}

/// `url` with its `host:port` replaced.
pub fn with_host_port(url: &str, new_host_port: &str) -> String {
    url.replacen(&host_port(url), new_host_port, 1)
}

/// A local port nothing listens on (bound by the OS, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The test cluster's URL (`TEST_DATABASE_URL`), whose `host:port` the per-test databases share.
pub fn postgres_url() -> String {
    meta_chat_database::testkit::admin_url()
}
