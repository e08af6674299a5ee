use serde_json::{Value, json};

use super::*;

fn whatsapp() -> Value {
    json!({
        "phoneNumberId": "106540352242922",
        "businessAccountId": "102290129340398",
        "accessToken": "EAAGm0PX4ZCpsBAKZCTestToken123",
        "appSecret": "0123456789abcdef0123456789abcdef",
        "verifyToken": "verify-me-please",
    })
}

fn messenger() -> Value {
    json!({
        "pageId": "108520437954063",
        "pageAccessToken": "EAAPageTokenXYZ",
        "appSecret": "fedcba9876543210fedcba9876543210",
        "verifyToken": "another-verify-token",
    })
}

fn webchat() -> Value {
    json!({ "allowedOrigins": ["https://shop.example.com", "http://localhost:3000"], "identitySecret": "s3cr3t-identity-key!" })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base.as_object_mut().unwrap().insert(key.to_owned(), value);
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

/// The paths of the errors `config` produces for `channel_type`.
fn error_paths(channel_type: ChannelType, config: &Value) -> Vec<String> {
    match ChannelConfig::parse(channel_type, config) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.fields().iter().map(|e| e.path.clone()).collect(),
    }
}

#[test]
fn valid_configs_parse_into_their_type() {
    let parsed = ChannelConfig::parse(ChannelType::WhatsApp, &whatsapp()).unwrap();
    assert_eq!(parsed.channel_type(), ChannelType::WhatsApp);
    assert_eq!(parsed.external_id(), Some("106540352242922"));
    let ChannelConfig::WhatsApp(c) = &parsed else { panic!("wrong variant") };
    assert_eq!(c.access_token.expose(), "EAAGm0PX4ZCpsBAKZCTestToken123");

    let parsed = ChannelConfig::parse(ChannelType::Messenger, &messenger()).unwrap();
    assert_eq!(parsed.external_id(), Some("108520437954063"));

    let parsed = ChannelConfig::parse(ChannelType::WebChat, &webchat()).unwrap();
    assert_eq!(parsed.external_id(), None);
    let ChannelConfig::WebChat(c) = &parsed else { panic!("wrong variant") };
    assert_eq!(c.allowed_origins.len(), 2);
    assert!(c.identity_secret.is_some());
    // identitySecret is optional; null counts as absent
    for config in [without(webchat(), "identitySecret"), with(webchat(), "identitySecret", Value::Null)] {
        let ChannelConfig::WebChat(c) = ChannelConfig::parse(ChannelType::WebChat, &config).unwrap() else {
            panic!("wrong variant")
        };
        assert!(c.identity_secret.is_none());
    }
}

#[test]
fn every_whatsapp_field_is_checked() {
    let t = ChannelType::WhatsApp;
    for field in ["phoneNumberId", "businessAccountId", "accessToken", "appSecret", "verifyToken"] {
        let path = format!("config.{field}");
        assert_eq!(error_paths(t, &without(whatsapp(), field)), [path.as_str()], "{field} missing");
        assert_eq!(error_paths(t, &with(whatsapp(), field, Value::Null)), [path.as_str()], "{field} null");
        assert_eq!(error_paths(t, &with(whatsapp(), field, json!(123))), [path.as_str()], "{field} number");
        assert_eq!(error_paths(t, &with(whatsapp(), field, json!(""))), [path.as_str()], "{field} empty");
    }
    for bad_id in ["abc", "12 34", "+15551234567", "1".repeat(33).as_str(), "١٢٣"] {
        assert_eq!(error_paths(t, &with(whatsapp(), "phoneNumberId", json!(bad_id))), ["config.phoneNumberId"]);
        assert_eq!(error_paths(t, &with(whatsapp(), "businessAccountId", json!(bad_id))), ["config.businessAccountId"]);
    }
    assert!(error_paths(t, &with(whatsapp(), "phoneNumberId", json!("1".repeat(32)))).is_empty());
    for field in ["accessToken", "appSecret"] {
        assert!(error_paths(t, &with(whatsapp(), field, json!("x"))).is_empty(), "one character is enough");
        assert!(error_paths(t, &with(whatsapp(), field, json!("x".repeat(1024)))).is_empty());
        for bad in ["x".repeat(1025), "with space".into(), "line\nbreak".into(), " padded".into(), "ünïcode".into()] {
            assert_eq!(error_paths(t, &with(whatsapp(), field, json!(bad))), [format!("config.{field}")]);
        }
    }
    assert_eq!(error_paths(t, &with(whatsapp(), "verifyToken", json!("short"))), ["config.verifyToken"]);
    assert_eq!(error_paths(t, &with(whatsapp(), "verifyToken", json!("v".repeat(257)))), ["config.verifyToken"]);
    assert!(error_paths(t, &with(whatsapp(), "verifyToken", json!("v".repeat(8)))).is_empty());
    assert!(error_paths(t, &with(whatsapp(), "verifyToken", json!("v".repeat(256)))).is_empty());
}

#[test]
fn every_messenger_field_is_checked() {
    let t = ChannelType::Messenger;
    for field in ["pageId", "pageAccessToken", "appSecret", "verifyToken"] {
        let path = format!("config.{field}");
        assert_eq!(error_paths(t, &without(messenger(), field)), [path.as_str()], "{field} missing");
        assert_eq!(error_paths(t, &with(messenger(), field, json!(["x"]))), [path.as_str()], "{field} array");
        assert_eq!(error_paths(t, &with(messenger(), field, json!(""))), [path.as_str()], "{field} empty");
    }
    assert_eq!(error_paths(t, &with(messenger(), "pageId", json!("page-1"))), ["config.pageId"]);
    assert_eq!(
        error_paths(t, &with(messenger(), "pageAccessToken", json!("t".repeat(1025)))),
        ["config.pageAccessToken"]
    );
    assert_eq!(error_paths(t, &with(messenger(), "verifyToken", json!("1234567"))), ["config.verifyToken"]);
    // WhatsApp-only fields are unknown here
    assert_eq!(error_paths(t, &with(messenger(), "phoneNumberId", json!("1"))), ["config.phoneNumberId"]);
}

#[test]
fn every_webchat_field_is_checked() {
    let t = ChannelType::WebChat;
    assert_eq!(error_paths(t, &without(webchat(), "allowedOrigins")), ["config.allowedOrigins"]);
    assert_eq!(error_paths(t, &with(webchat(), "allowedOrigins", json!([]))), ["config.allowedOrigins"]);
    assert_eq!(
        error_paths(t, &with(webchat(), "allowedOrigins", json!("https://a.example"))),
        ["config.allowedOrigins"]
    );
    let origins: Vec<String> = (0..20).map(|i| format!("https://s{i}.example.com")).collect();
    assert!(error_paths(t, &with(webchat(), "allowedOrigins", json!(origins))).is_empty(), "20 is allowed");
    let origins: Vec<String> = (0..21).map(|i| format!("https://s{i}.example.com")).collect();
    assert_eq!(error_paths(t, &with(webchat(), "allowedOrigins", json!(origins))), ["config.allowedOrigins"]);
    let mixed =
        json!(["https://ok.example", "https://bad.example/path", 7, "http://example.com", "https://ok.example"]);
    assert_eq!(
        error_paths(t, &with(webchat(), "allowedOrigins", mixed)),
        [
            "config.allowedOrigins[1]",
            "config.allowedOrigins[2]",
            "config.allowedOrigins[3]",
            "config.allowedOrigins[4]"
        ]
    );
    for bad in [json!("short"), json!("with spaces in it ok?"), json!(42), json!("x".repeat(1025))] {
        assert_eq!(error_paths(t, &with(webchat(), "identitySecret", bad)), ["config.identitySecret"]);
    }
}

#[test]
fn unknown_fields_and_non_objects_are_refused() {
    let paths = error_paths(ChannelType::WhatsApp, &with(whatsapp(), "webhookUrl", json!("https://x")));
    assert_eq!(paths, ["config.webhookUrl"]);
    // snake_case spellings are not aliases
    let snake = with(without(whatsapp(), "phoneNumberId"), "phone_number_id", json!("1"));
    assert_eq!(error_paths(ChannelType::WhatsApp, &snake), ["config.phone_number_id", "config.phoneNumberId"]);
    for not_object in [json!(null), json!([]), json!("x"), json!(1)] {
        assert_eq!(error_paths(ChannelType::WebChat, &not_object), ["config"]);
    }
    // a flood of unknown keys gives a bounded answer
    let flood: serde_json::Map<String, Value> = (0..500).map(|i| (format!("k{i}"), json!(1))).collect();
    let errors = ChannelConfig::parse(ChannelType::WebChat, &Value::Object(flood)).unwrap_err();
    assert!(errors.fields().len() <= MAX_UNKNOWN_REPORTED + 2, "{}", errors.fields().len());
}

#[test]
fn several_errors_are_reported_together_without_values() {
    let config =
        json!({ "phoneNumberId": "abc", "accessToken": "has space", "appSecret": "EAAsecretvalue", "verifyToken": 1 });
    let errors = ChannelConfig::parse(ChannelType::WhatsApp, &config).unwrap_err();
    let paths: Vec<&str> = errors.fields().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["config.phoneNumberId", "config.businessAccountId", "config.accessToken", "config.verifyToken"]);
    let text = errors.to_string();
    assert!(!text.contains("has space") && !text.contains("abc"), "values are never echoed: {text}");
}

#[test]
fn public_json_holds_no_secret_field() {
    for (t, config) in
        [(ChannelType::WhatsApp, whatsapp()), (ChannelType::Messenger, messenger()), (ChannelType::WebChat, webchat())]
    {
        let parsed = ChannelConfig::parse(t, &config).unwrap();
        let public = parsed.public_json();
        let public_text = public.to_string();
        for (field, secret) in parsed.secrets() {
            assert!(public.get(field.as_str()).is_none(), "{t}: {field} in public config");
            assert!(!public_text.contains(secret.expose()), "{t}: value of {field} in public config");
        }
        // public + secret fields together are exactly the input's fields
        let mut names: Vec<String> = public.as_object().unwrap().keys().cloned().collect();
        names.extend(parsed.secrets().iter().map(|(f, _)| f.as_str().to_owned()));
        names.sort();
        let mut input: Vec<String> = config.as_object().unwrap().keys().cloned().collect();
        input.sort();
        assert_eq!(names, input, "{t}");
        assert!(!format!("{parsed:?}").contains(parsed.secrets()[0].1.expose()), "Debug shows no secret");
    }
}

#[test]
fn secret_field_table_matches_the_field_specs() {
    for t in ChannelType::ALL {
        let from_specs: Vec<&str> =
            fields(*t).iter().map(|s| s.name).filter(|n| SecretField::from_name(n).is_some()).collect();
        let declared: Vec<&str> = SecretField::for_type(*t).iter().map(|f| f.as_str()).collect();
        assert_eq!(from_specs, declared, "{t}");
    }
    for field in SecretField::ALL {
        assert_eq!(SecretField::from_name(field.as_str()), Some(*field));
        assert_eq!(serde_json::to_value(field).unwrap(), json!(field.as_str()));
    }
}

#[test]
fn a_fallback_template_is_optional_checked_and_public() {
    let template = json!({ "name": "follow_up_2", "language": "pt_BR" });
    let parsed = ChannelConfig::parse(ChannelType::WhatsApp, &with(whatsapp(), "fallbackTemplate", template.clone()));
    assert_eq!(parsed.unwrap().public_json()["fallbackTemplate"], template);
    assert!(
        ChannelConfig::parse(ChannelType::WhatsApp, &whatsapp())
            .unwrap()
            .public_json()
            .get("fallbackTemplate")
            .is_none()
    );
    let bad = json!({ "name": "Follow Up", "language": "english", "extra": 1 });
    let mut paths = error_paths(ChannelType::WhatsApp, &with(whatsapp(), "fallbackTemplate", bad));
    paths.sort();
    assert_eq!(
        paths,
        ["config.fallbackTemplate.extra", "config.fallbackTemplate.language", "config.fallbackTemplate.name"]
    );
    assert_eq!(
        error_paths(ChannelType::WhatsApp, &with(whatsapp(), "fallbackTemplate", json!("follow_up"))),
        ["config.fallbackTemplate"]
    );
    assert_eq!(
        error_paths(ChannelType::Messenger, &with(messenger(), "fallbackTemplate", json!({}))),
        ["config.fallbackTemplate"],
        "WhatsApp only"
    );
}
