#![expect(clippy::result_large_err, reason = "figment::Jail's closures return figment::Error, which is large")]

use figment::Jail;

use super::*;

fn load_in(jail: &Jail, file: Option<&str>) -> Result<Config, ConfigError> {
    let path = file.map(|f| jail.directory().join(f));
    Config::from_figment(&Config::figment(path.as_deref()))
}

#[test]
fn smtp_urls_with_credentials_and_tls_are_accepted() {
    let mut config = Config::default();
    config.mail.transport = MailTransport::Smtp;
    for url in ["smtps://user:pass@smtp.example.com:465", "smtp://user:pass@smtp.example.com:587?tls=required"] {
        config.mail.smtp_url = Secret::new(url);
        config.validate().unwrap();
    }
}

#[test]
fn defaults_are_valid() {
    Config::default().validate().unwrap();
    Config::for_tests().validate().unwrap();
}

#[test]
fn file_overrides_defaults_and_environment_overrides_file() {
    Jail::expect_with(|jail| {
        jail.create_file("metachat.toml", "[http]\nport = 4000\nhost = \"0.0.0.0\"\n")?;
        jail.set_env("METACHAT_HTTP__PORT", "5000");
        let config = load_in(jail, Some("metachat.toml")).unwrap();
        assert_eq!(config.http.port, 5000, "environment wins over the file");
        assert_eq!(config.http.host, "0.0.0.0", "file wins over defaults");
        assert_eq!(config.database.max_connections, 16, "defaults fill the rest");
        Ok(())
    });
}

#[test]
fn variables_without_a_section_are_not_configuration() {
    Jail::expect_with(|jail| {
        jail.set_env("METACHAT_PG_BIN", "/opt/pg/bin");
        jail.set_env("METACHAT_ENVIRONMENT", "test");
        let config = load_in(jail, None).unwrap();
        assert_eq!(config.environment, Environment::Test);
        jail.set_env("METACHAT_HTTP__PROT", "1");
        let err = load_in(jail, None).unwrap_err().to_string();
        assert!(err.contains("prot"), "a typo inside a section is still an error: {err}");
        Ok(())
    });
}

#[test]
fn bad_type_names_the_key() {
    Jail::expect_with(|jail| {
        jail.set_env("METACHAT_HTTP__PORT", "not-a-port");
        let err = load_in(jail, None).unwrap_err().to_string();
        assert!(err.contains("http.port"), "{err}");
        Ok(())
    });
}

#[test]
fn unknown_key_is_rejected() {
    Jail::expect_with(|jail| {
        jail.create_file("metachat.toml", "[http]\nprot = 4000\n")?;
        let err = load_in(jail, Some("metachat.toml")).unwrap_err().to_string();
        assert!(err.contains("prot"), "{err}");
        Ok(())
    });
}

#[test]
fn invalid_values_name_the_key() {
    type Mutation = Box<dyn Fn(&mut Config)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("database.url", Box::new(|c| c.database.url = Secret::new("mysql://x"))),
        ("amqp.url", Box::new(|c| c.amqp.url = Secret::new("http://x"))),
        ("amqp.prefix", Box::new(|c| c.amqp.prefix = "a b".into())),
        ("amqp.prefetch", Box::new(|c| c.amqp.prefetch = 0)),
        ("billing.plans.pro.currency", Box::new(|c| c.billing.plans.pro.currency = "US dollars".into())),
        ("billing.plans.free.stripe_price_id", Box::new(|c| c.billing.plans.free.stripe_price_id = "prod_1".into())),
        ("amqp.retry_delays_ms", Box::new(|c| c.amqp.retry_delays_ms = vec![])),
        ("database.max_connections", Box::new(|c| c.database.max_connections = 0)),
        ("secrets.current_key_id", Box::new(|c| c.secrets.current_key_id = "nope".into())),
        (
            "secrets.keys.dev",
            Box::new(|c| {
                c.secrets.keys.insert("dev".into(), Secret::new("c2hvcnQ="));
            }),
        ),
        ("secrets.keys.dev", Box::new(|c| c.environment = Environment::Production)),
        ("http.cors_allowed_origins[0]", Box::new(|c| c.http.cors_allowed_origins = vec!["https://a.com/x".into()])),
        ("partitions.months_ahead", Box::new(|c| c.partitions.months_ahead = 0)),
        ("auth.jwt_current_key_id", Box::new(|c| c.auth.jwt_current_key_id = "nope".into())),
        (
            "auth.jwt_keys.dev",
            Box::new(|c| {
                c.auth.jwt_keys.insert("dev".into(), Secret::new("c2hvcnQ="));
            }),
        ),
        (
            "auth.jwt_keys.dev",
            Box::new(|c| {
                // a real secrets key, so that the development JWT key is the first thing production refuses
                c.secrets.keys.insert("dev".into(), Secret::new("cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZy4uLi4="));
                c.environment = Environment::Production;
            }),
        ),
        ("auth.issuer", Box::new(|c| c.auth.issuer = " ".into())),
        ("auth.access_token_ttl_secs", Box::new(|c| c.auth.access_token_ttl_secs = 5)),
        ("auth.refresh_token_ttl_secs", Box::new(|c| c.auth.refresh_token_ttl_secs = 60)),
        ("auth.login_lockout_max_secs", Box::new(|c| c.auth.login_lockout_max_secs = 1)),
        ("mail.from", Box::new(|c| c.mail.from = "not a mailbox".into())),
        ("mail.link_base_url", Box::new(|c| c.mail.link_base_url = "app.example.com".into())),
        (
            "mail.smtp_url",
            Box::new(|c| {
                c.mail.transport = MailTransport::Smtp;
                c.mail.smtp_url = Secret::new("http://relay");
            }),
        ),
        ("http.legacy_sunset", Box::new(|c| c.http.legacy_sunset = "tomorrow".into())),
        (
            "webhooks.allow_private_hosts[1]",
            Box::new(|c| c.webhooks.allow_private_hosts = vec!["127.0.0.1".into(), "http://internal/".into()]),
        ),
        ("webhooks.timeout_ms", Box::new(|c| c.webhooks.timeout_ms = 0)),
        ("webhooks.max_attempts_window_hours", Box::new(|c| c.webhooks.max_attempts_window_hours = 0)),
        ("webhooks.disable_after_failures", Box::new(|c| c.webhooks.disable_after_failures = 0)),
    ];
    for (key, mutate) in cases {
        let mut config = Config::default();
        mutate(&mut config);
        let err = config.validate().unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
            "expected an error naming {key}, got {err}"
        );
    }
}

#[test]
fn missing_explicit_file_is_an_error() {
    Jail::expect_with(|jail| {
        jail.set_env(CONFIG_FILE_VAR, "/nonexistent/metachat.toml");
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains(CONFIG_FILE_VAR), "{err}");
        Ok(())
    });
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let config = Config::default();
    let debug = format!("{config:?}");
    assert!(!debug.contains(DEV_SECRET_KEY));
    assert!(!debug.contains(DEV_JWT_KEY));
    assert!(!debug.contains("metachat_app@"));
}

#[test]
fn webhook_allowlist_takes_host_names_and_addresses() {
    let mut config = Config::default();
    assert!(config.webhooks.allow_private_hosts.is_empty(), "nothing is exempt from the SSRF guard by default");
    assert_eq!((config.webhooks.timeout_ms, config.webhooks.max_attempts_window_hours), (10_000, 24));
    assert_eq!(config.webhooks.disable_after_failures, 20);
    config.webhooks.allow_private_hosts =
        vec!["127.0.0.1".into(), "::1".into(), "[fd00::1]".into(), "hooks.internal".into(), "localhost".into()];
    config.validate().unwrap();
    for bad in ["", "10.0.0.1:8080", "a b", "-x.example", "https://x.example"] {
        config.webhooks.allow_private_hosts = vec![bad.into()];
        assert!(config.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn webhook_settings_load_from_the_environment() {
    Jail::expect_with(|jail| {
        jail.set_env("METACHAT_WEBHOOKS__ALLOW_PRIVATE_HOSTS", "[127.0.0.1, hooks.internal]");
        jail.set_env("METACHAT_WEBHOOKS__DISABLE_AFTER_FAILURES", "5");
        let config = load_in(jail, None).unwrap();
        assert_eq!(config.webhooks.allow_private_hosts, ["127.0.0.1", "hooks.internal"]);
        assert_eq!(config.webhooks.disable_after_failures, 5);
        Ok(())
    });
}
