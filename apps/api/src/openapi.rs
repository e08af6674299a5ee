//! The OpenAPI document (utoipa). Paths are relative to the `/api/v1` server; add each new handler to
//! `paths(...)` and its types to `components(...)`.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorCode, ErrorEnvelope, FieldError};
use crate::routes::{
    admin, api_keys, auth, billing, channels, contacts, conversations, health, integrations, media, team, tenant,
    webhooks,
};

/// The whole API's OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Meta Chat Platform API",
        description = "Multi-tenant messaging platform. Every error uses the `ErrorEnvelope` shape. \
                       The unversioned `/api/...` paths answer like `/api/v1/...` but are deprecated \
                       (`Deprecation`, `Sunset`, `Link` headers). The health routes also answer at the root \
                       (`/health`, `/health/live`, `/health/ready`)."
    ),
    servers((url = "/api/v1", description = "This server, version 1")),
    paths(
        health::health,
        health::live,
        health::ready,
        auth::signup,
        auth::verify_email,
        auth::resend_verification,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::forgot_password,
        auth::reset_password,
        auth::get_me,
        conversations::list_conversations,
        conversations::get_conversation,
        conversations::update_conversation,
        conversations::list_messages,
        conversations::send_agent_message,
        conversations::handoff_conversation,
        conversations::release_conversation,
        contacts::export_contact,
        contacts::erase_contact,
        admin::admin_login,
        admin::list_tenants,
        admin::get_tenant,
        admin::update_tenant,
        admin::list_audit_log,
        api_keys::list_api_keys,
        api_keys::create_api_key,
        api_keys::rotate_api_key,
        api_keys::revoke_api_key,
        channels::list_channels,
        channels::create_channel,
        channels::get_channel,
        channels::update_channel,
        channels::delete_channel,
        media::get_message_media,
        billing::list_plans,
        integrations::verify_whatsapp_channel,
        integrations::receive_whatsapp_channel,
        integrations::verify_messenger_channel,
        integrations::receive_messenger_channel,
        integrations::verify_whatsapp_platform,
        integrations::receive_whatsapp_platform,
        integrations::verify_messenger_platform,
        integrations::receive_messenger_platform,
        tenant::get_tenant,
        tenant::update_tenant,
        team::list_users,
        team::invite_user,
        team::update_user,
        team::remove_user,
        team::accept_invitation,
        webhooks::list_webhooks,
        webhooks::create_webhook,
        webhooks::get_webhook,
        webhooks::update_webhook,
        webhooks::delete_webhook,
        webhooks::list_deliveries,
        webhooks::test_webhook
    ),
    components(schemas(
        ErrorEnvelope,
        ErrorBody,
        ErrorCode,
        FieldError,
        health::HealthReport,
        health::HealthStatus,
        health::Checks,
        health::Check,
        health::CheckStatus,
        health::Liveness,
        auth::SignupRequest,
        auth::VerifyEmailRequest,
        auth::EmailRequest,
        auth::LoginRequest,
        auth::RefreshRequest,
        auth::ResetPasswordRequest,
        auth::UserResponse,
        auth::TenantResponse,
        auth::AccountResponse,
        auth::UserEnvelope,
        auth::SessionResponse,
        conversations::UpdateConversationRequest,
        conversations::SendMessageRequest,
        conversations::HandoffRequest,
        conversations::ConversationStatusDto,
        conversations::ContactResponse,
        conversations::ConversationResponse,
        conversations::ConversationList,
        conversations::MessageResponse,
        conversations::MessageList,
        contacts::ExportedContact,
        contacts::ExportedConversation,
        contacts::ContactExportResponse,
        admin::TenantStatusDto,
        admin::PlanDto,
        admin::AdminLoginRequest,
        admin::UpdateTenantRequest,
        admin::AdminResponse,
        admin::AdminSessionResponse,
        admin::TenantCountsResponse,
        admin::AdminTenantResponse,
        admin::AdminTenantList,
        admin::AuditEntryResponse,
        admin::AuditLogList,
        api_keys::ApiScopeDto,
        api_keys::CreateApiKeyRequest,
        api_keys::ApiKeyResponse,
        api_keys::IssuedApiKeyResponse,
        api_keys::ApiKeyList,
        channels::ChannelTypeDto,
        integrations::WebhookAccepted,
        billing::PlanList,
        billing::PlanDto,
        billing::PriceDto,
        billing::LimitsDto,
        channels::WhatsAppConfigDoc,
        channels::MessengerConfigDoc,
        channels::WebChatConfigDoc,
        channels::ChannelConfigDoc,
        channels::CreateChannelRequest,
        channels::UpdateChannelRequest,
        channels::ChannelResponse,
        channels::ChannelList,
        tenant::UpdateTenantRequest,
        tenant::LlmSettingsUpdate,
        tenant::LlmSettingsResponse,
        tenant::TenantDetailsResponse,
        meta_chat_shared::settings::AssistantSettings,
        meta_chat_shared::settings::Tone,
        meta_chat_shared::settings::RagSettings,
        meta_chat_shared::settings::HandoffSettings,
        meta_chat_shared::settings::LlmProvider,
        meta_chat_shared::settings::WidgetSettings,
        team::InviteUserRequest,
        team::UpdateUserRequest,
        team::AcceptInvitationRequest,
        team::TeamMemberResponse,
        team::TeamMemberList,
        webhooks::EventTypeDto,
        webhooks::CreateWebhookRequest,
        webhooks::UpdateWebhookRequest,
        webhooks::WebhookResponse,
        webhooks::CreatedWebhookResponse,
        webhooks::WebhookList,
        webhooks::DeliveryStatusDto,
        webhooks::DeliveryResponse,
        webhooks::DeliveryList,
        webhooks::TestDeliveryResponse
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Sign-up, email verification, login, token refresh, password reset"),
        (name = "inbox", description = "The agent inbox: conversations, messages, handoff"),
        (name = "contacts", description = "End users: GDPR export and erasure"),
        (name = "admin", description = "Platform administration: tenants, suspension, plan overrides, audit log"),
        (name = "api-keys", description = "Server-to-server API keys: create (shown once), list, rotate, revoke"),
        (name = "channels", description = "WhatsApp numbers, Messenger pages and web chat widgets"),
        (name = "billing", description = "Plans (public); subscriptions, usage and Stripe come with the billing issue"),
        (name = "integrations", description = "Meta webhooks (WhatsApp, Messenger): signature-authenticated deliveries"),
        (name = "tenant", description = "The organisation and its settings: assistant, RAG, handoff, LLM, widget"),
        (name = "team", description = "Team members: invitations, roles, removal"),
        (name = "webhooks", description = "Tenant webhooks: signed event deliveries to your URLs, delivery log, test sends")
    )
)]
pub struct ApiDoc;

/// Declares the `bearerAuth` scheme (an access token from `POST /auth/login`, or an API key `mck_…`) that
/// protected paths name, and `apiKeyAuth` (an API key in `X-API-Key`) that paths open to API keys name too.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
        components
            .add_security_scheme("apiKeyAuth", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}
