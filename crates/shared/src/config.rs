//! Typed configuration, loaded in layers: built-in defaults, then an optional TOML file, then `METACHAT_*`
//! environment variables (`__` separates levels: `METACHAT_HTTP__PORT=8080`). [`Config::load`] validates the
//! result and names the offending key in its error, so a bad deployment stops at start-up, not at first use.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

mod billing;
mod knowledge;
mod llm;
mod validate;
mod webhooks;

pub use billing::{BillingConfig, PlanConfig, PlanLimits, PlansConfig, StripeConfig};
pub use knowledge::KnowledgeConfig;
pub use llm::{CircuitBreakerConfig, EmbeddingProvider, EmbeddingSettings, LlmConfig, LlmRetryConfig, ModelPrice};
pub use webhooks::WebhooksConfig;

/// The environment variable that names an explicit configuration file (it must exist when set).
pub const CONFIG_FILE_VAR: &str = "METACHAT_CONFIG_FILE";
/// The file read when [`CONFIG_FILE_VAR`] is not set, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "metachat.toml";

/// Development-only key, valid in `local` and `test` environments; production refuses to start with it.
pub(crate) const DEV_SECRET_KEY: &str = "bWV0YS1jaGF0LWRldi1vbmx5LWtleS0zMi1ieXRlcyE=";
/// Development-only JWT signing key, valid in `local` and `test` environments; production refuses it.
pub(crate) const DEV_JWT_KEY: &str = "bWV0YS1jaGF0LWRldi1vbmx5LWp3dC1zaWduaW5nLWtleS0zMmIh";

/// A configuration error that names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read, has the wrong type, or is an unknown key.
    #[error("configuration key `{key}`: {message}{}", source_name.as_ref().map(|s| format!(" (from {s})")).unwrap_or_default())]
    Load {
        /// Dotted key path, lower case, e.g. `http.port`; empty when the error concerns the whole document.
        key: String,
        /// What is wrong with it.
        message: String,
        /// Which layer supplied the value (a file name or the environment), when known.
        source_name: Option<String>,
    },
    /// A value was read but is not acceptable.
    #[error("configuration key `{key}`: {message}")]
    Invalid {
        /// Dotted key path, e.g. `http.port`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(key: &str, message: impl Into<String>) -> Self {
        Self::Invalid { key: key.to_owned(), message: message.into() }
    }
}

/// A secret value: its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where the process runs; decides log format and which development conveniences are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer machine: pretty logs, development keys allowed.
    Local,
    /// Automated tests.
    Test,
    /// A real deployment: JSON logs, real keys required.
    Production,
}

/// The whole platform's configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the process runs.
    pub environment: Environment,
    /// The public HTTP server.
    pub http: HttpConfig,
    /// The internal Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// PostgreSQL.
    pub database: DatabaseConfig,
    /// RabbitMQ.
    pub amqp: AmqpConfig,
    /// Logs.
    pub telemetry: TelemetryConfig,
    /// Keys for the secret envelope.
    pub secrets: SecretsConfig,
    /// Partition maintenance.
    pub partitions: PartitionsConfig,
    /// Readiness checks.
    pub health: HealthConfig,
    /// Request rate limits.
    pub rate_limit: RateLimitConfig,
    /// The worker's scheduled jobs.
    pub scheduler: SchedulerConfig,
    /// Sign-in: token keys, lifetimes and login back-off.
    pub auth: AuthConfig,
    /// Outgoing email.
    pub mail: MailConfig,
    /// Meta (WhatsApp Cloud API, Messenger): the Graph API and the platform's own Meta app.
    pub meta: MetaConfig,
    /// Tenant outbound webhooks: the SSRF guard's allowlist, timeouts, retries and auto-disable.
    pub webhooks: WebhooksConfig,
    /// Plans: limits and prices.
    pub billing: BillingConfig,
    /// Model providers: timeouts, retries, circuit breaker, prices, embeddings.
    #[serde(default)]
    pub llm: LlmConfig,
    /// Documents, ingestion and retrieval.
    #[serde(default)]
    pub knowledge: KnowledgeConfig,
}

/// Meta: the Graph API endpoint, send pacing, inbound media, and the platform-level Meta app whose webhooks
/// (`/integrations/whatsapp`, `/integrations/messenger`) are routed by phone number id / page id. Tenants'
/// own apps are configured per channel instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaConfig {
    /// Graph API base URL (tests point it at a local fake).
    pub graph_base_url: String,
    /// Graph API version, e.g. `v23.0`.
    pub graph_api_version: String,
    /// The platform app's secret (`X-Hub-Signature-256` key); empty: the platform-level routes answer 404.
    pub app_secret: Secret,
    /// The platform app's webhook verification token; empty: the handshake is refused.
    pub verify_token: Secret,
    /// Messages per second sent through one WhatsApp number or Messenger page.
    pub sends_per_second: u32,
    /// Largest inbound media file downloaded, in bytes.
    pub media_max_bytes: u64,
}

/// The public HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Bind address.
    pub host: String,
    /// Bind port (0 lets the OS pick one; tests use that).
    pub port: u16,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest JSON body accepted, in bytes.
    pub json_limit_bytes: usize,
    /// Largest other body accepted (uploads), in bytes.
    pub payload_limit_bytes: usize,
    /// Seconds given to in-flight requests on shutdown.
    pub shutdown_timeout_secs: u64,
    /// Browser origins allowed by CORS on the authenticated API; empty allows none.
    pub cors_allowed_origins: Vec<String>,
    /// RFC 7231 date announced in the `Sunset` header of the legacy `/api/...` paths.
    pub legacy_sunset: String,
    /// Public base URL of the API, used in links (webhook URLs, docs).
    pub public_base_url: String,
}

/// The internal Prometheus endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Whether to serve `/metrics`.
    pub enabled: bool,
    /// Bind address (keep it internal).
    pub host: String,
    /// Bind port (0 lets the OS pick one).
    pub port: u16,
}

/// PostgreSQL connection settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// URL of the application role (not the owner: row-level security applies to it).
    pub url: Secret,
    /// URL of the owner role, used only for migrations and maintenance (partitions, integrity checks).
    pub admin_url: Secret,
    /// Pool size.
    pub max_connections: usize,
    /// `statement_timeout` set on every pooled connection, in milliseconds.
    pub statement_timeout_ms: u64,
    /// How long to wait for a new connection or a pooled one, in milliseconds.
    pub connect_timeout_ms: u64,
}

/// RabbitMQ connection settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpConfig {
    /// `amqp://` URL including the vhost.
    pub url: Secret,
    /// Prefix of every exchange and queue name (`<prefix>.events`, `<prefix>.<consumer>`, ...), so several
    /// deployments or test runs can share one broker.
    pub prefix: String,
    /// Unacknowledged deliveries a consumer holds at once.
    pub prefetch: u16,
    /// Delays before the 1st, 2nd, ... retry of a failed delivery, in milliseconds; after the last one the
    /// delivery is parked. Growing delays give a failing dependency time to recover.
    pub retry_delays_ms: Vec<u64>,
    /// How often the outbox sweeper looks for events the relay did not publish, in milliseconds.
    pub sweep_interval_ms: u64,
    /// Age after which an unpublished outbox event is republished by the sweeper, in milliseconds.
    pub sweep_after_ms: u64,
    /// The broker deletes a queue nobody has used for this long (`x-expires`), in milliseconds; 0: never.
    /// Only for throw-away prefixes (tests, previews): production keeps it 0.
    pub queue_expires_ms: u64,
    /// `quorum` (replicated, delivery limit, at-least-once dead-lettering: production) or `classic` (cheap to
    /// create and delete: throw-away test prefixes).
    pub queue_type: QueueType,
}

/// RabbitMQ queue type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueType {
    /// Replicated Raft queues.
    Quorum,
    /// Single-node queues.
    Classic,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty for `local`, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// Logs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Output format.
    pub log_format: LogFormat,
    /// `EnvFilter` directives; `RUST_LOG` overrides.
    pub log_filter: String,
}

/// Keys for the AES-256-GCM secret envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Id of the key new secrets are encrypted with.
    pub current_key_id: String,
    /// Every known key by id: base64 of 32 random bytes. Old keys stay listed until re-encryption is done.
    pub keys: BTreeMap<String, Secret>,
}

/// Partition maintenance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionsConfig {
    /// Monthly partitions kept ready ahead of the current month.
    pub months_ahead: u32,
    /// `api_logs` partitions older than this many months are detached and dropped.
    pub api_logs_retention_months: u32,
}

/// Request rate limits (token buckets per process: with several API replicas each enforces its own).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per minute one client IP may make to the sign-in routes (`/auth/*`, `/admin/auth/*`).
    pub auth_per_ip_per_minute: u32,
    /// Requests per minute one tenant may make to the authenticated API (users and keys together).
    pub api_per_tenant_per_minute: u32,
    /// Requests per minute one API key may make.
    pub api_per_key_per_minute: u32,
    /// Webhook deliveries per minute accepted for one channel (Meta retries what is refused).
    pub webhook_per_channel_per_minute: u32,
}

/// Readiness checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Time allowed to each dependency check, in milliseconds.
    pub check_timeout_ms: u64,
}

/// The worker's scheduled jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Seconds between partition maintenance runs.
    pub partitions_interval_secs: u64,
    /// Seconds between integrity checks.
    pub integrity_interval_secs: u64,
}

/// Sign-in: JWT keys, token lifetimes and the per-account login back-off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `iss` of every token the platform issues, and the only issuer it accepts.
    pub issuer: String,
    /// Id of the key new access tokens are signed with (the `kid` header).
    pub jwt_current_key_id: String,
    /// Every known HS256 key by id: base64 of at least 32 random bytes. Keep a retired key listed for one
    /// access-token lifetime after rotating, so tokens it signed stay valid until they expire.
    pub jwt_keys: BTreeMap<String, Secret>,
    /// Lifetime of an access token (JWT), in seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh session, in seconds.
    pub refresh_token_ttl_secs: u64,
    /// Lifetime of an email verification token, in seconds.
    pub verification_token_ttl_secs: u64,
    /// Lifetime of a password reset token, in seconds.
    pub reset_token_ttl_secs: u64,
    /// Consecutive failed logins that lock the account.
    pub login_lockout_threshold: u32,
    /// The first lock, in seconds; each further failure doubles it.
    pub login_lockout_base_secs: u64,
    /// Upper bound of one lock, in seconds.
    pub login_lockout_max_secs: u64,
}

/// How outgoing email is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// An SMTP relay (`mail.smtp_url`).
    Smtp,
    /// One JSON file per message in `mail.file_dir` (development).
    File,
}

/// Outgoing email.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// How messages are delivered.
    pub transport: MailTransport,
    /// SMTP relay: `smtps://user:password@host:465` (implicit TLS), `smtp://user:password@host:587?tls=required`
    /// (STARTTLS) or `smtp://host:25` (plain, local relays only).
    pub smtp_url: Secret,
    /// Time allowed to one SMTP delivery, in seconds.
    pub smtp_timeout_secs: u64,
    /// The `From` mailbox, e.g. `Meta Chat <no-reply@example.com>`.
    pub from: String,
    /// Directory the `file` transport writes to.
    pub file_dir: String,
    /// Base URL of the links in emails (the web app); the token follows as a query parameter.
    pub link_base_url: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            environment: Environment::Local,
            http: HttpConfig {
                host: "127.0.0.1".into(),
                port: 3007,
                workers: 0,
                json_limit_bytes: 1024 * 1024,
                payload_limit_bytes: 25 * 1024 * 1024,
                shutdown_timeout_secs: 30,
                cors_allowed_origins: Vec::new(),
                legacy_sunset: "Wed, 30 Jun 2027 00:00:00 GMT".into(),
                public_base_url: "http://127.0.0.1:3007".into(),
            },
            metrics: MetricsConfig { enabled: true, host: "127.0.0.1".into(), port: 9464 },
            database: DatabaseConfig {
                url: Secret::new("postgres://metachat_app@127.0.0.1:5433/metachat"),
                admin_url: Secret::new("postgres://metachat_owner@127.0.0.1:5433/metachat"),
                max_connections: 16,
                statement_timeout_ms: 30_000,
                connect_timeout_ms: 5_000,
            },
            amqp: AmqpConfig {
                url: Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f"),
                prefix: "metachat".into(),
                prefetch: 16,
                retry_delays_ms: vec![1_000, 5_000, 30_000, 120_000, 600_000],
                sweep_interval_ms: 5_000,
                sweep_after_ms: 10_000,
                queue_expires_ms: 0,
                queue_type: QueueType::Quorum,
            },
            telemetry: TelemetryConfig { log_format: LogFormat::Auto, log_filter: "info".into() },
            secrets: SecretsConfig {
                current_key_id: "dev".into(),
                keys: BTreeMap::from([("dev".to_owned(), Secret::new(DEV_SECRET_KEY))]),
            },
            partitions: PartitionsConfig { months_ahead: 3, api_logs_retention_months: 6 },
            health: HealthConfig { check_timeout_ms: 2_000 },
            rate_limit: RateLimitConfig {
                auth_per_ip_per_minute: 30,
                api_per_tenant_per_minute: 1_200,
                api_per_key_per_minute: 600,
                webhook_per_channel_per_minute: 6_000,
            },
            scheduler: SchedulerConfig { partitions_interval_secs: 86_400, integrity_interval_secs: 86_400 },
            auth: AuthConfig {
                issuer: "meta-chat".into(),
                jwt_current_key_id: "dev".into(),
                jwt_keys: BTreeMap::from([("dev".to_owned(), Secret::new(DEV_JWT_KEY))]),
                access_token_ttl_secs: 15 * 60,
                refresh_token_ttl_secs: 30 * 86_400,
                verification_token_ttl_secs: 48 * 3_600,
                reset_token_ttl_secs: 3_600,
                login_lockout_threshold: 5,
                login_lockout_base_secs: 30,
                login_lockout_max_secs: 15 * 60,
            },
            mail: MailConfig {
                transport: MailTransport::File,
                smtp_url: Secret::new("smtp://127.0.0.1:25"),
                smtp_timeout_secs: 10,
                from: "Meta Chat <no-reply@localhost>".into(),
                file_dir: ".local/mail".into(),
                link_base_url: "http://127.0.0.1:3007".into(),
            },
            meta: MetaConfig {
                graph_base_url: "https://graph.facebook.com".into(),
                graph_api_version: "v23.0".into(),
                app_secret: Secret::new(""),
                verify_token: Secret::new(""),
                sends_per_second: 80,
                media_max_bytes: 16 * 1024 * 1024,
            },
            webhooks: WebhooksConfig::default(),
            billing: BillingConfig::default(),
            llm: LlmConfig::default(),
            knowledge: KnowledgeConfig::default(),
        }
    }
}

impl Config {
    /// Loads defaults, then the optional file ([`CONFIG_FILE_VAR`] or `./metachat.toml`), then `METACHAT_*`
    /// variables, and validates the result.
    pub fn load() -> Result<Self, ConfigError> {
        let file = match std::env::var_os(CONFIG_FILE_VAR) {
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(ConfigError::invalid(
                        CONFIG_FILE_VAR,
                        format!("file {} does not exist", path.display()),
                    ));
                }
                Some(path)
            }
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        Self::from_figment(&Self::figment(file.as_deref()))
    }

    /// The layered sources, before extraction; exposed so tests can add their own layer.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Every setting but `environment` is nested (`METACHAT_HTTP__PORT`), so a variable without `__` is
        // not configuration: scripts use `METACHAT_CONFIG_FILE`, `METACHAT_PG_BIN`, `METACHAT_PG_PORT`, ...
        let env = Env::prefixed("METACHAT_").filter(|key| key.as_str().contains("__") || key == "environment");
        figment.merge(env.split("__"))
    }

    /// Extracts and validates a configuration from `figment`.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let config: Self = figment.extract().map_err(|e| {
            let source_name = e.metadata.as_ref().map(|m| m.name.to_string());
            ConfigError::Load { key: e.path.join(".").to_lowercase(), message: e.kind.to_string(), source_name }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Defaults for tests: environment `test`, ports chosen by the OS, no files or environment read.
    pub fn for_tests() -> Self {
        let mut config = Self { environment: Environment::Test, ..Self::default() };
        config.http.port = 0;
        config.http.workers = 1;
        config.metrics.port = 0;
        config.health.check_timeout_ms = 1_000;
        config
    }
}

#[cfg(test)]
mod tests;
