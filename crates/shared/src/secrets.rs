//! AES-256-GCM secret envelope with key ids, for channel tokens, app secrets, tenant LLM keys and webhook
//! signing secrets at rest.
//!
//! An envelope is the text `v1.<key id>.<base64 nonce>.<base64 ciphertext+tag>`. New secrets are encrypted
//! with the current key; any key still listed decrypts, so keys rotate without a flag day. The caller passes
//! associated data (for example `tenant:<id>:channel:<id>:accessToken`) that binds a ciphertext to its row:
//! an envelope copied to another row or tenant does not decrypt.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;

use crate::config::SecretsConfig;

const VERSION: &str = "v1";

/// Why a secret could not be sealed or opened. Deliberately vague about which part failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// The envelope is not `v1.<kid>.<nonce>.<ciphertext>`.
    #[error("malformed secret envelope")]
    Malformed,
    /// The envelope names a key this process does not know.
    #[error("unknown secret key id `{0}`")]
    UnknownKey(String),
    /// Authentication failed: tampered data, wrong key or wrong associated data.
    #[error("secret could not be decrypted")]
    Decrypt,
    /// A configured key is not base64 of 32 bytes.
    #[error("secret key `{0}` is not base64 of 32 bytes")]
    BadKey(String),
    /// The decrypted bytes are not UTF-8.
    #[error("decrypted secret is not UTF-8")]
    NotUtf8,
}

/// The set of known keys and the id of the one used for new envelopes.
#[derive(Clone)]
pub struct Keyring {
    current: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Builds the keyring from validated configuration.
    pub fn from_config(config: &SecretsConfig) -> Result<Self, SecretError> {
        let mut keys = BTreeMap::new();
        for (id, key) in &config.keys {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.expose().trim())
                .map_err(|_| SecretError::BadKey(id.clone()))?;
            if bytes.len() != 32 {
                return Err(SecretError::BadKey(id.clone()));
            }
            keys.insert(id.clone(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)));
        }
        if !keys.contains_key(&config.current_key_id) {
            return Err(SecretError::UnknownKey(config.current_key_id.clone()));
        }
        Ok(Self { current: config.current_key_id.clone(), keys })
    }

    /// The id of the key new envelopes use.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// Encrypts `plaintext` with the current key and a fresh random nonce.
    pub fn seal(&self, plaintext: &str, associated_data: &[u8]) -> Result<String, SecretError> {
        let cipher = self.keys.get(&self.current).ok_or_else(|| SecretError::UnknownKey(self.current.clone()))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: associated_data })
            .map_err(|_| SecretError::Decrypt)?;
        Ok(format!("{VERSION}.{}.{}.{}", self.current, B64.encode(nonce), B64.encode(ciphertext)))
    }

    /// Decrypts an envelope sealed with any known key and the same associated data.
    pub fn open(&self, envelope: &str, associated_data: &[u8]) -> Result<String, SecretError> {
        let mut parts = envelope.split('.');
        let (Some(VERSION), Some(kid), Some(nonce), Some(ciphertext), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretError::Malformed);
        };
        let cipher = self.keys.get(kid).ok_or_else(|| SecretError::UnknownKey(kid.to_owned()))?;
        let nonce = B64.decode(nonce).map_err(|_| SecretError::Malformed)?;
        if nonce.len() != 12 {
            return Err(SecretError::Malformed);
        }
        let ciphertext = B64.decode(ciphertext).map_err(|_| SecretError::Malformed)?;
        let plaintext = cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: associated_data })
            .map_err(|_| SecretError::Decrypt)?;
        String::from_utf8(plaintext).map_err(|_| SecretError::NotUtf8)
    }

    /// The key id an envelope was sealed with, so a re-encryption job can find envelopes on old keys.
    pub fn key_id_of(envelope: &str) -> Option<&str> {
        let mut parts = envelope.split('.');
        (parts.next() == Some(VERSION)).then(|| parts.next()).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn config(current: &str, keys: &[(&str, u8)]) -> SecretsConfig {
        SecretsConfig {
            current_key_id: current.into(),
            keys: keys
                .iter()
                .map(|(id, byte)| {
                    ((*id).to_owned(), Secret::new(base64::engine::general_purpose::STANDARD.encode([*byte; 32])))
                })
                .collect(),
        }
    }

    #[test]
    fn round_trip() {
        let ring = Keyring::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let sealed = ring.seal("EAAG-token", b"tenant:a").unwrap();
        assert!(sealed.starts_with("v1.k1."));
        assert!(!sealed.contains("EAAG"));
        assert_eq!(ring.open(&sealed, b"tenant:a").unwrap(), "EAAG-token");
        assert_ne!(ring.seal("EAAG-token", b"tenant:a").unwrap(), sealed, "nonces are fresh");
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let ring = Keyring::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let sealed = ring.seal("secret", b"").unwrap();
        let (head, tail) = sealed.rsplit_once('.').unwrap();
        let mut bytes = B64.decode(tail).unwrap();
        bytes[0] ^= 0x01;
        let tampered = format!("{head}.{}", B64.encode(bytes));
        assert_eq!(ring.open(&tampered, b""), Err(SecretError::Decrypt));
        assert_eq!(ring.open("v1.k1.abc", b""), Err(SecretError::Malformed));
        assert_eq!(ring.open("v2.k1.a.b", b""), Err(SecretError::Malformed));
    }

    #[test]
    fn wrong_associated_data_fails() {
        let ring = Keyring::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let sealed = ring.seal("secret", b"tenant:a").unwrap();
        assert_eq!(ring.open(&sealed, b"tenant:b"), Err(SecretError::Decrypt));
    }

    #[test]
    fn rotation_keeps_old_data_readable() {
        let old = Keyring::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let sealed_old = old.seal("old secret", b"ad").unwrap();
        let rotated = Keyring::from_config(&config("k2", &[("k1", 1), ("k2", 2)])).unwrap();
        assert_eq!(rotated.open(&sealed_old, b"ad").unwrap(), "old secret");
        let sealed_new = rotated.seal("new secret", b"ad").unwrap();
        assert_eq!(Keyring::key_id_of(&sealed_new), Some("k2"));
        assert_eq!(old.open(&sealed_new, b"ad"), Err(SecretError::UnknownKey("k2".into())));
        let retired = Keyring::from_config(&config("k2", &[("k2", 2)])).unwrap();
        assert_eq!(retired.open(&sealed_old, b"ad"), Err(SecretError::UnknownKey("k1".into())));
    }

    #[test]
    fn same_key_id_with_different_key_material_fails() {
        let a = Keyring::from_config(&config("k1", &[("k1", 1)])).unwrap();
        let b = Keyring::from_config(&config("k1", &[("k1", 9)])).unwrap();
        let sealed = a.seal("x", b"").unwrap();
        assert_eq!(b.open(&sealed, b""), Err(SecretError::Decrypt));
    }
}
