//! API key material and scopes. A key is `mck_`, then 8 alphanumerics (the lookup prefix, stored and
//! shown), then 43 alphanumerics of secret (≈ 256 bits), all from the OS CSPRNG. Only the prefix and the
//! SHA-256 of the whole key are stored: keys are long random strings, so a fast hash is enough (nothing to
//! brute-force), and the plain key exists only in the creation and rotation responses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::config::Secret;
use crate::domain::ParseEnumError;
use crate::random::{self, RandomError};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "mck_";
/// Random alphanumerics after [`KEY_PREFIX`] that form the stored, unique lookup prefix.
pub const LOOKUP_CHARS: usize = 8;
/// Secret alphanumerics after the lookup prefix in generated keys (43 × log2(62) ≈ 256 bits).
pub const SECRET_CHARS: usize = 43;
/// Longest secret part accepted when parsing (room for longer keys later; bounds the work per request).
const MAX_SECRET_CHARS: usize = 128;

/// What an API key may do. One spelling on the wire and in the database; parsing is strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiScope {
    /// `POST /chat`.
    Chat,
    /// Read knowledge-base documents and run retrieval tests.
    DocumentsRead,
    /// Upload, change and delete documents.
    DocumentsWrite,
    /// Read conversations and messages.
    ConversationsRead,
    /// Reply to, hand off and update conversations.
    ConversationsWrite,
    /// Read analytics.
    AnalyticsRead,
    /// Everything the key's tenant can do through the API; implies every other scope.
    Admin,
}

impl ApiScope {
    /// Every scope, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::Chat,
        Self::DocumentsRead,
        Self::DocumentsWrite,
        Self::ConversationsRead,
        Self::ConversationsWrite,
        Self::AnalyticsRead,
        Self::Admin,
    ];

    /// The one spelling used on the wire and in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::DocumentsRead => "documents:read",
            Self::DocumentsWrite => "documents:write",
            Self::ConversationsRead => "conversations:read",
            Self::ConversationsWrite => "conversations:write",
            Self::AnalyticsRead => "analytics:read",
            Self::Admin => "admin",
        }
    }

    /// Whether a key holding `granted` may act where `self` is required (`admin` grants everything).
    pub fn is_granted_by(self, granted: &[Self]) -> bool {
        granted.iter().any(|g| *g == self || *g == Self::Admin)
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiScope {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|scope| scope.as_str() == s).ok_or_else(|| ParseEnumError {
            kind: "API key scope",
            value: s.chars().take(64).collect(),
            expected: Self::ALL.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
}

impl Serialize for ApiScope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ApiScope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// SHA-256 of a whole key, as stored in `api_keys.key_hash`.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A freshly generated key: the plain key (shown once), its lookup prefix and its hash.
pub struct GeneratedApiKey {
    key: Secret,
    prefix: String,
    hash: [u8; 32],
}

impl GeneratedApiKey {
    /// Draws a new key from the OS CSPRNG.
    pub fn generate() -> Result<Self, RandomError> {
        let lookup = random::alphanumeric(LOOKUP_CHARS)?;
        let secret = random::alphanumeric(SECRET_CHARS)?;
        let prefix = format!("{KEY_PREFIX}{lookup}");
        let key = format!("{prefix}{secret}");
        let hash = hash_key(&key);
        Ok(Self { key: Secret::new(key), prefix, hash })
    }

    /// The plain key: return it to the caller once, never store or log it.
    pub fn key(&self) -> &Secret {
        &self.key
    }

    /// The stored, displayed lookup prefix (`mck_` + 8 characters).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// SHA-256 of the whole key.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
}

impl fmt::Debug for GeneratedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedApiKey").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// A key as a client presented it, checked for shape and hashed. Holds no plain text.
#[derive(Clone)]
pub struct PresentedApiKey {
    prefix: String,
    hash: [u8; 32],
}

impl PresentedApiKey {
    /// Parses `mck_` + 8 alphanumerics + 43–128 alphanumerics; anything else is `None` (not a key of ours).
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(KEY_PREFIX)?;
        let secret_len = rest.len().checked_sub(LOOKUP_CHARS)?;
        if !(SECRET_CHARS..=MAX_SECRET_CHARS).contains(&secret_len) || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        Some(Self { prefix: text[..KEY_PREFIX.len() + LOOKUP_CHARS].to_owned(), hash: hash_key(text) })
    }

    /// The lookup prefix to find the stored key by.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Compares with a stored hash in constant time.
    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        stored_hash.len() == self.hash.len() && bool::from(self.hash.ct_eq(stored_hash))
    }
}

impl fmt::Debug for PresentedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedApiKey").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let generated = GeneratedApiKey::generate().unwrap();
        let key = generated.key().expose();
        assert_eq!(key.len(), KEY_PREFIX.len() + LOOKUP_CHARS + SECRET_CHARS);
        assert!(key.starts_with(generated.prefix()));
        let prefix = generated.prefix();
        assert!(prefix.starts_with("mck_") && prefix.len() == 12, "{prefix}");
        assert!(prefix[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(generated.hash(), &hash_key(key));
        assert!(!format!("{generated:?}").contains(&key[12..]), "Debug must not show the secret");
        let other = GeneratedApiKey::generate().unwrap();
        assert_ne!(other.prefix(), generated.prefix());
        assert_ne!(other.hash(), generated.hash());
    }

    #[test]
    fn presented_key_round_trips_and_matches_only_its_hash() {
        let generated = GeneratedApiKey::generate().unwrap();
        let presented = PresentedApiKey::parse(generated.key().expose()).unwrap();
        assert_eq!(presented.prefix(), generated.prefix());
        assert!(presented.matches(generated.hash()));
        assert!(!presented.matches(&[0; 32]));
        assert!(!presented.matches(&generated.hash()[..31]), "length is checked");
        let mut wrong_secret = generated.key().expose().to_owned();
        let last = if wrong_secret.ends_with('A') { "B" } else { "A" };
        wrong_secret.replace_range(wrong_secret.len() - 1.., last);
        let wrong = PresentedApiKey::parse(&wrong_secret).unwrap();
        assert_eq!(wrong.prefix(), generated.prefix());
        assert!(!wrong.matches(generated.hash()));
    }

    #[test]
    fn parsing_rejects_foreign_shapes() {
        let good = GeneratedApiKey::generate().unwrap().key().expose().to_owned();
        let too_long = format!("mck_{}", "a".repeat(LOOKUP_CHARS + MAX_SECRET_CHARS + 1));
        for bad in [
            "",
            "mck_",
            "mck_abcdefgh",
            &good[..good.len() - 1],
            &good.replacen("mck_", "MCK_", 1),
            &good.replacen("mck_", "sk_", 1),
            &format!("{good}-"),
            &format!(" {good}"),
            &good.replace(&good[20..21], "é"),
            &too_long,
        ] {
            assert!(PresentedApiKey::parse(bad).is_none(), "{bad:?}");
        }
        assert!(PresentedApiKey::parse(&format!("mck_{}", "a".repeat(LOOKUP_CHARS + MAX_SECRET_CHARS))).is_some());
    }

    #[test]
    fn scopes_parse_strictly_and_round_trip() {
        for scope in ApiScope::ALL {
            assert_eq!(scope.as_str().parse::<ApiScope>().unwrap(), *scope);
            let json = serde_json::to_string(scope).unwrap();
            assert_eq!(serde_json::from_str::<ApiScope>(&json).unwrap(), *scope);
        }
        for bad in ["Chat", "documents", "documents:READ", " chat", "", "documents_read"] {
            assert!(bad.parse::<ApiScope>().is_err(), "{bad}");
        }
        let err = "x".parse::<ApiScope>().unwrap_err().to_string();
        assert!(err.contains("chat, documents:read, documents:write"), "{err}");
    }

    #[test]
    fn admin_grants_every_scope_and_others_only_themselves() {
        assert!(ApiScope::DocumentsWrite.is_granted_by(&[ApiScope::Admin]));
        assert!(ApiScope::Chat.is_granted_by(&[ApiScope::DocumentsRead, ApiScope::Chat]));
        assert!(!ApiScope::DocumentsWrite.is_granted_by(&[ApiScope::DocumentsRead]));
        assert!(!ApiScope::Admin.is_granted_by(&[ApiScope::Chat]));
        assert!(!ApiScope::Chat.is_granted_by(&[]));
    }
}
