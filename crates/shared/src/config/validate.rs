//! Semantic checks run after the layers are merged. Each failure names its dotted key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Config, ConfigError, DEV_JWT_KEY, DEV_SECRET_KEY, Environment, MailTransport};

fn require(ok: bool, key: &str, message: &str) -> Result<(), ConfigError> {
    if ok { Ok(()) } else { Err(ConfigError::invalid(key, message)) }
}

fn has_scheme(url: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|s| url.strip_prefix(s).is_some_and(|rest| rest.starts_with("://") && rest.len() > 3))
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Config {
    /// Checks every value that types alone cannot; the error names the first bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_http()?;
        self.validate_connections()?;
        self.validate_secrets()?;
        self.validate_auth()?;
        self.validate_mail()?;
        self.validate_webhooks()?;
        self.validate_billing()?;
        self.llm.validate()?;
        self.knowledge.validate()?;
        self.validate_jobs()
    }

    fn validate_http(&self) -> Result<(), ConfigError> {
        let http = &self.http;
        require(!http.host.trim().is_empty(), "http.host", "must not be empty")?;
        require(http.json_limit_bytes > 0, "http.json_limit_bytes", "must be greater than 0")?;
        require(
            http.payload_limit_bytes >= http.json_limit_bytes,
            "http.payload_limit_bytes",
            "must be at least http.json_limit_bytes",
        )?;
        require(http.shutdown_timeout_secs <= 600, "http.shutdown_timeout_secs", "must be at most 600")?;
        for (i, origin) in http.cors_allowed_origins.iter().enumerate() {
            let ok = has_scheme(origin, &["http", "https"])
                && !origin.ends_with('/')
                && origin.split("://").nth(1).is_some_and(|host| !host.contains('/'));
            require(
                ok,
                &format!("http.cors_allowed_origins[{i}]"),
                "must be an origin like https://app.example.com (scheme and host, no path)",
            )?;
        }
        require(
            chrono::DateTime::parse_from_rfc2822(&http.legacy_sunset).is_ok(),
            "http.legacy_sunset",
            "must be an HTTP date such as `Wed, 30 Jun 2027 00:00:00 GMT`",
        )?;
        require(
            has_scheme(&http.public_base_url, &["http", "https"]),
            "http.public_base_url",
            "must be an http(s) URL",
        )?;
        require(!self.metrics.host.trim().is_empty(), "metrics.host", "must not be empty")
    }

    fn validate_connections(&self) -> Result<(), ConfigError> {
        let db = &self.database;
        let pg = ["postgres", "postgresql"];
        require(has_scheme(db.url.expose(), &pg), "database.url", "must be a postgres:// URL")?;
        require(has_scheme(db.admin_url.expose(), &pg), "database.admin_url", "must be a postgres:// URL")?;
        require((1..=1000).contains(&db.max_connections), "database.max_connections", "must be 1 to 1000")?;
        require(db.statement_timeout_ms >= 100, "database.statement_timeout_ms", "must be at least 100")?;
        require(db.connect_timeout_ms >= 100, "database.connect_timeout_ms", "must be at least 100")?;
        require(has_scheme(self.amqp.url.expose(), &["amqp", "amqps"]), "amqp.url", "must be an amqp:// URL")?;
        let prefix = &self.amqp.prefix;
        require(
            !prefix.is_empty()
                && prefix.len() <= 64
                && prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
            "amqp.prefix",
            "must be 1-64 letters, digits, '-', '_' or '.'",
        )?;
        require((1..=1000).contains(&self.amqp.prefetch), "amqp.prefetch", "must be between 1 and 1000")?;
        require(
            !self.amqp.retry_delays_ms.is_empty()
                && self.amqp.retry_delays_ms.len() <= 20
                && self.amqp.retry_delays_ms.iter().all(|ms| (1..=86_400_000).contains(ms)),
            "amqp.retry_delays_ms",
            "must list 1-20 delays between 1 ms and 24 h",
        )?;
        require(self.amqp.sweep_interval_ms >= 100, "amqp.sweep_interval_ms", "must be at least 100")?;
        require(self.amqp.sweep_after_ms >= 100, "amqp.sweep_after_ms", "must be at least 100")?;
        require(
            has_scheme(&self.meta.graph_base_url, &["http", "https"]),
            "meta.graph_base_url",
            "must be an http(s) URL",
        )?;
        let version = &self.meta.graph_api_version;
        require(
            version.len() <= 16
                && version.strip_prefix('v').is_some_and(|rest| {
                    rest.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                }),
            "meta.graph_api_version",
            "must look like v23.0",
        )?;
        require((1..=1000).contains(&self.meta.sends_per_second), "meta.sends_per_second", "must be 1 to 1000")?;
        require(
            (1024..=104_857_600).contains(&self.meta.media_max_bytes),
            "meta.media_max_bytes",
            "must be between 1 KiB and 100 MiB",
        )?;
        require(!self.telemetry.log_filter.trim().is_empty(), "telemetry.log_filter", "must not be empty")?;
        Ok(())
    }

    fn validate_stripe(&self) -> Result<(), ConfigError> {
        let billing = &self.billing;
        require(billing.past_due_grace_days <= 90, "billing.past_due_grace_days", "must be 0 to 90")?;
        let stripe = &billing.stripe;
        for (value, key) in [
            (&stripe.api_base_url, "billing.stripe.api_base_url"),
            (&stripe.checkout_success_url, "billing.stripe.checkout_success_url"),
            (&stripe.checkout_cancel_url, "billing.stripe.checkout_cancel_url"),
            (&stripe.portal_return_url, "billing.stripe.portal_return_url"),
        ] {
            require(has_scheme(value, &["http", "https"]), key, "must be an http(s) URL")?;
        }
        require((100..=120_000).contains(&stripe.timeout_ms), "billing.stripe.timeout_ms", "must be 100 to 120000")?;
        require(
            (1..=3_600).contains(&stripe.webhook_tolerance_secs),
            "billing.stripe.webhook_tolerance_secs",
            "must be 1 to 3600",
        )?;
        let key = stripe.secret_key.expose();
        require(
            key.is_empty() || ["sk_", "rk_"].iter().any(|prefix| key.starts_with(prefix)),
            "billing.stripe.secret_key",
            "must be a Stripe secret key (sk_… or rk_…) or empty",
        )?;
        let secret = stripe.webhook_secret.expose();
        require(
            secret.is_empty() || secret.starts_with("whsec_"),
            "billing.stripe.webhook_secret",
            "must be a webhook signing secret (whsec_…) or empty",
        )?;
        Ok(())
    }

    fn validate_jobs(&self) -> Result<(), ConfigError> {
        let parts = &self.partitions;
        require((1..=24).contains(&parts.months_ahead), "partitions.months_ahead", "must be 1 to 24")?;
        require(
            (1..=120).contains(&parts.api_logs_retention_months),
            "partitions.api_logs_retention_months",
            "must be 1 to 120",
        )?;
        require(
            (1..=100_000).contains(&self.rate_limit.auth_per_ip_per_minute),
            "rate_limit.auth_per_ip_per_minute",
            "must be 1 to 100000",
        )?;
        require(
            (1..=1_000_000).contains(&self.rate_limit.api_per_tenant_per_minute),
            "rate_limit.api_per_tenant_per_minute",
            "must be 1 to 1000000",
        )?;
        require(
            (1..=1_000_000).contains(&self.rate_limit.api_per_key_per_minute),
            "rate_limit.api_per_key_per_minute",
            "must be 1 to 1000000",
        )?;
        require(
            (50..=30_000).contains(&self.health.check_timeout_ms),
            "health.check_timeout_ms",
            "must be 50 to 30000",
        )?;
        require(
            self.scheduler.partitions_interval_secs >= 1,
            "scheduler.partitions_interval_secs",
            "must be at least 1",
        )?;
        require(self.scheduler.integrity_interval_secs >= 1, "scheduler.integrity_interval_secs", "must be at least 1")
    }

    fn validate_auth(&self) -> Result<(), ConfigError> {
        let auth = &self.auth;
        require(!auth.issuer.trim().is_empty(), "auth.issuer", "must not be empty")?;
        require(!auth.jwt_keys.is_empty(), "auth.jwt_keys", "at least one key is required")?;
        require(
            auth.jwt_keys.contains_key(&auth.jwt_current_key_id),
            "auth.jwt_current_key_id",
            "must name one of auth.jwt_keys",
        )?;
        for (id, key) in &auth.jwt_keys {
            let name = format!("auth.jwt_keys.{id}");
            require(valid_key_id(id), &name, "key ids are 1-32 characters of letters, digits, '-' and '_'")?;
            let decoded = STANDARD.decode(key.expose().trim());
            require(
                decoded.is_ok_and(|k| k.len() >= 32),
                &name,
                "must be base64 of at least 32 bytes (e.g. `openssl rand -base64 32`)",
            )?;
            require(
                self.environment != Environment::Production || key.expose() != DEV_JWT_KEY,
                &name,
                "the built-in development key is not allowed in production",
            )?;
        }
        require(
            (60..=86_400).contains(&auth.access_token_ttl_secs),
            "auth.access_token_ttl_secs",
            "must be 60 to 86400",
        )?;
        require(
            (auth.access_token_ttl_secs..=366 * 86_400).contains(&auth.refresh_token_ttl_secs),
            "auth.refresh_token_ttl_secs",
            "must be at least auth.access_token_ttl_secs and at most 366 days",
        )?;
        require(
            (300..=30 * 86_400).contains(&auth.verification_token_ttl_secs),
            "auth.verification_token_ttl_secs",
            "must be 300 to 2592000",
        )?;
        require(
            (300..=86_400).contains(&auth.reset_token_ttl_secs),
            "auth.reset_token_ttl_secs",
            "must be 300 to 86400",
        )?;
        require((1..=100).contains(&auth.login_lockout_threshold), "auth.login_lockout_threshold", "must be 1 to 100")?;
        require(
            (1..=86_400).contains(&auth.login_lockout_base_secs),
            "auth.login_lockout_base_secs",
            "must be 1 to 86400",
        )?;
        require(
            (auth.login_lockout_base_secs..=86_400).contains(&auth.login_lockout_max_secs),
            "auth.login_lockout_max_secs",
            "must be at least auth.login_lockout_base_secs and at most 86400",
        )
    }

    fn validate_mail(&self) -> Result<(), ConfigError> {
        let mail = &self.mail;
        require(
            mail.from.parse::<lettre::message::Mailbox>().is_ok(),
            "mail.from",
            "must be a mailbox such as `Meta Chat <no-reply@example.com>`",
        )?;
        require(has_scheme(&mail.link_base_url, &["http", "https"]), "mail.link_base_url", "must be an http(s) URL")?;
        require((1..=300).contains(&mail.smtp_timeout_secs), "mail.smtp_timeout_secs", "must be 1 to 300")?;
        match mail.transport {
            MailTransport::Smtp => require(
                has_scheme(mail.smtp_url.expose(), &["smtp", "smtps"]),
                "mail.smtp_url",
                "must be an smtp:// or smtps:// URL",
            ),
            MailTransport::File => require(!mail.file_dir.trim().is_empty(), "mail.file_dir", "must not be empty"),
        }
    }

    fn validate_secrets(&self) -> Result<(), ConfigError> {
        let secrets = &self.secrets;
        require(!secrets.keys.is_empty(), "secrets.keys", "at least one key is required")?;
        require(
            secrets.keys.contains_key(&secrets.current_key_id),
            "secrets.current_key_id",
            "must name one of secrets.keys",
        )?;
        for (id, key) in &secrets.keys {
            let name = format!("secrets.keys.{id}");
            require(valid_key_id(id), &name, "key ids are 1-32 characters of letters, digits, '-' and '_'")?;
            let decoded = STANDARD.decode(key.expose().trim());
            require(
                decoded.is_ok_and(|k| k.len() == 32),
                &name,
                "must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)",
            )?;
            require(
                self.environment != Environment::Production || key.expose() != DEV_SECRET_KEY,
                &name,
                "the built-in development key is not allowed in production",
            )?;
        }
        Ok(())
    }

    fn validate_billing(&self) -> Result<(), ConfigError> {
        for (id, plan) in self.billing.plans.all() {
            let key = |field: &str| format!("billing.plans.{id}.{field}");
            require(!plan.name.trim().is_empty() && plan.name.len() <= 64, &key("name"), "must be 1 to 64 characters")?;
            require(
                plan.currency.len() == 3 && plan.currency.bytes().all(|b| b.is_ascii_lowercase()),
                &key("currency"),
                "must be a lower-case ISO 4217 code such as usd",
            )?;
            require(
                plan.stripe_price_id.is_empty()
                    || (plan.stripe_price_id.starts_with("price_") && plan.stripe_price_id.len() <= 255),
                &key("stripe_price_id"),
                "must be empty or a Stripe price id (price_…)",
            )?;
        }
        self.validate_stripe()
    }

    fn validate_webhooks(&self) -> Result<(), ConfigError> {
        let hooks = &self.webhooks;
        for (i, host) in hooks.allow_private_hosts.iter().enumerate() {
            require(
                valid_host(host),
                &format!("webhooks.allow_private_hosts[{i}]"),
                "must be a host name or an IP address (no scheme, port or path)",
            )?;
        }
        require((100..=60_000).contains(&hooks.timeout_ms), "webhooks.timeout_ms", "must be 100 to 60000")?;
        require(
            (1..=168).contains(&hooks.max_attempts_window_hours),
            "webhooks.max_attempts_window_hours",
            "must be 1 to 168",
        )?;
        require(
            (1..=10_000).contains(&hooks.disable_after_failures),
            "webhooks.disable_after_failures",
            "must be 1 to 10000",
        )?;
        require(hooks.poll_interval_ms >= 50, "webhooks.poll_interval_ms", "must be at least 50")
    }
}

/// A host name (letters, digits, '-' and '.') or an IP address (IPv6 with or without brackets).
fn valid_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse::<std::net::IpAddr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && !host.starts_with(['.', '-'])
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
}
