//! Verifying Stripe webhook signatures before anything in the body is read: the `Stripe-Signature` header
//! carries `t=<unix seconds>` and one or more `v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` values (several
//! while a secret is being rolled). A signature older or newer than the tolerance is refused, so a captured
//! delivery cannot be replayed later.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Stripe's default tolerance.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, no timestamp or no `v1` value.
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    /// The timestamp is outside the tolerance.
    #[error("the signature's timestamp is outside the tolerance")]
    Expired,
    /// No `v1` value matches the body.
    #[error("no signature matches the body")]
    Mismatch,
}

/// `t=…,v1=…` for `payload` at `timestamp` (tests and fakes).
#[must_use]
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let digest =
        mac(secret, timestamp, payload).map(|mac| hex::encode(mac.finalize().into_bytes())).unwrap_or_default();
    format!("t={timestamp},v1={digest}")
}

/// The MAC over `"<timestamp>.<payload>"`; `None` only if the key were refused, which HMAC never does.
fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

/// Checks `header` against `payload` at time `now` (unix seconds); returns the signed timestamp.
///
/// # Errors
/// [`SignatureError`]; an empty `secret` never verifies.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok().filter(|bytes| bytes.len() == 32)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(SignatureError::Expired);
    }
    if secret.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    let matches = signatures
        .iter()
        .any(|signature| mac(secret, timestamp, payload).is_some_and(|mac| mac.verify_slice(signature).is_ok()));
    if matches { Ok(timestamp) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_0123456789";
    const BODY: &[u8] = include_bytes!("../../../../shared/fixtures/stripe/checkout_completed.json");
    const NOW: i64 = 1_750_000_000;

    #[test]
    fn a_fresh_signature_over_the_exact_body_verifies() {
        let header = sign(SECRET, NOW, BODY);
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW + 10, DEFAULT_TOLERANCE), Ok(NOW));
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let good = sign(SECRET, NOW, BODY);
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t={NOW},v1={},v1={v1},v0=ignored", "ab".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW, DEFAULT_TOLERANCE), Ok(NOW));
    }

    #[test]
    fn a_changed_body_another_secret_or_an_old_timestamp_fail() {
        let header = sign(SECRET, NOW, BODY);
        let mut changed = BODY.to_vec();
        changed.push(b' ');
        assert_eq!(verify(SECRET, Some(&header), &changed, NOW, DEFAULT_TOLERANCE), Err(SignatureError::Mismatch));
        assert_eq!(verify("whsec_other", Some(&header), BODY, NOW, DEFAULT_TOLERANCE), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW + 301, DEFAULT_TOLERANCE), Err(SignatureError::Expired));
        assert_eq!(verify(SECRET, Some(&header), BODY, NOW - 301, DEFAULT_TOLERANCE), Err(SignatureError::Expired));
        assert_eq!(verify("", Some(&header), BODY, NOW, DEFAULT_TOLERANCE), Err(SignatureError::Mismatch));
    }

    #[test]
    fn malformed_headers_are_refused() {
        for header in [
            None,
            Some(""),
            Some("t=abc,v1=00"),
            Some("v1=deadbeef"),
            Some(&format!("t={NOW}")),
            Some(&format!("t={NOW},v1=xyz")),
        ] {
            assert_eq!(
                verify(SECRET, header, BODY, NOW, DEFAULT_TOLERANCE),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn matches_an_independently_computed_vector() {
        // python3: hmac.new(b"whsec_abc", b"1700000000.{}", hashlib.sha256).hexdigest()
        let header = sign("whsec_abc", 1_700_000_000, b"{}");
        assert_eq!(header, "t=1700000000,v1=bad9ac117e973d721c232d46744158d75e3f1b44e36771e13d01b9e6a580bc72");
    }
}
