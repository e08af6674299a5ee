//! Signed access tokens (JWT, HS256). Every token carries a [`TokenKind`] (claim `kind`) and the audience of
//! that kind (`aud`); [`JwtKeys::verify`] takes the kind the caller requires and rejects every other one, so a
//! platform-admin or widget token never passes where a tenant user's is expected, and the other way round.
//!
//! Keys form a ring like [`crate::secrets::Keyring`]: tokens are signed with the current key and name it in
//! the `kid` header; any listed key verifies. Rotating means adding a key, making it current, and removing
//! the old one once the tokens it signed have expired (one access-token lifetime): nobody is logged out.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::AuthConfig;
use crate::domain::UserRole;
use crate::ids::{AdminId, ChannelId, ContactId, TenantId, UserId};

/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Who a token is for. Each kind has its own audience and is accepted only where that kind is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A user of a tenant (owner, admin, agent): the tenant API.
    TenantUser,
    /// A platform administrator: `/admin/*` only.
    PlatformAdmin,
    /// A web chat visitor: the widget's own endpoints only.
    WidgetSession,
}

impl TokenKind {
    /// The `aud` claim of tokens of this kind.
    pub const fn audience(self) -> &'static str {
        match self {
            Self::TenantUser => "meta-chat:tenant-user",
            Self::PlatformAdmin => "meta-chat:platform-admin",
            Self::WidgetSession => "meta-chat:widget-session",
        }
    }
}

/// The holder of a token, with what each kind needs to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A tenant user. The role is the one at issue time; authorisation re-reads it from the database.
    TenantUser {
        /// The user (`sub`).
        user: UserId,
        /// The user's tenant (`tid`).
        tenant: TenantId,
        /// The user's role (`role`).
        role: UserRole,
    },
    /// A platform administrator.
    PlatformAdmin {
        /// The administrator (`sub`).
        admin: AdminId,
    },
    /// A web chat visitor talking to one tenant's widget.
    WidgetSession {
        /// The visitor as a contact (`sub`).
        contact: ContactId,
        /// The tenant (`tid`).
        tenant: TenantId,
        /// The web chat channel (`chn`).
        channel: ChannelId,
    },
}

impl Subject {
    /// The kind of token this subject gets.
    pub const fn kind(&self) -> TokenKind {
        match self {
            Self::TenantUser { .. } => TokenKind::TenantUser,
            Self::PlatformAdmin { .. } => TokenKind::PlatformAdmin,
            Self::WidgetSession { .. } => TokenKind::WidgetSession,
        }
    }
}

/// The claims on the wire.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: Uuid,
    kind: TokenKind,
    iat: i64,
    exp: i64,
    jti: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<UserRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chn: Option<Uuid>,
}

impl Claims {
    fn subject(&self) -> Option<Subject> {
        Some(match self.kind {
            TokenKind::TenantUser => Subject::TenantUser {
                user: UserId::from_uuid(self.sub),
                tenant: TenantId::from_uuid(self.tid?),
                role: self.role?,
            },
            TokenKind::PlatformAdmin => Subject::PlatformAdmin { admin: AdminId::from_uuid(self.sub) },
            TokenKind::WidgetSession => Subject::WidgetSession {
                contact: ContactId::from_uuid(self.sub),
                tenant: TenantId::from_uuid(self.tid?),
                channel: ChannelId::from_uuid(self.chn?),
            },
        })
    }
}

/// A newly signed token.
#[derive(Clone)]
pub struct IssuedToken {
    /// The compact JWT to hand to the client.
    pub token: String,
    /// The token's id (`jti`).
    pub id: Uuid,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// Its lifetime in seconds (the `expiresIn` of a login response).
    pub expires_in: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A token that passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Whom it was issued to.
    pub subject: Subject,
    /// Its id (`jti`).
    pub id: Uuid,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused or could not be made. Callers answer every refusal the same way (401); the
/// variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, not HS256, no `kid`, or claims missing for its kind.
    #[error("malformed token")]
    Malformed,
    /// Signed with a key id this process does not know (retired, or never ours).
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// The signature, issuer or a claim did not verify.
    #[error("token signature or claims invalid")]
    Invalid,
    /// Past its `exp`.
    #[error("token expired")]
    Expired,
    /// A valid token of another kind than the one required.
    #[error("token of the wrong kind")]
    WrongKind,
    /// A configured key is not usable (not base64 or shorter than 32 bytes), or the current key is missing.
    #[error("JWT key `{0}` is not usable")]
    BadKey(String),
    /// Signing failed.
    #[error("token could not be signed")]
    Sign,
}

/// The JWT key ring: signs with the current key, verifies with any listed key.
#[derive(Clone)]
pub struct JwtKeys {
    issuer: String,
    current: String,
    encoding: EncodingKey,
    decoding: BTreeMap<String, DecodingKey>,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .field("current", &self.current)
            .field("key_ids", &self.decoding.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Builds the ring from validated configuration (`auth.issuer`, `auth.jwt_current_key_id`, `auth.jwt_keys`).
    pub fn from_config(config: &AuthConfig) -> Result<Self, TokenError> {
        let mut decoding = BTreeMap::new();
        let mut encoding = None;
        for (id, key) in &config.jwt_keys {
            let bytes = STANDARD.decode(key.expose().trim()).map_err(|_| TokenError::BadKey(id.clone()))?;
            if bytes.len() < 32 {
                return Err(TokenError::BadKey(id.clone()));
            }
            if *id == config.jwt_current_key_id {
                encoding = Some(EncodingKey::from_secret(&bytes));
            }
            decoding.insert(id.clone(), DecodingKey::from_secret(&bytes));
        }
        let encoding = encoding.ok_or_else(|| TokenError::BadKey(config.jwt_current_key_id.clone()))?;
        Ok(Self { issuer: config.issuer.clone(), current: config.jwt_current_key_id.clone(), encoding, decoding })
    }

    /// The id of the key new tokens are signed with.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// Signs a token for `subject`, valid for `ttl` from now.
    pub fn issue(&self, subject: &Subject, ttl: Duration) -> Result<IssuedToken, TokenError> {
        self.issue_at(subject, Utc::now(), ttl)
    }

    /// Signs a token for `subject` as if issued at `issued_at` (tests make expired tokens with it).
    pub fn issue_at(
        &self,
        subject: &Subject,
        issued_at: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<IssuedToken, TokenError> {
        let lifetime = chrono::Duration::from_std(ttl).map_err(|_| TokenError::Sign)?;
        let expires_at = issued_at + lifetime;
        let (sub, tid, role, chn) = match *subject {
            Subject::TenantUser { user, tenant, role } => (user.as_uuid(), Some(tenant.as_uuid()), Some(role), None),
            Subject::PlatformAdmin { admin } => (admin.as_uuid(), None, None, None),
            Subject::WidgetSession { contact, tenant, channel } => {
                (contact.as_uuid(), Some(tenant.as_uuid()), None, Some(channel.as_uuid()))
            }
        };
        let kind = subject.kind();
        let id = Uuid::now_v7();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: kind.audience().to_owned(),
            sub,
            kind,
            iat: issued_at.timestamp(),
            exp: expires_at.timestamp(),
            jti: id,
            tid,
            role,
            chn,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|_| TokenError::Sign)?;
        Ok(IssuedToken { token, id, expires_at, expires_in: ttl.as_secs() })
    }

    /// Verifies `token` and requires it to be of kind `expected`: signature (by the key its `kid` names),
    /// algorithm, issuer, audience, expiry and the claims that kind needs.
    pub fn verify(&self, token: &str, expected: TokenKind) -> Result<VerifiedToken, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.ok_or(TokenError::Malformed)?;
        let key = self.decoding.get(&kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[expected.audience()]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidAudience => TokenError::WrongKind,
                ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                    TokenError::Malformed
                }
                _ => TokenError::Invalid,
            })?
            .claims;
        if claims.kind != expected {
            return Err(TokenError::WrongKind);
        }
        let subject = claims.subject().ok_or(TokenError::Malformed)?;
        let time = |secs| DateTime::from_timestamp(secs, 0).ok_or(TokenError::Malformed);
        Ok(VerifiedToken { subject, id: claims.jti, issued_at: time(claims.iat)?, expires_at: time(claims.exp)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Secret};

    fn config(current: &str, keys: &[(&str, u8)]) -> AuthConfig {
        let mut config = Config::for_tests().auth;
        config.jwt_current_key_id = current.into();
        config.jwt_keys =
            keys.iter().map(|(id, byte)| ((*id).to_owned(), Secret::new(STANDARD.encode([*byte; 32])))).collect();
        config
    }

    fn user() -> Subject {
        Subject::TenantUser { user: UserId::new(), tenant: TenantId::new(), role: UserRole::Admin }
    }

    const TTL: Duration = Duration::from_secs(900);

    #[test]
    fn round_trip_names_the_key_and_keeps_the_subject() {
        let keys = JwtKeys::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let subject = user();
        let issued = keys.issue(&subject, TTL).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&issued.token).unwrap().kid.as_deref(), Some("k1"));
        assert_eq!(issued.expires_in, 900);
        let verified = keys.verify(&issued.token, TokenKind::TenantUser).unwrap();
        assert_eq!(verified.subject, subject);
        assert_eq!(verified.id, issued.id);
        assert_eq!(verified.expires_at.timestamp(), issued.expires_at.timestamp());
    }

    #[test]
    fn a_token_of_one_kind_never_passes_for_another() {
        let keys = JwtKeys::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let subjects = [
            user(),
            Subject::PlatformAdmin { admin: AdminId::new() },
            Subject::WidgetSession { contact: ContactId::new(), tenant: TenantId::new(), channel: ChannelId::new() },
        ];
        for subject in subjects {
            let token = keys.issue(&subject, TTL).unwrap().token;
            for kind in [TokenKind::TenantUser, TokenKind::PlatformAdmin, TokenKind::WidgetSession] {
                let result = keys.verify(&token, kind);
                if kind == subject.kind() {
                    assert_eq!(result.unwrap().subject, subject);
                } else {
                    assert_eq!(result.unwrap_err(), TokenError::WrongKind, "{:?} as {kind:?}", subject.kind());
                }
            }
        }
    }

    #[test]
    fn rotation_keeps_tokens_of_the_old_key_valid_until_it_is_removed() {
        let old = JwtKeys::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let subject = user();
        let old_token = old.issue(&subject, TTL).unwrap().token;
        let rotated = JwtKeys::from_config(&config("k2", &[("k1", 1), ("k2", 2)])).unwrap();
        assert_eq!(rotated.verify(&old_token, TokenKind::TenantUser).unwrap().subject, subject);
        let new_token = rotated.issue(&subject, TTL).unwrap().token;
        assert_eq!(jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref(), Some("k2"));
        assert_eq!(old.verify(&new_token, TokenKind::TenantUser).unwrap_err(), TokenError::UnknownKey);
        let retired = JwtKeys::from_config(&config("k2", &[("k2", 2)])).unwrap();
        assert_eq!(retired.verify(&old_token, TokenKind::TenantUser).unwrap_err(), TokenError::UnknownKey);
    }

    #[test]
    fn refuses_expired_forged_and_foreign_tokens() {
        let keys = JwtKeys::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let subject = user();
        let expired = keys.issue_at(&subject, Utc::now() - chrono::Duration::hours(1), TTL).unwrap().token;
        assert_eq!(keys.verify(&expired, TokenKind::TenantUser).unwrap_err(), TokenError::Expired);

        let same_kid_other_key = JwtKeys::from_config(&config("k1", &[("k1", 9)])).unwrap();
        let forged = same_kid_other_key.issue(&subject, TTL).unwrap().token;
        assert_eq!(keys.verify(&forged, TokenKind::TenantUser).unwrap_err(), TokenError::Invalid);

        let mut other_issuer = config("k1", &[("k1", 1)]);
        other_issuer.issuer = "someone-else".into();
        let foreign = JwtKeys::from_config(&other_issuer).unwrap().issue(&subject, TTL).unwrap().token;
        assert_eq!(keys.verify(&foreign, TokenKind::TenantUser).unwrap_err(), TokenError::Invalid);

        assert_eq!(keys.verify("garbage", TokenKind::TenantUser).unwrap_err(), TokenError::Malformed);
        let good = keys.issue(&subject, TTL).unwrap().token;
        let (head, _signature) = good.rsplit_once('.').unwrap();
        assert_eq!(keys.verify(&format!("{head}.AAAA"), TokenKind::TenantUser).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        let keys = JwtKeys::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let good = keys.issue(&user(), TTL).unwrap().token;
        let claims = good.split('.').nth(1).unwrap();
        let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#);
        assert_eq!(
            keys.verify(&format!("{none_header}.{claims}."), TokenKind::TenantUser).unwrap_err(),
            TokenError::Malformed
        );
    }

    #[test]
    fn bad_keys_are_reported_by_id() {
        let mut short = config("k1", &[("k1", 1)]);
        short.jwt_keys.insert("k1".into(), Secret::new(STANDARD.encode([1_u8; 16])));
        assert_eq!(JwtKeys::from_config(&short).unwrap_err(), TokenError::BadKey("k1".into()));
        let missing = config("k9", &[("k1", 1)]);
        assert_eq!(JwtKeys::from_config(&missing).unwrap_err(), TokenError::BadKey("k9".into()));
    }
}
