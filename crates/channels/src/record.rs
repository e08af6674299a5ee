//! Turning API input into ready-to-store channel records, and reading secrets back.
//!
//! Storage layout (table `channels`): `config` holds the public fields only; `secrets` is a JSON object
//! `{ "<field>": "<AES-256-GCM envelope>" }`, each sealed with the associated data
//! `tenant:<tenant id>:channel:<channel id>:<field>`, so an envelope copied to another field, channel or
//! tenant does not open. `external_id` is the phone number id or page id (`None` for web chat) and
//! `widget_key` (web chat only) is `wk_` + 32 random alphanumerics.
//!
//! Flow for `POST /channels`: [`validate_create`] (before authorization, no keys needed), then
//! [`prepare_create`]. For `PATCH /channels/{id}`: load the row (ideally `FOR UPDATE`), then
//! [`prepare_update`] with it.

use std::fmt;

use meta_chat_shared::ids::{ChannelId, TenantId};
use meta_chat_shared::random::{self, RandomError};
use meta_chat_shared::secrets::Keyring;
use meta_chat_shared::{ChannelType, Secret};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::{ChannelConfig, SecretField, public_field_names};
use crate::error::ChannelsError;
use crate::validation::ValidationErrors;

/// Widget keys are this prefix plus [`WIDGET_KEY_CHARS`] alphanumerics.
pub const WIDGET_KEY_PREFIX: &str = "wk_";
/// Random alphanumerics in a widget key (≈ 190 bits).
pub const WIDGET_KEY_CHARS: usize = 32;
/// Longest channel name (after trimming), as the database CHECK allows.
pub const MAX_NAME_CHARS: usize = 100;

/// The body of `POST /channels`: `{type, name?, enabled?, config}`. `Debug` shows only the config's keys.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateChannel {
    /// `whatsapp`, `messenger` or `webchat`.
    #[serde(rename = "type")]
    pub channel_type: ChannelType,
    /// Display name; defaults to the type's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether the channel takes traffic; defaults to `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Type-specific configuration, checked by [`ChannelConfig::parse`].
    pub config: Value,
}

/// The body of `PATCH /channels/{id}`: every member optional. Inside `config`, a field left out keeps its
/// value (secrets included), a field given replaces it, and `null` removes an optional field
/// (`identitySecret`). `type` may be repeated but not changed. `Debug` shows only the config's keys.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateChannel {
    /// Must equal the stored type when given.
    #[serde(rename = "type", default)]
    pub channel_type: Option<ChannelType>,
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Enable or disable the channel.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Partial configuration, merged with the stored one and validated as a whole.
    #[serde(default)]
    pub config: Option<Value>,
}

/// A create request that passed validation.
#[derive(Debug, Clone)]
pub struct ValidatedChannel {
    /// Trimmed display name.
    pub name: String,
    /// Whether the channel takes traffic.
    pub enabled: bool,
    /// The typed configuration.
    pub config: ChannelConfig,
}

impl ValidatedChannel {
    /// The channel's type.
    pub const fn channel_type(&self) -> ChannelType {
        self.config.channel_type()
    }
}

/// Configuration in storage form.
#[derive(Debug, Clone, PartialEq)]
pub struct SealedConfig {
    /// `channels.config`: public fields only.
    pub config: Value,
    /// `channels.secrets`: field name → envelope.
    pub secrets: Value,
    /// `channels.external_id`.
    pub external_id: Option<String>,
    /// The secret fields that are set (`secretsSet` in responses).
    pub secrets_set: Vec<SecretField>,
}

/// A channel ready to insert.
#[derive(Debug, Clone)]
pub struct NewChannelRecord {
    /// The id the envelopes are bound to; insert the row with exactly this id.
    pub id: ChannelId,
    /// The channel's type.
    pub channel_type: ChannelType,
    /// Trimmed display name.
    pub name: String,
    /// Whether the channel takes traffic.
    pub enabled: bool,
    /// `channels.widget_key`: generated for web chat, `None` otherwise.
    pub widget_key: Option<String>,
    /// Configuration in storage form.
    pub sealed: SealedConfig,
}

/// The stored state an update starts from (the columns of the `channels` row).
#[derive(Debug, Clone, Copy)]
pub struct StoredChannel<'a> {
    /// The row's id.
    pub id: ChannelId,
    /// The row's type.
    pub channel_type: ChannelType,
    /// `channels.config`.
    pub config: &'a Value,
    /// `channels.secrets`.
    pub secrets: &'a Value,
}

/// What an update changes; `None` members stay as stored.
#[derive(Debug, Clone, Default)]
pub struct ChannelUpdate {
    /// New trimmed name.
    pub name: Option<String>,
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New `config`, `secrets` and `external_id`, all three together.
    pub sealed: Option<SealedConfig>,
}

impl ChannelUpdate {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.enabled.is_none() && self.sealed.is_none()
    }
}

/// Validates a create request: name, and the configuration for its type.
pub fn validate_create(input: &CreateChannel) -> Result<ValidatedChannel, ChannelsError> {
    let mut errors = ValidationErrors::new();
    let name = match &input.name {
        Some(name) => check_name(name, &mut errors),
        None => Some(default_name(input.channel_type).to_owned()),
    };
    let config = ChannelConfig::parse(input.channel_type, &input.config);
    match (name, config) {
        (Some(name), Ok(config)) if errors.is_empty() => {
            Ok(ValidatedChannel { name, enabled: input.enabled.unwrap_or(true), config })
        }
        (_, config) => {
            if let Err(config_errors) = config {
                config_errors.into_fields().into_iter().for_each(|e| errors.add(e.path, e.message));
            }
            Err(ChannelsError::Validation(errors))
        }
    }
}

/// Seals a validated channel's secrets for `tenant` and `channel` and generates its widget key.
pub fn prepare_create(
    keyring: &Keyring,
    tenant: TenantId,
    channel: ChannelId,
    input: &ValidatedChannel,
) -> Result<NewChannelRecord, ChannelsError> {
    let widget_key = match input.channel_type() {
        ChannelType::WebChat => Some(generate_widget_key()?),
        ChannelType::WhatsApp | ChannelType::Messenger | ChannelType::Api => None,
    };
    Ok(NewChannelRecord {
        id: channel,
        channel_type: input.channel_type(),
        name: input.name.clone(),
        enabled: input.enabled,
        widget_key,
        sealed: seal(keyring, tenant, channel, &input.config)?,
    })
}

/// Validates a patch against the stored row and prepares the changed columns. A config patch is merged
/// with the stored configuration (stored secrets are opened for this) and the result is validated as a
/// whole and sealed again, so every envelope ends up on the current key.
pub fn prepare_update(
    keyring: &Keyring,
    tenant: TenantId,
    stored: &StoredChannel<'_>,
    patch: &UpdateChannel,
) -> Result<ChannelUpdate, ChannelsError> {
    let mut errors = ValidationErrors::new();
    if patch.channel_type.is_some_and(|t| t != stored.channel_type) {
        errors.add("type", "cannot be changed; create a new channel instead");
    }
    let name = patch.name.as_deref().and_then(|name| check_name(name, &mut errors));
    let mut config = None;
    if let Some(config_patch) = &patch.config {
        match config_patch.as_object() {
            None => errors.add("config", "must be an object"),
            Some(config_patch) => {
                let merged = merge(keyring, tenant, stored, config_patch)?;
                match ChannelConfig::parse(stored.channel_type, &Value::Object(merged)) {
                    Ok(parsed) => config = Some(parsed),
                    Err(config_errors) => {
                        config_errors.into_fields().into_iter().for_each(|e| errors.add(e.path, e.message));
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ChannelsError::Validation(errors));
    }
    let sealed = config.map(|config| seal(keyring, tenant, stored.id, &config)).transpose()?;
    Ok(ChannelUpdate { name, enabled: patch.enabled, sealed })
}

/// Opens one secret of a stored channel for internal use (sending, webhook signature checks).
pub fn open_secret(
    keyring: &Keyring,
    tenant: TenantId,
    channel: ChannelId,
    secrets: &Value,
    field: SecretField,
) -> Result<Secret, ChannelsError> {
    let envelopes =
        secrets.as_object().ok_or_else(|| ChannelsError::InvalidStoredData("`secrets` is not a JSON object".into()))?;
    match envelopes.get(field.as_str()) {
        None | Some(Value::Null) => Err(ChannelsError::SecretNotSet(field)),
        Some(Value::String(envelope)) => {
            Ok(Secret::new(keyring.open(envelope, associated_data(tenant, channel, field).as_bytes())?))
        }
        Some(_) => Err(ChannelsError::InvalidStoredData(format!("secret `{field}` is not a string"))),
    }
}

/// The secret fields a stored row has set, in response order (`secretsSet`).
pub fn secrets_set(channel_type: ChannelType, secrets: &Value) -> Vec<SecretField> {
    SecretField::for_type(channel_type)
        .iter()
        .copied()
        .filter(|field| secrets.get(field.as_str()).is_some_and(Value::is_string))
        .collect()
}

/// The associated data a channel secret is sealed with: `tenant:<tenant>:channel:<channel>:<field>`.
pub fn associated_data(tenant: TenantId, channel: ChannelId, field: SecretField) -> String {
    format!("tenant:{tenant}:channel:{channel}:{field}")
}

/// A new public widget key: `wk_` + 32 alphanumerics from the OS CSPRNG.
pub fn generate_widget_key() -> Result<String, RandomError> {
    Ok(format!("{WIDGET_KEY_PREFIX}{}", random::alphanumeric(WIDGET_KEY_CHARS)?))
}

fn default_name(channel_type: ChannelType) -> &'static str {
    match channel_type {
        ChannelType::WhatsApp => "WhatsApp",
        ChannelType::Messenger => "Messenger",
        ChannelType::WebChat => "Web chat",
        ChannelType::Api => "Chat API",
    }
}

fn check_name(name: &str, errors: &mut ValidationErrors) -> Option<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME_CHARS {
        errors.add("name", format!("must be 1 to {MAX_NAME_CHARS} characters long (not counting outer spaces)"));
        None
    } else if trimmed.chars().any(char::is_control) {
        errors.add("name", "must not contain control characters");
        None
    } else {
        Some(trimmed.to_owned())
    }
}

fn seal(
    keyring: &Keyring,
    tenant: TenantId,
    channel: ChannelId,
    config: &ChannelConfig,
) -> Result<SealedConfig, ChannelsError> {
    let mut secrets = Map::new();
    let mut secrets_set = Vec::new();
    for (field, value) in config.secrets() {
        let envelope = keyring.seal(value.expose(), associated_data(tenant, channel, field).as_bytes())?;
        secrets.insert(field.as_str().to_owned(), Value::String(envelope));
        secrets_set.push(field);
    }
    Ok(SealedConfig {
        config: config.public_json(),
        secrets: Value::Object(secrets),
        external_id: config.external_id().map(str::to_owned),
        secrets_set,
    })
}

/// The stored configuration with its secrets opened (only those the patch does not replace), overlaid
/// with the patch. Stored fields the type no longer has are dropped.
fn merge(
    keyring: &Keyring,
    tenant: TenantId,
    stored: &StoredChannel<'_>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, ChannelsError> {
    let mut merged = Map::new();
    for name in public_field_names(stored.channel_type) {
        if let Some(value) = stored.config.get(name) {
            merged.insert(name.to_owned(), value.clone());
        }
    }
    for field in SecretField::for_type(stored.channel_type) {
        if patch.contains_key(field.as_str()) {
            continue;
        }
        match open_secret(keyring, tenant, stored.id, stored.secrets, *field) {
            Ok(secret) => {
                merged.insert(field.as_str().to_owned(), Value::String(secret.expose().to_owned()));
            }
            Err(ChannelsError::SecretNotSet(_)) => {}
            Err(other) => return Err(other),
        }
    }
    for (key, value) in patch {
        merged.insert(key.clone(), value.clone());
    }
    Ok(merged)
}

fn config_keys(config: Option<&Value>) -> Vec<&str> {
    config.and_then(Value::as_object).map(|map| map.keys().map(String::as_str).collect()).unwrap_or_default()
}

impl fmt::Debug for CreateChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateChannel")
            .field("channel_type", &self.channel_type)
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("config_keys", &config_keys(Some(&self.config)))
            .finish()
    }
}

impl fmt::Debug for UpdateChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateChannel")
            .field("channel_type", &self.channel_type)
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("config_keys", &config_keys(self.config.as_ref()))
            .finish()
    }
}

#[cfg(test)]
mod tests;
