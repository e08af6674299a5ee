//! Authenticity checks for Meta webhooks (WhatsApp Cloud API and Messenger share them): the
//! `X-Hub-Signature-256` HMAC over the raw request body, and the `GET` subscription handshake that echoes
//! `hub.challenge` when `hub.verify_token` matches the channel's verify token.
//!
//! Both comparisons run in constant time, so response timing does not reveal how much of a forged
//! signature or token was right. Nothing here logs: the inputs are secrets or message bodies.

use hmac::digest::Key;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// The prefix of the `X-Hub-Signature-256` header value.
const SIGNATURE_PREFIX: &str = "sha256=";
/// Hex digits of an HMAC-SHA256 tag.
const SIGNATURE_HEX_LEN: usize = 64;
/// Longest `hub.challenge` echoed back; Meta sends a short decimal number.
pub const MAX_CHALLENGE_LEN: usize = 256;

/// Why a webhook body's signature was refused (→ 401 at the edge). Never carries the header or body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header, or a blank one.
    #[error("webhook signature header is missing")]
    Missing,
    /// The header is not `sha256=` followed by 64 hex digits.
    #[error("webhook signature header is malformed")]
    Malformed,
    /// The signature is well formed but was not made with this app secret over these bytes (or the
    /// configured app secret is empty, which is refused rather than trusted).
    #[error("webhook signature does not match")]
    Mismatch,
}

/// Why a `GET` subscription handshake was refused (→ 403 at the edge). Never carries the submitted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// `hub.mode` is missing or not `subscribe`.
    #[error("webhook handshake mode is not `subscribe`")]
    WrongMode,
    /// `hub.verify_token` is missing or differs from the channel's verify token.
    #[error("webhook handshake verify token does not match")]
    TokenMismatch,
    /// `hub.challenge` is missing, empty, longer than [`MAX_CHALLENGE_LEN`] or not visible ASCII.
    #[error("webhook handshake challenge is missing or invalid")]
    InvalidChallenge,
}

/// Checks the `X-Hub-Signature-256` header (`sha256=<hex HMAC-SHA256(app_secret, raw_body)>`, hex in
/// either case) against the exact bytes received, comparing tags in constant time.
pub fn verify_meta_signature(app_secret: &[u8], raw_body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let value = header.map(str::trim).filter(|value| !value.is_empty()).ok_or(SignatureError::Missing)?;
    let hex_tag = value
        .get(..SIGNATURE_PREFIX.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(SIGNATURE_PREFIX))
        .and_then(|_| value.get(SIGNATURE_PREFIX.len()..))
        .filter(|hex_tag| hex_tag.len() == SIGNATURE_HEX_LEN)
        .ok_or(SignatureError::Malformed)?;
    let mut tag = [0_u8; SIGNATURE_HEX_LEN / 2];
    hex::decode_to_slice(hex_tag, &mut tag).map_err(|_| SignatureError::Malformed)?;
    // An empty secret would let anyone sign; a channel without one must fail closed.
    if app_secret.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    let mut mac = keyed_mac(app_secret);
    mac.update(raw_body);
    mac.verify_slice(&tag).map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature-256` header value Meta would send for `raw_body`: `sha256=<lowercase hex>`.
/// Used by tests and fake webhook senders.
pub fn sign_meta_body(app_secret: &[u8], raw_body: &[u8]) -> String {
    let mut mac = keyed_mac(app_secret);
    mac.update(raw_body);
    format!("{SIGNATURE_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// Answers Meta's `GET` verification request (`hub.mode`, `hub.verify_token`, `hub.challenge`): returns the
/// challenge to echo as the response body when the mode is `subscribe` and the token matches
/// `expected_token` (compared in constant time). An empty `expected_token` never matches.
pub fn verify_subscription(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected_token: &str,
) -> Result<String, HandshakeError> {
    if mode != Some("subscribe") {
        return Err(HandshakeError::WrongMode);
    }
    let token = token.ok_or(HandshakeError::TokenMismatch)?;
    if expected_token.is_empty() || !bool::from(token.as_bytes().ct_eq(expected_token.as_bytes())) {
        return Err(HandshakeError::TokenMismatch);
    }
    let challenge = challenge.ok_or(HandshakeError::InvalidChallenge)?;
    // The challenge is reflected into a response body: only short, visible ASCII goes back out.
    let valid = !challenge.is_empty()
        && challenge.len() <= MAX_CHALLENGE_LEN
        && challenge.bytes().all(|byte| byte.is_ascii_graphic());
    if valid { Ok(challenge.to_owned()) } else { Err(HandshakeError::InvalidChallenge) }
}

/// HMAC-SHA256 keyed with `app_secret`. The key is brought to the block size as RFC 2104 prescribes (hashed
/// when longer, zero-padded otherwise), which is what `new_from_slice` does too, but this way construction
/// cannot fail and needs no `expect`.
fn keyed_mac(app_secret: &[u8]) -> Hmac<Sha256> {
    let mut key = Key::<Hmac<Sha256>>::default();
    if app_secret.len() > key.len() {
        let digest = Sha256::digest(app_secret);
        key[..digest.len()].copy_from_slice(&digest);
    } else {
        key[..app_secret.len()].copy_from_slice(app_secret);
    }
    <Hmac<Sha256> as KeyInit>::new(&key)
}

#[cfg(test)]
mod tests;
