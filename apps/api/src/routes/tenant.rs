//! The caller's tenant: `GET /tenant` (every role) and `PATCH /tenant` (owners and admins): the name and the
//! typed settings sections `assistant`, `rag`, `handoff`, `llm` and `widget`
//! ([`meta_chat_shared::settings`]). A section in a PATCH changes only the fields it names; absent sections
//! stay as they are. The LLM API key is write-only: `llm.apiKey` sets it (`null` removes it) and responses
//! only say `llm.hasApiKey`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_database::tenants::TenantDetails;
use meta_chat_shared::settings::{
    AssistantSettings, HandoffSettings, LlmProvider, RagSettings, SettingsPatch, WidgetSettings,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::extract::{ClientOrigin, TenantContext};
use crate::state::AppState;
use crate::tenancy::{self, LlmKeyChange, TenantUpdate};

/// Longest LLM API key accepted, in characters.
const API_KEY_MAX_CHARS: usize = 512;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tenant").route(web::get().to(get_tenant)).route(web::patch().to(update_tenant)));
}

// ---- request DTOs ----

/// `PATCH /tenant`. Every member is optional; a settings section changes only the fields it names.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateTenantRequest {
    /// The organisation's name, 1 to 200 characters.
    #[garde(inner(custom(not_blank), length(chars, min = 1, max = 200)))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Fields of the `assistant` section to change.
    #[garde(skip)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = AssistantSettings)]
    pub assistant: Option<Value>,
    /// Fields of the `rag` section to change.
    #[garde(skip)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = RagSettings)]
    pub rag: Option<Value>,
    /// Fields of the `handoff` section to change.
    #[garde(skip)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = HandoffSettings)]
    pub handoff: Option<Value>,
    /// Fields of the `llm` section to change, and the write-only `apiKey`.
    #[garde(skip)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = LlmSettingsUpdate)]
    pub llm: Option<Value>,
    /// Fields of the `widget` section to change.
    #[garde(skip)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = WidgetSettings)]
    pub widget: Option<Value>,
}

/// `llm` in `PATCH /tenant` (documentation of the accepted fields; each is optional).
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LlmSettingsUpdate {
    /// `local`, `openai`, `anthropic` or `openai_compatible`.
    pub provider: Option<LlmProvider>,
    /// The provider's model name.
    pub model: Option<String>,
    /// `https://…` (or `http://localhost…`); required for `openai_compatible`; `null` removes it.
    pub base_url: Option<String>,
    /// The provider's API key (up to 512 characters). Write-only: stored encrypted, never returned; `null`
    /// removes it.
    #[schema(write_only, max_length = 512)]
    pub api_key: Option<String>,
}

/// A member that is present in the body: `null` becomes `Some(Value::Null)` (refused as "must be an object")
/// rather than passing for an absent section.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn not_blank(value: &str, (): &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

/// Takes the write-only `apiKey` out of an `llm` section; what is left (if anything) is the settings change.
fn split_api_key(llm: Option<Value>) -> Result<(Option<Value>, LlmKeyChange), ApiError> {
    let Some(Value::Object(mut fields)) = llm else { return Ok((llm, LlmKeyChange::Keep)) };
    let key = match fields.remove("apiKey") {
        None => LlmKeyChange::Keep,
        Some(Value::Null) => LlmKeyChange::Remove,
        Some(Value::String(key)) => {
            let len = key.chars().count();
            if len == 0 || len > API_KEY_MAX_CHARS || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "llm.apiKey",
                    "must be 1 to 512 characters without spaces, or null to remove the key",
                )]));
            }
            LlmKeyChange::Set(key)
        }
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "llm.apiKey",
                "must be a string, or null to remove the key",
            )]));
        }
    };
    let rest = if fields.is_empty() { None } else { Some(Value::Object(fields)) };
    Ok((rest, key))
}

// ---- response DTOs ----

/// The `llm` section as shown: the key itself never is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmSettingsResponse {
    /// Which provider.
    pub provider: LlmProvider,
    /// The provider's model name.
    pub model: String,
    /// The provider's API base URL, when set.
    pub base_url: Option<String>,
    /// Whether an API key is stored.
    pub has_api_key: bool,
}

/// The tenant with its settings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantDetailsResponse {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// URL-safe handle.
    pub slug: String,
    /// The plan in force (`free`, `starter`, `pro`, `enterprise`).
    pub plan: String,
    /// `active` or `suspended`.
    pub status: String,
    /// How the assistant talks.
    pub assistant: AssistantSettings,
    /// Retrieval from the tenant's documents.
    pub rag: RagSettings,
    /// When a conversation goes to a human.
    pub handoff: HandoffSettings,
    /// The model provider (the API key is never shown).
    pub llm: LlmSettingsResponse,
    /// The web chat widget.
    pub widget: WidgetSettings,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&TenantDetails> for TenantDetailsResponse {
    fn from(details: &TenantDetails) -> Self {
        let settings = details.settings();
        let tenant = &details.tenant;
        Self {
            id: tenant.id,
            name: tenant.name.clone(),
            slug: tenant.slug.clone(),
            plan: tenant.plan().to_owned(),
            status: tenant.status.clone(),
            assistant: settings.assistant,
            rag: settings.rag,
            handoff: settings.handoff,
            llm: LlmSettingsResponse {
                provider: settings.llm.provider,
                model: settings.llm.model,
                base_url: settings.llm.base_url,
                has_api_key: details.llm_api_key_enc.is_some(),
            },
            widget: settings.widget,
            created_at: tenant.created_at,
            updated_at: details.updated_at,
        }
    }
}

// ---- handlers ----

/// The caller's organisation and its settings. Every role may read them.
#[utoipa::path(
    get,
    path = "/tenant",
    tag = "tenant",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The tenant", body = TenantDetailsResponse),
        (status = 401, description = "`UNAUTHORIZED` or `INVALID_TOKEN`", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: an API key, a disabled account or a suspended organisation", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %ctx.tenant_id))]
pub async fn get_tenant(ctx: TenantContext, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let details = tenancy::get_tenant(&state, &ctx).await?;
    Ok(HttpResponse::Ok().json(TenantDetailsResponse::from(&details)))
}

/// Change the organisation's name and settings (owners and admins). Each settings section present changes
/// only the fields it names (`null` clears an optional field); absent sections stay as they are. The whole
/// result is validated: an error names the field (`rag.topK`). `llm.apiKey` is write-only.
#[utoipa::path(
    patch,
    path = "/tenant",
    tag = "tenant",
    request_body = UpdateTenantRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The tenant as it is now", body = TenantDetailsResponse),
        (status = 400, description = "`VALIDATION_ERROR` naming the field, e.g. `rag.topK`", body = ErrorEnvelope),
        (status = 401, description = "`UNAUTHORIZED` or `INVALID_TOKEN`", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: agents cannot change the tenant", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %ctx.tenant_id))]
pub async fn update_tenant(
    ctx: TenantContext,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    body: web::Json<UpdateTenantRequest>,
) -> Result<HttpResponse, ApiError> {
    // role first: an agent learns nothing about what a valid body looks like
    ctx.require(meta_chat_shared::UserRole::Admin)?;
    let body = body.into_inner();
    body.validate()?;
    let (llm, llm_api_key) = split_api_key(body.llm)?;
    let update = TenantUpdate {
        name: body.name,
        settings: SettingsPatch {
            assistant: body.assistant,
            rag: body.rag,
            handoff: body.handoff,
            llm,
            widget: body.widget,
        },
        llm_api_key,
    };
    let details = tenancy::update_tenant(&state, &ctx, update, origin.0).await?;
    Ok(HttpResponse::Ok().json(TenantDetailsResponse::from(&details)))
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;

    fn object(value: &Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_api_key_is_taken_out_of_the_llm_section() {
        let (rest, key) = split_api_key(Some(json!({ "model": "gpt-4o-mini", "apiKey": "sk-test" }))).unwrap();
        assert_eq!(object(&rest.unwrap()), object(&json!({ "model": "gpt-4o-mini" })));
        assert!(matches!(key, LlmKeyChange::Set(k) if k == "sk-test"));

        let (rest, key) = split_api_key(Some(json!({ "apiKey": null }))).unwrap();
        assert!(rest.is_none(), "a section holding only the key changes no setting");
        assert!(matches!(key, LlmKeyChange::Remove));

        let (rest, key) = split_api_key(None).unwrap();
        assert!(rest.is_none() && matches!(key, LlmKeyChange::Keep));
        let (rest, _) = split_api_key(Some(json!("not an object"))).unwrap();
        assert_eq!(rest, Some(json!("not an object")), "left for the settings merge to refuse");
    }

    #[test]
    fn bad_api_keys_name_the_field() {
        for bad in [json!(""), json!("has space"), json!(42), json!("k".repeat(API_KEY_MAX_CHARS + 1))] {
            let err = split_api_key(Some(json!({ "apiKey": bad }))).unwrap_err();
            assert!(matches!(&err, ApiError::Validation(f) if f[0].path == "llm.apiKey"), "{err:?}");
        }
        assert!(format!("{:?}", LlmKeyChange::Set("sk-secret".into())).contains("redacted"));
    }
}
