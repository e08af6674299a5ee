//! The OpenAPI document (utoipa). Paths are relative to the `/api/v1` server; add each new handler to
//! `paths(...)` and its types to `components(...)`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorCode, ErrorEnvelope, FieldError};
use crate::routes::{auth, contacts, conversations, health};

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
        contacts::erase_contact
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
        contacts::ContactExportResponse
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Sign-up, email verification, login, token refresh, password reset"),
        (name = "inbox", description = "The agent inbox: conversations, messages, handoff"),
        (name = "contacts", description = "End users: GDPR export and erasure")
    )
)]
pub struct ApiDoc;

/// Declares the `bearerAuth` scheme (an access token from `POST /auth/login`) that protected paths name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}
