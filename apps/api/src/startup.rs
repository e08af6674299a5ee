//! Building and running the application: binds the API listener and the internal metrics listener
//! (port 0 lets the OS choose; [`Application::port`] reads it back), assembles middleware and routes, and
//! runs until the server stops (SIGTERM/SIGINT are handled by actix: in-flight requests get
//! `http.shutdown_timeout_secs`).

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;
use actix_web::middleware::from_fn;
use actix_web::{App, Error, HttpServer, web};
use meta_chat_database::DbError;
use meta_chat_shared::auth::{JwtKeys, TokenError, password};
use meta_chat_shared::config::Config;
use meta_chat_shared::mail::{self, MailError, Mailer};
use meta_chat_shared::secrets::{Keyring, SecretError};

use crate::middleware::{cors, error_envelope, http_metrics, legacy_alias, rate_limit, request_id, security_headers};
use crate::routes::{self, API_V1};
use crate::state::AppState;
use crate::{payload, prometheus};

/// `application_name` of the API's database connections.
const APPLICATION_NAME: &str = "meta-chat-api";
/// `application_name` of the platform-admin pool (owner role), so its sessions stand out in `pg_stat_activity`.
const ADMIN_APPLICATION_NAME: &str = "meta-chat-api-admin";

/// Extra routes mounted under `/api/v1` (see [`Application::build_with`]).
type ExtraRoutes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// What can stop the application from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The model provider clients could not be built.
    #[error("model providers: {0}")]
    Llm(meta_chat_llm::LlmError),
    /// A listener could not be bound (port in use, bad host).
    #[error("cannot listen on {addr} ({key}): {source}")]
    Bind {
        /// The configuration key of the address.
        key: &'static str,
        /// The address tried.
        addr: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The database pool could not be configured (a bad `database.url`).
    #[error("database pool: {0}")]
    Database(#[from] DbError),
    /// The `http.legacy_sunset` value cannot be sent as a header.
    #[error("http.legacy_sunset is not a valid header value")]
    Sunset,
    /// The JWT keys (`auth.jwt_keys`) are not usable.
    #[error("auth.jwt_keys: {0}")]
    Jwt(#[from] TokenError),
    /// The mailer (`mail.*`) could not be set up.
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    /// The secret keys (`secrets.*`) are not usable.
    #[error("secrets: {0}")]
    Secrets(#[from] SecretError),
    /// The Stripe client (`billing.stripe.*`) could not be built.
    #[error("billing.stripe: {0}")]
    Stripe(#[from] meta_chat_billing::StripeError),
}

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
}

/// Stops a running [`Application`] (both listeners).
#[derive(Clone)]
pub struct StopHandle {
    api: ServerHandle,
    metrics: Option<ServerHandle>,
}

impl StopHandle {
    /// Asks both servers to stop (`graceful`: let in-flight requests finish). The request is sent at once;
    /// the returned future completes when they have stopped.
    pub fn stop(&self, graceful: bool) -> impl Future<Output = ()> + use<> {
        let api = self.api.stop(graceful);
        let metrics = self.metrics.as_ref().map(|handle| handle.stop(graceful));
        async move {
            api.await;
            if let Some(metrics) = metrics {
                metrics.await;
            }
        }
    }
}

fn bind(key: &'static str, host: &str, port: u16) -> Result<TcpListener, StartupError> {
    let addr = format!("{host}:{port}");
    TcpListener::bind((host, port)).map_err(|source| StartupError::Bind { key, addr, source })
}

fn local_port(key: &'static str, listener: &TcpListener) -> Result<u16, StartupError> {
    listener.local_addr().map(|addr| addr.port()).map_err(|source| StartupError::Bind {
        key,
        addr: "the bound socket".into(),
        source,
    })
}

impl Application {
    /// Builds the application from `config`: binds the listeners and prepares the servers. Does not
    /// touch PostgreSQL or RabbitMQ (the pool connects lazily), so it starts while they are down.
    pub fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with(config, |_| {})
    }

    /// Like [`Application::build`], mounting `extra_v1_routes` under `/api/v1` after the built-in routes.
    /// Tests use it to exercise the JSON, query and path extractors before a real route takes them.
    pub fn build_with<F>(config: Config, extra_v1_routes: F) -> Result<Self, StartupError>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Sync + 'static,
    {
        let mailer = mail::from_config(&config.mail)?;
        Self::build_with_mailer(config, mailer, extra_v1_routes)
    }

    /// Like [`Application::build_with`], sending email through `mailer` instead of the one `mail.*`
    /// configures. Tests pass a [`mail::CapturingMailer`] and read verification and reset links from it.
    pub fn build_with_mailer<F>(
        config: Config,
        mailer: Arc<dyn Mailer>,
        extra_v1_routes: F,
    ) -> Result<Self, StartupError>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Sync + 'static,
    {
        let config = Arc::new(config);
        let db = meta_chat_database::pool::build(&config.database, APPLICATION_NAME)?;
        // the owner role, for the audited cross-tenant reads and writes of `/admin/*` only (crate::platform)
        let admin_db = meta_chat_database::pool::build_admin(&config.database, ADMIN_APPLICATION_NAME)?;
        let jwt = Arc::new(JwtKeys::from_config(&config.auth)?);
        let keyring = Arc::new(Keyring::from_config(&config.secrets)?);
        let stripe = meta_chat_billing::StripeClient::from_config(&config.billing.stripe)?;
        let llm = Arc::new(meta_chat_llm::Providers::new(&config.llm).map_err(StartupError::Llm)?);
        let embedders = meta_chat_rag::Embedders::from_config(&llm, &config.llm.embedding);
        let assistant = meta_chat_orchestrator::Assistant::new(
            Arc::clone(&llm),
            embedders.clone(),
            Arc::new(config.knowledge.clone()),
            Arc::clone(&keyring),
        );
        // the first login with an unknown email must not stand out by paying for the dummy hash
        std::thread::spawn(password::warm_up);
        let publisher = meta_chat_events::Publisher::new(
            config.amqp.url.expose(),
            "meta-chat-api",
            meta_chat_events::Topology::from_config(&config.amqp),
            std::time::Duration::from_secs(5),
        );
        let relay = meta_chat_events::Relay::new(Arc::new(publisher), db.clone());
        let chat = meta_chat_orchestrator::ChatService::new(
            db.clone(),
            relay.clone(),
            assistant,
            Arc::new(config.billing.clone()),
        );
        let state = web::Data::new(AppState {
            config: Arc::clone(&config),
            db,
            admin_db,
            jwt,
            mailer,
            limits: Arc::new(crate::rate_limit::RateLimits::from_config(&config)),
            relay,
            keyring,
            stripe,
            chat,
            llm,
            embedders,
        });
        let extra: ExtraRoutes = Arc::new(extra_v1_routes);
        let sunset = HeaderValue::from_str(&config.http.legacy_sunset).map_err(|_| StartupError::Sunset)?;

        let listener = bind("http.host/http.port", &config.http.host, config.http.port)?;
        let port = local_port("http.port", &listener)?;
        let (metrics_server, metrics_port) = if config.metrics.enabled {
            let listener = bind("metrics.host/metrics.port", &config.metrics.host, config.metrics.port)?;
            let port = local_port("metrics.port", &listener)?;
            let server = prometheus::server(listener, prometheus::handle(), config.http.shutdown_timeout_secs)
                .map_err(|source| StartupError::Bind { key: "metrics.port", addr: port.to_string(), source })?;
            (Some(server), Some(port))
        } else {
            (None, None)
        };

        let app_config = Arc::clone(&config);
        let mut server =
            HttpServer::new(move || build_app(&app_config, state.clone(), Arc::clone(&extra), sunset.clone()))
                .shutdown_timeout(config.http.shutdown_timeout_secs);
        if config.http.workers > 0 {
            server = server.workers(config.http.workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind { key: "http.port", addr: port.to_string(), source })?
            .run();
        Ok(Self { port, metrics_port, server, metrics_server })
    }

    /// The port the API listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the internal metrics listener; `None` when `metrics.enabled` is false.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// A handle that stops the application from elsewhere (tests; embedding processes).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle { api: self.server.handle(), metrics: self.metrics_server.as_ref().map(Server::handle) }
    }

    /// Serves until the API server stops (a signal or a [`StopHandle`]), then stops the metrics server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|server| (server.handle(), tokio::spawn(server)));
        let upkeep = metrics.as_ref().map(|_| {
            tokio::spawn(async {
                let handle = prometheus::handle();
                let mut interval = tokio::time::interval(prometheus::UPKEEP_INTERVAL);
                loop {
                    interval.tick().await;
                    handle.run_upkeep();
                }
            })
        });
        let result = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            if let Err(err) = task.await {
                tracing::warn!(error = %err, "metrics server task failed");
            }
        }
        if let Some(upkeep) = upkeep {
            upkeep.abort();
        }
        tracing::info!("server stopped");
        result
    }
}

/// One worker's `App`: extractor configuration, middleware (see [`crate::middleware`]) and routes.
fn build_app(
    config: &Config,
    state: web::Data<AppState>,
    extra_v1_routes: ExtraRoutes,
    sunset: HeaderValue,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody + use<>>,
        Error = Error,
        InitError = (),
    > + use<>,
> {
    let hsts = config.http.public_base_url.starts_with("https://");
    let v1 = web::scope(API_V1)
        .wrap(cors::policy(&config.http.cors_allowed_origins))
        .configure(routes::configure_v1)
        .configure(move |cfg| extra_v1_routes(cfg));
    App::new()
        .app_data(state)
        .app_data(payload::json_config(config.http.json_limit_bytes))
        .app_data(payload::payload_config(config.http.payload_limit_bytes))
        .app_data(payload::query_config())
        .app_data(payload::path_config())
        .service(v1)
        .configure(routes::configure_root)
        .default_service(web::to(routes::not_found))
        // `wrap` order: the last one registered runs first (outermost)
        .wrap(from_fn(rate_limit::sign_in_per_ip))
        .wrap(from_fn(error_envelope::error_envelope))
        .wrap(from_fn(move |req, next| security_headers::security_headers(hsts, req, next)))
        .wrap(from_fn(http_metrics::http_metrics))
        .wrap(from_fn(request_id::request_id))
        .wrap(from_fn(move |req, next| legacy_alias::legacy_alias(sunset.clone(), req, next)))
}
