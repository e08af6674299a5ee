//! Opaque random tokens: refresh tokens and the single-use tokens sent by email (verification, password
//! reset). 32 bytes from the operating system's random source, sent as unpadded base64url (43 characters).
//! Only their SHA-256 is stored: the tokens have 256 bits of entropy, so a fast hash is enough, and a
//! database leak yields nothing that can be presented.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::random::{self, RandomError};

/// A SHA-256 digest, the stored form of an opaque token.
pub type TokenHash = [u8; 32];

/// A freshly generated token: the text to hand out once, and the hash to store.
#[derive(Clone)]
pub struct OpaqueToken {
    token: String,
    hash: TokenHash,
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken([redacted])")
    }
}

impl OpaqueToken {
    /// Generates a new token from 32 random bytes.
    pub fn generate() -> Result<Self, RandomError> {
        let mut bytes = [0_u8; 32];
        random::fill(&mut bytes)?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash(&token);
        Ok(Self { token, hash })
    }

    /// The token to send to its holder (never stored, never logged).
    pub fn expose(&self) -> &str {
        &self.token
    }

    /// The SHA-256 of the token, which is what gets stored and looked up.
    pub fn hash(&self) -> TokenHash {
        self.hash
    }
}

/// The SHA-256 of a presented token's text, to look it up by.
pub fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_hashed() {
        let a = OpaqueToken::generate().unwrap();
        let b = OpaqueToken::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(a.hash(), hash(a.expose()));
        assert_ne!(a.hash(), b.hash());
        assert_eq!(format!("{a:?}"), "OpaqueToken([redacted])");
    }

    #[test]
    fn hash_is_sha256() {
        // echo -n abc | sha256sum
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex = hash("abc").iter().fold(String::new(), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        });
        assert_eq!(hex, expected);
    }
}
