//! A tenant's settings (`tenants.settings`, jsonb): how its assistant talks, retrieves, hands off to humans,
//! which model it uses, and how the web chat widget looks. `PATCH /tenant` writes them, the orchestrator and the
//! widget read them.
//!
//! Every section has defaults, so a tenant that never saved a section (or a section added by a later
//! release) reads as the defaults. Input is strict: unknown fields are rejected ([`TenantSettings::merged`])
//! and every value is checked ([`garde::Validate`]) before it is stored. The tenant's own LLM API key is not
//! part of the settings: it lives sealed in `tenants.llm_api_key_enc` (see [`llm_api_key_associated_data`]).

use std::fmt;

use garde::Validate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::TenantId;

/// Longest assistant prompt, in characters.
pub const PROMPT_MAX_CHARS: usize = 8_000;
/// Most handoff keywords.
pub const HANDOFF_KEYWORDS_MAX: usize = 50;
/// Most widget quick replies.
pub const QUICK_REPLIES_MAX: usize = 10;

/// All settings of a tenant. Sections missing from the stored JSON read as their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantSettings {
    /// How the assistant talks.
    #[garde(dive)]
    pub assistant: AssistantSettings,
    /// Retrieval from the tenant's documents.
    #[garde(dive)]
    pub rag: RagSettings,
    /// When a conversation goes to a human.
    #[garde(dive)]
    pub handoff: HandoffSettings,
    /// The model provider.
    #[garde(dive)]
    pub llm: LlmSettings,
    /// The web chat widget.
    #[garde(dive)]
    pub widget: WidgetSettings,
}

/// How the assistant talks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AssistantSettings {
    /// The system prompt: who the assistant is and what it may do (1–8000 characters).
    #[garde(custom(not_blank), length(chars, min = 1, max = PROMPT_MAX_CHARS))]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 8000))]
    pub prompt: String,
    /// The tone of replies.
    #[garde(skip)]
    pub tone: Tone,
    /// Reply language as a BCP 47 tag (`en`, `pt-BR`); absent: the language the end user writes in.
    #[garde(inner(custom(language_tag)))]
    #[cfg_attr(feature = "openapi", schema(example = "en"))]
    pub language: Option<String>,
}

impl Default for AssistantSettings {
    fn default() -> Self {
        Self {
            prompt: "You are a helpful customer support assistant. Answer from the provided documents; when you \
                     are not sure, say so and offer to connect the customer with a person."
                .to_owned(),
            tone: Tone::default(),
            language: None,
        }
    }
}

/// The tone of the assistant's replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Warm and informal.
    #[default]
    Friendly,
    /// Polite and businesslike.
    Professional,
    /// As short as possible.
    Concise,
}

impl Tone {
    /// The spelling on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Friendly => "friendly",
            Self::Professional => "professional",
            Self::Concise => "concise",
        }
    }
}

impl fmt::Display for Tone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Retrieval from the tenant's documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RagSettings {
    /// Whether replies are grounded in the tenant's documents.
    #[garde(skip)]
    pub enabled: bool,
    /// Chunks given to the model, 1–20.
    #[garde(range(min = 1, max = 20))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 20))]
    pub top_k: u32,
    /// Chunks scoring below this (0–1) are left out.
    #[garde(range(min = 0.0, max = 1.0))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub min_score: f64,
    /// Weight of meaning (vector) matches in the fused ranking, 0–1.
    #[garde(range(min = 0.0, max = 1.0), custom(not_both_zero(self.keyword_weight)))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub vector_weight: f64,
    /// Weight of keyword matches in the fused ranking, 0–1 (at least one of the two above 0).
    #[garde(range(min = 0.0, max = 1.0))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub keyword_weight: f64,
}

impl Default for RagSettings {
    fn default() -> Self {
        Self { enabled: true, top_k: 5, min_score: 0.3, vector_weight: 1.0, keyword_weight: 1.0 }
    }
}

fn not_both_zero(other: f64) -> impl FnOnce(&f64, &()) -> garde::Result {
    move |value, ()| {
        if *value <= 0.0 && other <= 0.0 {
            Err(garde::Error::new("vectorWeight and keywordWeight cannot both be 0"))
        } else {
            Ok(())
        }
    }
}

/// When a conversation goes to a human agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct HandoffSettings {
    /// Whether the assistant hands conversations to humans at all.
    #[garde(skip)]
    pub enabled: bool,
    /// Replies with a confidence below this (0–1) go to a human instead.
    #[garde(range(min = 0.0, max = 1.0))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub confidence_threshold: f64,
    /// An end-user message containing one of these (case-insensitive) asks for a human; at most 50, each
    /// 1–100 characters.
    #[garde(length(max = HANDOFF_KEYWORDS_MAX), inner(custom(not_blank), length(chars, min = 1, max = 100)))]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub keywords: Vec<String>,
    /// Sent to the end user once when their conversation is handed to a human (1–1000 characters).
    #[garde(custom(not_blank), length(chars, min = 1, max = 1000))]
    pub message: String,
}

impl Default for HandoffSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            confidence_threshold: 0.4,
            keywords: ["human", "agent", "operator"].map(str::to_owned).to_vec(),
            message: "Thanks for your patience: a member of our team will reply here shortly.".to_owned(),
        }
    }
}

/// The model provider the assistant uses. The API key is not here: see [`llm_api_key_associated_data`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LlmSettings {
    /// Which provider.
    #[garde(skip)]
    pub provider: LlmProvider,
    /// The provider's model name (`gpt-4o-mini`, `claude-sonnet-4-5`, `llama3.1:8b`), 1–200 characters.
    #[garde(custom(model_name), length(chars, min = 1, max = 200))]
    pub model: String,
    /// The provider's API base URL: `https://…`, or `http://` to `localhost` only. Required for
    /// `openai_compatible`, optional for `openai` and `anthropic` (a proxy), not used by `local`.
    #[garde(inner(length(max = 2048)), custom(base_url_for(self.provider)))]
    #[cfg_attr(feature = "openapi", schema(example = "https://api.openai.com/v1"))]
    pub base_url: Option<String>,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self { provider: LlmProvider::Local, model: "local".to_owned(), base_url: None }
    }
}

/// Model providers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LlmProvider {
    /// The platform's built-in model: works offline, needs no key.
    #[default]
    Local,
    /// OpenAI.
    Openai,
    /// Anthropic.
    Anthropic,
    /// Any OpenAI-compatible server (Ollama, vLLM, LM Studio, ...) at `baseUrl`.
    OpenaiCompatible,
}

impl LlmProvider {
    /// The spelling on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
            Self::OpenaiCompatible => "openai_compatible",
        }
    }
}

impl fmt::Display for LlmProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the web chat widget looks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct WidgetSettings {
    /// Accent colour, `#rrggbb`.
    #[garde(custom(hex_color))]
    #[cfg_attr(feature = "openapi", schema(example = "#2563eb"))]
    pub primary_color: String,
    /// First message shown when the widget opens (up to 500 characters; empty: none).
    #[garde(length(chars, max = 500))]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub greeting: String,
    /// Name shown for the assistant, 1–80 characters.
    #[garde(custom(not_blank), length(chars, min = 1, max = 80))]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 80))]
    pub agent_name: String,
    /// Suggested first messages: at most 10, each 1–80 characters.
    #[garde(length(max = QUICK_REPLIES_MAX), inner(custom(not_blank), length(chars, min = 1, max = 80)))]
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub quick_replies: Vec<String>,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        Self {
            primary_color: "#2563eb".to_owned(),
            greeting: "Hi! How can we help you today?".to_owned(),
            agent_name: "Assistant".to_owned(),
            quick_replies: Vec::new(),
        }
    }
}

/// A change to the settings: for each section present, a JSON object whose fields replace the section's
/// (field by field; fields not named keep their value, `null` clears an optional field). Absent sections
/// stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsPatch {
    /// Changes to [`TenantSettings::assistant`].
    pub assistant: Option<Value>,
    /// Changes to [`TenantSettings::rag`].
    pub rag: Option<Value>,
    /// Changes to [`TenantSettings::handoff`].
    pub handoff: Option<Value>,
    /// Changes to [`TenantSettings::llm`].
    pub llm: Option<Value>,
    /// Changes to [`TenantSettings::widget`].
    pub widget: Option<Value>,
}

impl SettingsPatch {
    /// Whether no section is present.
    pub fn is_empty(&self) -> bool {
        self.changed_sections().is_empty()
    }

    /// The names of the sections present, in document order.
    pub fn changed_sections(&self) -> Vec<&'static str> {
        [
            ("assistant", &self.assistant),
            ("rag", &self.rag),
            ("handoff", &self.handoff),
            ("llm", &self.llm),
            ("widget", &self.widget),
        ]
        .into_iter()
        .filter_map(|(name, section)| section.as_ref().map(|_| name))
        .collect()
    }
}

/// A patch value of the wrong shape: an unknown field, a wrong type, a section that is not an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SettingsShapeError {
    /// JSON path of the offending input (`rag.topK`), or the section name when no field can be named.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl TenantSettings {
    /// The settings stored in `tenants.settings`. Lenient, unlike input: a section that does not parse (written
    /// by a newer release, or damaged) reads as its defaults and is logged, so one bad section never takes the
    /// assistant down.
    pub fn from_stored(stored: &Value) -> Self {
        if let Ok(settings) = serde_json::from_value::<Self>(stored.clone()) {
            return settings;
        }
        let empty = Map::new();
        let object = stored.as_object().unwrap_or(&empty);
        Self {
            assistant: stored_section(object, "assistant"),
            rag: stored_section(object, "rag"),
            handoff: stored_section(object, "handoff"),
            llm: stored_section(object, "llm"),
            widget: stored_section(object, "widget"),
        }
    }

    /// The JSON to store in `tenants.settings` (every section, defaults included).
    pub fn to_stored(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// These settings with `patch` applied, field by field within each section present. Fails on unknown
    /// fields and wrong types, naming every offending path; the result still has to pass
    /// [`garde::Validate::validate`] before it is stored.
    pub fn merged(&self, patch: &SettingsPatch) -> Result<Self, Vec<SettingsShapeError>> {
        let mut errors = Vec::new();
        let mut next = self.clone();
        merge_section(&mut next.assistant, "assistant", patch.assistant.as_ref(), &mut errors);
        merge_section(&mut next.rag, "rag", patch.rag.as_ref(), &mut errors);
        merge_section(&mut next.handoff, "handoff", patch.handoff.as_ref(), &mut errors);
        merge_section(&mut next.llm, "llm", patch.llm.as_ref(), &mut errors);
        merge_section(&mut next.widget, "widget", patch.widget.as_ref(), &mut errors);
        if errors.is_empty() { Ok(next) } else { Err(errors) }
    }
}

/// The associated data a tenant's LLM API key is sealed with ([`crate::secrets::Keyring::seal`]): binds the
/// envelope to its tenant, so a copy in another tenant's row does not open.
pub fn llm_api_key_associated_data(tenant: TenantId) -> String {
    format!("tenant:{tenant}:llm_api_key")
}

fn stored_section<T: DeserializeOwned + Default>(object: &Map<String, Value>, name: &'static str) -> T {
    let Some(value) = object.get(name) else { return T::default() };
    serde_json::from_value(value.clone()).unwrap_or_else(|err| {
        tracing::warn!(settings.section = name, error = %err, "stored settings section unreadable; using defaults");
        T::default()
    })
}

fn merge_section<T: Serialize + DeserializeOwned>(
    current: &mut T,
    name: &'static str,
    patch: Option<&Value>,
    errors: &mut Vec<SettingsShapeError>,
) {
    let Some(patch) = patch else { return };
    let Some(changes) = patch.as_object() else {
        errors.push(SettingsShapeError { path: name.to_owned(), message: "must be an object".to_owned() });
        return;
    };
    let Ok(Value::Object(base)) = serde_json::to_value(&*current) else {
        errors.push(SettingsShapeError { path: name.to_owned(), message: "cannot be changed".to_owned() });
        return;
    };
    let with = |fields: &mut dyn Iterator<Item = (&String, &Value)>| {
        let mut object = base.clone();
        for (key, value) in fields {
            object.insert(key.clone(), value.clone());
        }
        serde_json::from_value::<T>(Value::Object(object))
    };
    match with(&mut changes.iter()) {
        Ok(merged) => *current = merged,
        Err(err) => {
            // serde_json names no field for a wrong type: try the changed fields one at a time to find the
            // culprits, so the client is told `rag.topK` rather than `rag`
            let culprits: Vec<SettingsShapeError> = changes
                .iter()
                .filter_map(|field| {
                    with(&mut std::iter::once(field)).err().map(|err| SettingsShapeError {
                        path: format!("{name}.{}", field.0),
                        message: shape_message(&err),
                    })
                })
                .collect();
            if culprits.is_empty() {
                errors.push(SettingsShapeError { path: name.to_owned(), message: shape_message(&err) });
            } else {
                errors.extend(culprits);
            }
        }
    }
}

/// A serde message without its "at line … column …" suffix (there is no line in a `Value`).
fn shape_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

// ---- validators ----

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn not_blank(value: &str, (): &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

/// A BCP 47 language tag, loosely: a 2–3 letter language, then up to a few 1–8 character alphanumeric subtags.
#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn language_tag(value: &str, (): &()) -> garde::Result {
    let mut subtags = value.split('-');
    let language_ok =
        subtags.next().is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok = subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    if language_ok && rest_ok && value.len() <= 35 {
        Ok(())
    } else {
        Err(garde::Error::new("must be a language tag such as `en` or `pt-BR`"))
    }
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn model_name(value: &str, (): &()) -> garde::Result {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(garde::Error::new("must be a model name without spaces"))
    } else {
        Ok(())
    }
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn hex_color(value: &str, (): &()) -> garde::Result {
    let bytes = value.as_bytes();
    if bytes.len() == 7 && bytes[0] == b'#' && bytes[1..].iter().all(u8::is_ascii_hexdigit) {
        Ok(())
    } else {
        Err(garde::Error::new("must be a colour `#rrggbb`"))
    }
}

/// The base URL rule of [`LlmSettings::base_url`] for `provider`.
fn base_url_for(provider: LlmProvider) -> impl FnOnce(&Option<String>, &()) -> garde::Result {
    move |value, ()| match (provider, value) {
        (LlmProvider::OpenaiCompatible, None) => Err(garde::Error::new("is required for provider openai_compatible")),
        (LlmProvider::Local, Some(_)) => Err(garde::Error::new("is not used by provider local; leave it out")),
        (_, Some(url)) => check_base_url(url).map_err(garde::Error::new),
        (_, None) => Ok(()),
    }
}

/// `https://host[:port][/path]`, or `http://` to a loopback name; no credentials, query or fragment.
fn check_base_url(url: &str) -> Result<(), &'static str> {
    let lower = url.to_ascii_lowercase();
    let (https, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("must start with https:// (or http:// for localhost)");
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces");
    }
    if rest.contains(['?', '#']) {
        return Err("must not have a query or fragment");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not contain credentials; send the key as apiKey");
    }
    let host = host_of(authority).ok_or("must name a host")?;
    if !https && !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        return Err("must use https:// unless the host is localhost");
    }
    Ok(())
}

/// The host of `host[:port]` (IPv6 in brackets); `None` when empty or the port is not a number.
fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        (&authority[..=end], authority[end + 1..].strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    (port_ok && host_ok).then_some(host)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(report: &garde::Report) -> Vec<String> {
        report.iter().map(|(path, _)| path.to_string()).collect()
    }

    #[test]
    fn defaults_are_valid_and_fill_missing_sections() {
        let defaults = TenantSettings::default();
        defaults.validate().unwrap();
        assert_eq!(TenantSettings::from_stored(&json!({})), defaults);
        let stored = json!({ "rag": { "topK": 8 } });
        let read = TenantSettings::from_stored(&stored);
        assert_eq!(read.rag.top_k, 8);
        assert!(read.rag.enabled, "fields missing from a stored section read as defaults");
        assert_eq!(read.widget, WidgetSettings::default());
    }

    #[test]
    fn stored_settings_round_trip_in_camel_case() {
        let mut settings = TenantSettings::default();
        settings.llm.provider = LlmProvider::OpenaiCompatible;
        settings.llm.base_url = Some("http://localhost:11434/v1".into());
        let stored = settings.to_stored();
        assert_eq!(stored["llm"]["provider"], "openai_compatible");
        assert_eq!(stored["llm"]["baseUrl"], "http://localhost:11434/v1");
        assert_eq!(stored["rag"]["topK"], 5);
        assert_eq!(TenantSettings::from_stored(&stored), settings);
    }

    #[test]
    fn an_unreadable_stored_section_falls_back_to_its_defaults_alone() {
        let stored = json!({ "rag": { "topK": "many" }, "widget": { "agentName": "Robin" } });
        let read = TenantSettings::from_stored(&stored);
        assert_eq!(read.rag, RagSettings::default());
        assert_eq!(read.widget.agent_name, "Robin");
        assert_eq!(TenantSettings::from_stored(&json!("not an object")), TenantSettings::default());
    }

    #[test]
    fn patches_merge_field_by_field_within_a_section() {
        let current = TenantSettings::default();
        let patch = SettingsPatch {
            rag: Some(json!({ "topK": 12 })),
            assistant: Some(json!({ "language": "pt-BR", "tone": "concise" })),
            ..SettingsPatch::default()
        };
        let merged = current.merged(&patch).unwrap();
        assert_eq!(merged.rag.top_k, 12);
        assert!((merged.rag.min_score - current.rag.min_score).abs() < f64::EPSILON, "untouched field kept");
        assert_eq!(merged.assistant.tone, Tone::Concise);
        assert_eq!(merged.assistant.prompt, current.assistant.prompt);
        assert_eq!(merged.handoff, current.handoff, "absent section unchanged");
        assert_eq!(patch.changed_sections(), ["assistant", "rag"]);

        let cleared =
            merged.merged(&SettingsPatch { assistant: Some(json!({ "language": null })), ..SettingsPatch::default() });
        assert_eq!(cleared.unwrap().assistant.language, None);
    }

    #[test]
    fn shape_errors_name_the_field() {
        let current = TenantSettings::default();
        let patch = SettingsPatch {
            rag: Some(json!({ "topK": "ten", "enabled": false })),
            widget: Some(json!({ "colour": "#fff" })),
            handoff: Some(json!([1])),
            llm: Some(json!({ "provider": "mistral" })),
            ..SettingsPatch::default()
        };
        let errors = current.merged(&patch).unwrap_err();
        let got: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(got, ["rag.topK", "handoff", "llm.provider", "widget.colour"]);
        assert!(errors[0].message.contains("invalid type"), "{}", errors[0].message);
        assert!(!errors[0].message.contains("line"), "{}", errors[0].message);
        assert!(errors[3].message.contains("unknown field"), "{}", errors[3].message);
        let null_required =
            current.merged(&SettingsPatch { assistant: Some(json!({ "tone": null })), ..SettingsPatch::default() });
        assert_eq!(null_required.unwrap_err()[0].path, "assistant.tone");
    }

    #[test]
    fn validation_names_nested_fields() {
        let mut settings = TenantSettings::default();
        settings.rag.top_k = 21;
        settings.rag.min_score = 1.5;
        settings.handoff.keywords = vec!["x".into(); 51];
        settings.widget.primary_color = "blue".into();
        settings.widget.quick_replies = vec![" ".into()];
        settings.assistant.prompt = "p".repeat(PROMPT_MAX_CHARS + 1);
        settings.assistant.language = Some("english language".into());
        let report = settings.validate().unwrap_err();
        let paths = paths(&report);
        for expected in [
            "assistant.prompt",
            "assistant.language",
            "rag.top_k",
            "rag.min_score",
            "handoff.keywords",
            "widget.primary_color",
            "widget.quick_replies[0]",
        ] {
            assert!(paths.iter().any(|p| p == expected), "{expected} not in {paths:?}");
        }
        settings = TenantSettings::default();
        settings.assistant.prompt = "p".repeat(PROMPT_MAX_CHARS);
        settings.handoff.keywords = vec!["x".into(); HANDOFF_KEYWORDS_MAX];
        settings.widget.quick_replies = vec!["y".repeat(80); QUICK_REPLIES_MAX];
        settings.validate().unwrap();
    }

    #[test]
    fn base_urls_are_https_or_local_http() {
        for ok in [
            "https://api.openai.com/v1",
            "https://llm.example.com:8443",
            "http://localhost:11434/v1",
            "http://127.0.0.1:8000",
            "http://[::1]:8080/v1",
            "HTTPS://API.EXAMPLE.COM",
        ] {
            assert_eq!(check_base_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://api.example.com",
            "http://localhost.evil.com",
            "ftp://example.com",
            "https://",
            "https://user:pass@example.com",
            "https://example.com/v1?key=x",
            "https://exa mple.com",
            "https://example.com:port",
            "example.com",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_base_url_depends_on_the_provider() {
        let llm = |provider, base_url: Option<&str>| LlmSettings {
            provider,
            model: "m".into(),
            base_url: base_url.map(str::to_owned),
        };
        assert!(llm(LlmProvider::OpenaiCompatible, None).validate().is_err());
        assert!(llm(LlmProvider::OpenaiCompatible, Some("http://localhost:11434/v1")).validate().is_ok());
        assert!(llm(LlmProvider::Local, Some("https://example.com")).validate().is_err());
        assert!(llm(LlmProvider::Openai, None).validate().is_ok());
        assert!(llm(LlmProvider::Anthropic, Some("http://example.com")).validate().is_err());
        assert!(LlmSettings { model: "gpt 4".into(), ..LlmSettings::default() }.validate().is_err());
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "pt-BR", "zh-Hant-TW", "deu"] {
            assert!(language_tag(ok, &()).is_ok(), "{ok}");
        }
        for bad in ["", "e", "english", "en_US", "en-", "12"] {
            assert!(language_tag(bad, &()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_api_key_is_bound_to_its_tenant() {
        let tenant = TenantId::new();
        assert_eq!(llm_api_key_associated_data(tenant), format!("tenant:{tenant}:llm_api_key"));
    }
}
