//! Per-type channel configuration as the API accepts it (camelCase JSON, unknown fields rejected), with
//! validation that names every bad field by path (`config.phoneNumberId`, `config.allowedOrigins[1]`).
//!
//! | type | public fields | write-only (secret) fields |
//! |---|---|---|
//! | `whatsapp` | `phoneNumberId`, `businessAccountId` | `accessToken`, `appSecret`, `verifyToken` |
//! | `messenger` | `pageId` | `pageAccessToken`, `appSecret`, `verifyToken` |
//! | `webchat` | `allowedOrigins` | `identitySecret` (optional) |
//!
//! Rules: Meta ids are 1–32 digits; tokens and app secrets 1–1024 visible ASCII characters; verify tokens
//! 8–256; identity secrets 16–1024 (an HMAC key shorter than that is guessable); 1–20 distinct exact origins
//! (`https://host[:port]`, `http://` only for localhost, no path).

use std::fmt;

use meta_chat_shared::{ChannelType, Secret};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};

use crate::validation::{ValidationErrors, key_for_path};

mod origin;

/// Most allowed origins a web chat channel may list.
pub const MAX_ALLOWED_ORIGINS: usize = 20;
/// Most unknown fields reported in one error, so a hostile body cannot produce an unbounded answer.
const MAX_UNKNOWN_REPORTED: usize = 10;

/// A write-only configuration field: stored sealed in `channels.secrets` under [`SecretField::as_str`],
/// never returned (responses list which are set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretField {
    /// WhatsApp Cloud API access token.
    AccessToken,
    /// Messenger page access token.
    PageAccessToken,
    /// Meta app secret: the key of the `X-Hub-Signature-256` webhook signature.
    AppSecret,
    /// The token Meta echoes in the webhook verification handshake.
    VerifyToken,
    /// Web chat: HMAC key with which the tenant's site signs its visitors' identities.
    IdentitySecret,
}

impl SecretField {
    /// Every secret field.
    pub const ALL: &'static [Self] =
        &[Self::AccessToken, Self::PageAccessToken, Self::AppSecret, Self::VerifyToken, Self::IdentitySecret];

    /// The field name, as in the request body and as the key in `channels.secrets`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "accessToken",
            Self::PageAccessToken => "pageAccessToken",
            Self::AppSecret => "appSecret",
            Self::VerifyToken => "verifyToken",
            Self::IdentitySecret => "identitySecret",
        }
    }

    /// The field called `name`, if it is a secret field.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|field| field.as_str() == name)
    }

    /// The secret fields a channel type has, in the order responses list them.
    pub const fn for_type(channel_type: ChannelType) -> &'static [Self] {
        match channel_type {
            ChannelType::WhatsApp => &[Self::AccessToken, Self::AppSecret, Self::VerifyToken],
            ChannelType::Messenger => &[Self::PageAccessToken, Self::AppSecret, Self::VerifyToken],
            ChannelType::WebChat => &[Self::IdentitySecret],
            ChannelType::Api => &[],
        }
    }
}

impl fmt::Display for SecretField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SecretField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A WhatsApp Cloud API number.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WhatsAppConfig {
    /// The number's id in the Cloud API; routes platform-app webhooks (`external_id`).
    pub phone_number_id: String,
    /// The WhatsApp Business Account the number belongs to.
    pub business_account_id: String,
    /// Token for sending through the Graph API.
    pub access_token: Secret,
    /// Meta app secret (webhook signatures).
    pub app_secret: Secret,
    /// Webhook verification token.
    pub verify_token: Secret,
    /// An approved message template sent instead of a free-form message when the 24-hour customer-service
    /// window has closed (Graph error 131047); without one such messages fail with that reason.
    #[serde(default)]
    pub fallback_template: Option<TemplateRef>,
}

/// An approved WhatsApp message template, by name and language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateRef {
    /// Template name: lower-case letters, digits and `_`, 1–512 characters.
    pub name: String,
    /// Template language code, e.g. `en` or `en_US`.
    pub language: String,
}

/// A Facebook Messenger page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessengerConfig {
    /// The page id; routes platform-app webhooks (`external_id`).
    pub page_id: String,
    /// Token for sending as the page.
    pub page_access_token: Secret,
    /// Meta app secret (webhook signatures).
    pub app_secret: Secret,
    /// Webhook verification token.
    pub verify_token: Secret,
}

/// The embeddable web chat widget.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebChatConfig {
    /// Exact origins (`https://shop.example.com`) allowed to embed the widget.
    pub allowed_origins: Vec<String>,
    /// Optional key for verifying visitor identities signed by the tenant's site.
    #[serde(default)]
    pub identity_secret: Option<Secret>,
}

/// A validated configuration of one channel type. `Debug` never shows secrets.
#[derive(Debug, Clone)]
pub enum ChannelConfig {
    /// WhatsApp Cloud API.
    WhatsApp(WhatsAppConfig),
    /// Facebook Messenger.
    Messenger(MessengerConfig),
    /// Web chat widget.
    WebChat(WebChatConfig),
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    MetaId,
    Token,
    VerifyToken,
    IdentitySecret,
    Origins,
    Template,
}

struct FieldSpec {
    name: &'static str,
    rule: Rule,
    required: bool,
}

const fn field(name: &'static str, rule: Rule, required: bool) -> FieldSpec {
    FieldSpec { name, rule, required }
}

const WHATSAPP_FIELDS: &[FieldSpec] = &[
    field("phoneNumberId", Rule::MetaId, true),
    field("businessAccountId", Rule::MetaId, true),
    field("accessToken", Rule::Token, true),
    field("appSecret", Rule::Token, true),
    field("verifyToken", Rule::VerifyToken, true),
    field("fallbackTemplate", Rule::Template, false),
];
const MESSENGER_FIELDS: &[FieldSpec] = &[
    field("pageId", Rule::MetaId, true),
    field("pageAccessToken", Rule::Token, true),
    field("appSecret", Rule::Token, true),
    field("verifyToken", Rule::VerifyToken, true),
];
const WEBCHAT_FIELDS: &[FieldSpec] =
    &[field("allowedOrigins", Rule::Origins, true), field("identitySecret", Rule::IdentitySecret, false)];

const fn fields(channel_type: ChannelType) -> &'static [FieldSpec] {
    match channel_type {
        ChannelType::WhatsApp => WHATSAPP_FIELDS,
        ChannelType::Messenger => MESSENGER_FIELDS,
        ChannelType::WebChat => WEBCHAT_FIELDS,
        ChannelType::Api => &[],
    }
}

/// Names of the public (non-secret) fields of a channel type.
pub(crate) fn public_field_names(channel_type: ChannelType) -> impl Iterator<Item = &'static str> {
    fields(channel_type).iter().map(|spec| spec.name).filter(|name| SecretField::from_name(name).is_none())
}

impl ChannelConfig {
    /// Validates `config` (the request's `config` member) for `channel_type`. Every bad field is reported,
    /// with paths starting at `config`. `null` counts as absent.
    pub fn parse(channel_type: ChannelType, config: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if channel_type == ChannelType::Api {
            errors.add("type", "must be whatsapp, messenger or webchat (the API channel is made by the platform)");
            return Err(errors);
        }
        let Some(object) = config.as_object() else {
            errors.add("config", "must be an object");
            return Err(errors);
        };
        let specs = fields(channel_type);
        let unknown = object.keys().filter(|key| !specs.iter().any(|spec| spec.name == key.as_str()));
        for key in unknown.take(MAX_UNKNOWN_REPORTED) {
            errors.add(format!("config.{}", key_for_path(key)), format!("is not a field of a {channel_type} channel"));
        }
        for spec in specs {
            let path = format!("config.{}", spec.name);
            match object.get(spec.name) {
                None | Some(Value::Null) => {
                    if spec.required {
                        errors.add(path, "is required");
                    }
                }
                Some(value) => check(spec.rule, &path, value, &mut errors),
            }
        }
        errors.finish(())?;
        let typed = match channel_type {
            ChannelType::WhatsApp => serde_json::from_value(config.clone()).map(Self::WhatsApp),
            ChannelType::Messenger => serde_json::from_value(config.clone()).map(Self::Messenger),
            ChannelType::WebChat => serde_json::from_value(config.clone()).map(Self::WebChat),
            ChannelType::Api => return Err(ValidationErrors::new()),
        };
        // The checks above accept exactly what these types deserialize; this only guards against drift.
        typed.map_err(|_| {
            let mut errors = ValidationErrors::new();
            errors.add("config", format!("is not a valid {channel_type} configuration"));
            errors
        })
    }

    /// The channel type this configuration is for.
    pub const fn channel_type(&self) -> ChannelType {
        match self {
            Self::WhatsApp(_) => ChannelType::WhatsApp,
            Self::Messenger(_) => ChannelType::Messenger,
            Self::WebChat(_) => ChannelType::WebChat,
        }
    }

    /// The public part, as stored in `channels.config` and returned by the API: no secret field.
    pub fn public_json(&self) -> Value {
        match self {
            Self::WhatsApp(c) => {
                let mut public =
                    json!({ "phoneNumberId": c.phone_number_id, "businessAccountId": c.business_account_id });
                if let Some(template) = &c.fallback_template {
                    public["fallbackTemplate"] = json!(template);
                }
                public
            }
            Self::Messenger(c) => json!({ "pageId": c.page_id }),
            Self::WebChat(c) => json!({ "allowedOrigins": c.allowed_origins }),
        }
    }

    /// The secret fields that are set, with their plain values, in [`SecretField::for_type`] order.
    pub fn secrets(&self) -> Vec<(SecretField, &Secret)> {
        match self {
            Self::WhatsApp(c) => vec![
                (SecretField::AccessToken, &c.access_token),
                (SecretField::AppSecret, &c.app_secret),
                (SecretField::VerifyToken, &c.verify_token),
            ],
            Self::Messenger(c) => vec![
                (SecretField::PageAccessToken, &c.page_access_token),
                (SecretField::AppSecret, &c.app_secret),
                (SecretField::VerifyToken, &c.verify_token),
            ],
            Self::WebChat(c) => c.identity_secret.iter().map(|s| (SecretField::IdentitySecret, s)).collect(),
        }
    }

    /// The provider's account id that routes platform-app webhooks: the phone number id or the page id;
    /// `None` for web chat.
    pub fn external_id(&self) -> Option<&str> {
        match self {
            Self::WhatsApp(c) => Some(&c.phone_number_id),
            Self::Messenger(c) => Some(&c.page_id),
            Self::WebChat(_) => None,
        }
    }
}

fn check(rule: Rule, path: &str, value: &Value, errors: &mut ValidationErrors) {
    if let Rule::Origins = rule {
        check_origins(path, value, errors);
        return;
    }
    if let Rule::Template = rule {
        check_template(path, value, errors);
        return;
    }
    let Some(text) = value.as_str() else {
        errors.add(path, "must be a string");
        return;
    };
    let verdict = match rule {
        Rule::MetaId => check_meta_id(text),
        Rule::Token => check_token(text, 1, 1024),
        Rule::VerifyToken => check_token(text, 8, 256),
        Rule::IdentitySecret => check_token(text, 16, 1024),
        Rule::Origins | Rule::Template => Ok(()),
    };
    if let Err(message) = verdict {
        errors.add(path, message);
    }
}

fn check_template(path: &str, value: &Value, errors: &mut ValidationErrors) {
    let Some(object) = value.as_object() else {
        errors.add(path, "must be an object {name, language}");
        return;
    };
    for key in object.keys().filter(|key| !matches!(key.as_str(), "name" | "language")) {
        errors.add(format!("{path}.{}", key_for_path(key)), "is not a field of a template");
    }
    match object.get("name").and_then(Value::as_str) {
        Some(name)
            if (1..=512).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') => {}
        _ => errors.add(format!("{path}.name"), "must be 1 to 512 lower-case letters, digits or '_'"),
    }
    match object.get("language").and_then(Value::as_str) {
        Some(language) if valid_template_language(language) => {}
        _ => errors.add(format!("{path}.language"), "must be a language code such as en or en_US"),
    }
}

fn valid_template_language(code: &str) -> bool {
    let (lang, region) = code.split_once('_').map_or((code, None), |(l, r)| (l, Some(r)));
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

fn check_meta_id(text: &str) -> Result<(), String> {
    if (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("must be 1 to 32 digits".to_owned())
    }
}

fn check_token(text: &str, min: usize, max: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    // visible ASCII: what Meta issues, and no pasted spaces or line breaks that would never match
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must contain only visible ASCII characters, without spaces".to_owned());
    }
    if text.len() < min || text.len() > max {
        return Err(format!("must be {min} to {max} characters long"));
    }
    Ok(())
}

fn check_origins(path: &str, value: &Value, errors: &mut ValidationErrors) {
    let Some(items) = value.as_array() else {
        errors.add(path, "must be an array of origins");
        return;
    };
    if items.is_empty() || items.len() > MAX_ALLOWED_ORIGINS {
        errors.add(path, format!("must list 1 to {MAX_ALLOWED_ORIGINS} origins"));
        return;
    }
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Some(origin) = item.as_str() else {
            errors.add(item_path, "must be a string");
            continue;
        };
        if let Err(message) = origin::check(origin) {
            errors.add(item_path, message);
        } else if seen.contains(&origin) {
            errors.add(item_path, "is listed twice");
        } else {
            seen.push(origin);
        }
    }
}

#[cfg(test)]
mod tests;
