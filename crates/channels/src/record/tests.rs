use base64::Engine as _;
use meta_chat_shared::config::SecretsConfig;
use meta_chat_shared::secrets::SecretError;
use serde_json::json;

use super::*;

fn keyring(current: &str, keys: &[(&str, u8)]) -> Keyring {
    let config = SecretsConfig {
        current_key_id: current.into(),
        keys: keys
            .iter()
            .map(|(id, byte)| {
                ((*id).to_owned(), Secret::new(base64::engine::general_purpose::STANDARD.encode([*byte; 32])))
            })
            .collect(),
    };
    Keyring::from_config(&config).unwrap()
}

fn ring() -> Keyring {
    keyring("k1", &[("k1", 7)])
}

const ACCESS: &str = "EAAGaccessTOKENvalue123";
const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const VERIFY: &str = "verify-token-42";

fn create_whatsapp() -> CreateChannel {
    serde_json::from_value(json!({
        "type": "whatsapp",
        "name": "  Support line  ",
        "config": {
            "phoneNumberId": "106540352242922",
            "businessAccountId": "102290129340398",
            "accessToken": ACCESS,
            "appSecret": APP_SECRET,
            "verifyToken": VERIFY,
        }
    }))
    .unwrap()
}

fn create_webchat(identity: Option<&str>) -> CreateChannel {
    let mut config = json!({ "allowedOrigins": ["https://shop.example.com"] });
    if let Some(identity) = identity {
        config["identitySecret"] = json!(identity);
    }
    serde_json::from_value(json!({ "type": "webchat", "enabled": false, "config": config })).unwrap()
}

fn validation_paths(err: ChannelsError) -> Vec<String> {
    match err {
        ChannelsError::Validation(errors) => errors.into_fields().into_iter().map(|e| e.path).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn created(keyring: &Keyring, tenant: TenantId, input: &CreateChannel) -> NewChannelRecord {
    let valid = validate_create(input).unwrap();
    prepare_create(keyring, tenant, ChannelId::new(), &valid).unwrap()
}

#[test]
fn create_builds_a_storable_record() {
    let (ring, tenant) = (ring(), TenantId::new());
    let record = created(&ring, tenant, &create_whatsapp());
    assert_eq!(record.channel_type, ChannelType::WhatsApp);
    assert_eq!(record.name, "Support line", "name is trimmed");
    assert!(record.enabled, "enabled by default");
    assert_eq!(record.widget_key, None);
    assert_eq!(record.sealed.external_id.as_deref(), Some("106540352242922"));
    assert_eq!(
        record.sealed.config,
        json!({ "phoneNumberId": "106540352242922", "businessAccountId": "102290129340398" })
    );
    assert_eq!(record.sealed.secrets_set, [SecretField::AccessToken, SecretField::AppSecret, SecretField::VerifyToken]);
    assert_eq!(secrets_set(ChannelType::WhatsApp, &record.sealed.secrets), record.sealed.secrets_set);
    assert_eq!(
        serde_json::to_value(&record.sealed.secrets_set).unwrap(),
        json!(["accessToken", "appSecret", "verifyToken"])
    );

    let web = created(&ring, tenant, &create_webchat(None));
    assert_eq!(web.name, "Web chat");
    assert!(!web.enabled);
    assert_eq!(web.sealed.external_id, None);
    assert_eq!(web.sealed.secrets, json!({}));
    assert!(web.sealed.secrets_set.is_empty());
    assert_eq!(web.sealed.config, json!({ "allowedOrigins": ["https://shop.example.com"] }));
}

#[test]
fn secrets_appear_only_as_envelopes() {
    let ring = ring();
    let record = created(&ring, TenantId::new(), &create_whatsapp());
    let stored = format!("{} {}", record.sealed.config, record.sealed.secrets);
    for plain in [ACCESS, APP_SECRET, VERIFY] {
        assert!(!stored.contains(plain), "{plain} stored in plain text");
    }
    for (_, envelope) in record.sealed.secrets.as_object().unwrap() {
        assert_eq!(Keyring::key_id_of(envelope.as_str().unwrap()), Some("k1"));
    }
    assert!(!format!("{record:?}").contains(ACCESS), "Debug of the record shows no secret");
    assert!(!format!("{:?}", create_whatsapp()).contains(ACCESS), "Debug of the input shows no secret");
    assert!(!format!("{:?}", validate_create(&create_whatsapp()).unwrap()).contains(ACCESS));
}

#[test]
fn sealed_secrets_open_only_with_their_own_associated_data() {
    let ring = ring();
    let (tenant, other_tenant) = (TenantId::new(), TenantId::new());
    let record = created(&ring, tenant, &create_whatsapp());
    let (id, secrets) = (record.id, &record.sealed.secrets);
    let open = |t, c, f| open_secret(&ring, t, c, secrets, f);
    assert_eq!(open(tenant, id, SecretField::AccessToken).unwrap().expose(), ACCESS);
    assert_eq!(open(tenant, id, SecretField::AppSecret).unwrap().expose(), APP_SECRET);
    assert_eq!(open(tenant, id, SecretField::VerifyToken).unwrap().expose(), VERIFY);
    assert!(matches!(
        open(other_tenant, id, SecretField::AccessToken),
        Err(ChannelsError::Secret(SecretError::Decrypt))
    ));
    assert!(matches!(
        open(tenant, ChannelId::new(), SecretField::AccessToken),
        Err(ChannelsError::Secret(SecretError::Decrypt))
    ));
    // an envelope moved to another field does not open there
    let mut swapped = secrets.clone();
    swapped["appSecret"] = secrets["accessToken"].clone();
    assert!(matches!(
        open_secret(&ring, tenant, id, &swapped, SecretField::AppSecret),
        Err(ChannelsError::Secret(SecretError::Decrypt))
    ));
    assert!(matches!(open(tenant, id, SecretField::IdentitySecret), Err(ChannelsError::SecretNotSet(_))));
    assert!(matches!(
        open_secret(&ring, tenant, id, &json!([]), SecretField::AccessToken),
        Err(ChannelsError::InvalidStoredData(_))
    ));
    assert_eq!(associated_data(tenant, id, SecretField::AppSecret), format!("tenant:{tenant}:channel:{id}:appSecret"));
}

#[test]
fn widget_keys_are_generated_for_web_chat_only() {
    let ring = ring();
    let web = created(&ring, TenantId::new(), &create_webchat(Some("identity-secret-0123")));
    let key = web.widget_key.unwrap();
    assert_eq!(key.len(), 3 + WIDGET_KEY_CHARS);
    assert!(key.starts_with("wk_") && key[3..].bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
    let again = created(&ring, TenantId::new(), &create_webchat(None)).widget_key.unwrap();
    assert_ne!(key, again);
    assert_eq!(web.sealed.secrets_set, [SecretField::IdentitySecret]);
}

#[test]
fn create_validation_names_each_field() {
    let mut input = create_whatsapp();
    input.name = Some("   ".into());
    input.config["verifyToken"] = json!("short");
    assert_eq!(validation_paths(validate_create(&input).unwrap_err()), ["name", "config.verifyToken"]);
    input.name = Some("x".repeat(101));
    assert_eq!(validation_paths(validate_create(&input).unwrap_err()), ["name", "config.verifyToken"]);
    input.name = Some("tab\there".into());
    input.config["verifyToken"] = json!(VERIFY);
    assert_eq!(validation_paths(validate_create(&input).unwrap_err()), ["name"]);
    input.name = Some("é".repeat(100));
    assert!(validate_create(&input).is_ok(), "100 characters, not bytes");
    // the body itself: unknown members and unknown types are refused when deserializing
    assert!(serde_json::from_value::<CreateChannel>(json!({"type": "telegram", "config": {}})).is_err());
    assert!(serde_json::from_value::<CreateChannel>(json!({"type": "webchat", "config": {}, "extra": 1})).is_err());
    assert!(serde_json::from_value::<UpdateChannel>(json!({"widgetKey": "wk_x"})).is_err());
}

fn stored(record: &NewChannelRecord) -> StoredChannel<'_> {
    StoredChannel {
        id: record.id,
        channel_type: record.channel_type,
        config: &record.sealed.config,
        secrets: &record.sealed.secrets,
    }
}

fn patch(body: serde_json::Value) -> UpdateChannel {
    serde_json::from_value(body).unwrap()
}

#[test]
fn patch_keeps_absent_secrets_replaces_given_ones_and_merges_public_fields() {
    let (ring, tenant) = (ring(), TenantId::new());
    let record = created(&ring, tenant, &create_whatsapp());
    let update = prepare_update(
        &ring,
        tenant,
        &stored(&record),
        &patch(json!({ "config": { "accessToken": "EAAnewTOKEN", "phoneNumberId": "555000111" } })),
    )
    .unwrap();
    assert_eq!(update.name, None);
    assert_eq!(update.enabled, None);
    let sealed = update.sealed.unwrap();
    assert_eq!(sealed.config, json!({ "phoneNumberId": "555000111", "businessAccountId": "102290129340398" }));
    assert_eq!(sealed.external_id.as_deref(), Some("555000111"), "external id follows the phone number id");
    let open = |f| open_secret(&ring, tenant, record.id, &sealed.secrets, f).unwrap().expose().to_owned();
    assert_eq!(open(SecretField::AccessToken), "EAAnewTOKEN", "given secret replaced");
    assert_eq!(open(SecretField::AppSecret), APP_SECRET, "absent secret kept");
    assert_eq!(open(SecretField::VerifyToken), VERIFY, "absent secret kept");
    assert!(!sealed.secrets.to_string().contains("EAAnewTOKEN"));
    assert_eq!(sealed.secrets_set.len(), 3);
}

#[test]
fn patch_without_config_touches_no_secret() {
    let (ring, tenant) = (ring(), TenantId::new());
    let record = created(&ring, tenant, &create_whatsapp());
    let update =
        prepare_update(&ring, tenant, &stored(&record), &patch(json!({ "name": " Sales ", "enabled": false })))
            .unwrap();
    assert_eq!(update.name.as_deref(), Some("Sales"));
    assert_eq!(update.enabled, Some(false));
    assert!(update.sealed.is_none());
    assert!(prepare_update(&ring, tenant, &stored(&record), &UpdateChannel::default()).unwrap().is_empty());
    let same_type = patch(json!({ "type": "whatsapp" }));
    assert!(prepare_update(&ring, tenant, &stored(&record), &same_type).unwrap().is_empty());
}

#[test]
fn patch_is_validated_as_a_whole() {
    let (ring, tenant) = (ring(), TenantId::new());
    let record = created(&ring, tenant, &create_whatsapp());
    let s = stored(&record);
    let try_patch = |body| prepare_update(&ring, tenant, &s, &patch(body)).map(drop).map_err(validation_paths);
    assert_eq!(try_patch(json!({ "type": "messenger" })), Err(vec!["type".to_owned()]), "type cannot change");
    assert_eq!(try_patch(json!({ "config": { "verifyToken": "short" } })), Err(vec!["config.verifyToken".into()]));
    assert_eq!(try_patch(json!({ "config": { "appSecret": null } })), Err(vec!["config.appSecret".into()]));
    assert_eq!(try_patch(json!({ "config": { "pageId": "1" } })), Err(vec!["config.pageId".into()]));
    assert_eq!(try_patch(json!({ "config": [] })), Err(vec!["config".into()]));
    assert_eq!(
        try_patch(json!({ "name": "", "config": { "phoneNumberId": "x" } })),
        Err(vec!["name".into(), "config.phoneNumberId".into()])
    );
}

#[test]
fn patch_can_remove_an_optional_secret_and_replace_origins() {
    let (ring, tenant) = (ring(), TenantId::new());
    let record = created(&ring, tenant, &create_webchat(Some("identity-secret-0123")));
    let s = stored(&record);
    let keep = prepare_update(
        &ring,
        tenant,
        &s,
        &patch(json!({ "config": { "allowedOrigins": ["https://a.example", "https://b.example"] } })),
    )
    .unwrap()
    .sealed
    .unwrap();
    assert_eq!(
        keep.config,
        json!({ "allowedOrigins": ["https://a.example", "https://b.example"] }),
        "arrays are replaced"
    );
    assert_eq!(keep.secrets_set, [SecretField::IdentitySecret]);
    let removed = prepare_update(&ring, tenant, &s, &patch(json!({ "config": { "identitySecret": null } })))
        .unwrap()
        .sealed
        .unwrap();
    assert!(removed.secrets_set.is_empty());
    assert_eq!(removed.secrets, json!({}));
    assert_eq!(removed.config, record.sealed.config);
}

#[test]
fn patch_reseals_kept_secrets_with_the_current_key() {
    let tenant = TenantId::new();
    let old = keyring("k1", &[("k1", 1)]);
    let record = created(&old, tenant, &create_whatsapp());
    let rotated = keyring("k2", &[("k1", 1), ("k2", 2)]);
    let sealed =
        prepare_update(&rotated, tenant, &stored(&record), &patch(json!({ "config": { "businessAccountId": "42" } })))
            .unwrap()
            .sealed
            .unwrap();
    for envelope in sealed.secrets.as_object().unwrap().values() {
        assert_eq!(Keyring::key_id_of(envelope.as_str().unwrap()), Some("k2"));
    }
    assert_eq!(
        open_secret(&rotated, tenant, record.id, &sealed.secrets, SecretField::AppSecret).unwrap().expose(),
        APP_SECRET
    );
    // a stored secret that cannot be opened is an internal error, not a validation error
    let foreign = keyring("k1", &[("k1", 9)]);
    let err = prepare_update(&foreign, tenant, &stored(&record), &patch(json!({ "config": {} }))).unwrap_err();
    assert!(matches!(err, ChannelsError::Secret(SecretError::Decrypt)), "{err:?}");
}
