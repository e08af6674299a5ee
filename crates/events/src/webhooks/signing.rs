//! Signatures of tenant webhook deliveries: `X-MetaChat-Signature: v1=<hex HMAC-SHA256(secret,
//! "<timestamp>.<body>")>`, where `<timestamp>` is the `X-MetaChat-Timestamp` header (unix seconds) and
//! `<body>` the exact bytes of the request body. The key is the whole secret as shown at creation
//! (`whsec_…`, UTF-8 bytes). Signing the timestamp lets receivers refuse replays of old deliveries.

use std::time::Duration;

use hmac::digest::Key;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The event name (`message.received`).
pub const EVENT_HEADER: &str = "X-MetaChat-Event";
/// The delivery id (the delivery log row), the same on every retry: receivers deduplicate on it.
pub const DELIVERY_HEADER: &str = "X-MetaChat-Delivery";
/// Unix seconds when this attempt was signed.
pub const TIMESTAMP_HEADER: &str = "X-MetaChat-Timestamp";
/// `v1=<hex>`; several comma-separated values may appear, any one matching is enough.
pub const SIGNATURE_HEADER: &str = "X-MetaChat-Signature";
/// The scheme prefix of a signature value.
const SCHEME: &str = "v1=";

type HmacSha256 = Hmac<Sha256>;

/// An HMAC keyed with `secret`. RFC 2104 key preparation done here (a key longer than the block is hashed,
/// then zero-padded), so keys of every length are accepted without a fallible constructor.
fn keyed(secret: &[u8]) -> HmacSha256 {
    let mut key = Key::<HmacSha256>::default();
    if secret.len() > key.len() {
        let digest = Sha256::digest(secret);
        key[..digest.len()].copy_from_slice(&digest);
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    <HmacSha256 as KeyInit>::new(&key)
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = keyed(secret.as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-MetaChat-Signature` value for `body` sent at `timestamp` (unix seconds): `v1=<lowercase hex>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("{SCHEME}{}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

/// Whether `header_value` (the `X-MetaChat-Signature` header) holds a valid signature of `body` sent at
/// `timestamp` (the `X-MetaChat-Timestamp` header), and `timestamp` is within `tolerance` of the current
/// time. Tags are compared in constant time. An empty secret never verifies.
pub fn verify(secret: &str, header_value: &str, timestamp: i64, body: &[u8], tolerance: Duration) -> bool {
    verify_at(secret, header_value, timestamp, body, tolerance, chrono::Utc::now().timestamp())
}

/// [`verify`] against an explicit current time `now` (unix seconds).
pub fn verify_at(secret: &str, header_value: &str, timestamp: i64, body: &[u8], tolerance: Duration, now: i64) -> bool {
    if secret.is_empty() || now.abs_diff(timestamp) > tolerance.as_secs() {
        return false;
    }
    header_value.split(',').map(str::trim).filter_map(|value| value.strip_prefix(SCHEME)).any(|hex_tag| {
        let mut tag = [0_u8; 32];
        hex::decode_to_slice(hex_tag, &mut tag).is_ok() && mac(secret, timestamp, body).verify_slice(&tag).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: Duration = Duration::from_secs(300);

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        let mut mac = keyed(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // python3: hmac.new(b"whsec_test", b'1700000000.{"hello":"world"}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"hello":"world"}"#),
            "v1=f592bbf3951cfc94e560eecfb5d9dd4da6b0fff2e626235f8ab4b54860925d0b"
        );
    }

    #[test]
    fn verifies_its_own_signature_and_long_keys() {
        let secret = format!("whsec_{}", "k".repeat(100));
        let signature = sign(&secret, 1_700_000_000, b"{}");
        assert!(verify_at(&secret, &signature, 1_700_000_000, b"{}", TOLERANCE, 1_700_000_100));
        assert!(verify_at(&secret, &format!("v1=00, {signature}"), 1_700_000_000, b"{}", TOLERANCE, 1_700_000_000));
        let now = chrono::Utc::now().timestamp();
        assert!(verify(&secret, &sign(&secret, now, b"x"), now, b"x", TOLERANCE));
    }

    #[test]
    fn tampering_is_detected() {
        let signature = sign("whsec_test", 1_700_000_000, br#"{"amount":1}"#);
        let check = |secret: &str, header: &str, body: &[u8]| {
            verify_at(secret, header, 1_700_000_000, body, TOLERANCE, 1_700_000_000)
        };
        assert!(check("whsec_test", &signature, br#"{"amount":1}"#));
        assert!(!check("whsec_test", &signature, br#"{"amount":2}"#), "body changed");
        assert!(!check("whsec_other", &signature, br#"{"amount":1}"#), "other secret");
        assert!(!check("", &sign("", 1_700_000_000, b"{}"), b"{}"), "empty secret");
        let mut flipped = signature.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert!(!check("whsec_test", &String::from_utf8(flipped).unwrap(), br#"{"amount":1}"#), "tag changed");
        for malformed in ["", "v1=", "v1=zz", "v2=abcd", &signature.replace("v1=", "")] {
            assert!(!check("whsec_test", malformed, br#"{"amount":1}"#), "{malformed}");
        }
    }

    #[test]
    fn wrong_or_stale_timestamps_are_refused() {
        let signature = sign("whsec_test", 1_700_000_000, b"{}");
        // signed for one time, presented with another
        assert!(!verify_at("whsec_test", &signature, 1_700_000_001, b"{}", TOLERANCE, 1_700_000_001));
        // a replay outside the tolerance, either way
        assert!(!verify_at("whsec_test", &signature, 1_700_000_000, b"{}", TOLERANCE, 1_700_000_301));
        assert!(!verify_at("whsec_test", &signature, 1_700_000_000, b"{}", TOLERANCE, 1_699_999_699));
        assert!(verify_at("whsec_test", &signature, 1_700_000_000, b"{}", TOLERANCE, 1_700_000_300));
    }
}
