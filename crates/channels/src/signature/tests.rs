use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::*;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const BODY: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/text.json");

#[test]
fn accepts_the_signature_meta_would_send() {
    let header = sign_meta_body(SECRET, BODY);
    assert!(header.starts_with("sha256="));
    assert_eq!(header.len(), "sha256=".len() + 64);
    assert_eq!(verify_meta_signature(SECRET, BODY, Some(&header)), Ok(()));
}

#[test]
fn accepts_uppercase_hex_and_surrounding_whitespace() {
    let header = sign_meta_body(SECRET, BODY);
    let upper = format!("sha256={}", header["sha256=".len()..].to_ascii_uppercase());
    assert_eq!(verify_meta_signature(SECRET, BODY, Some(&upper)), Ok(()));
    assert_eq!(verify_meta_signature(SECRET, BODY, Some(&format!(" {header} "))), Ok(()));
}

#[test]
fn rejects_a_missing_or_blank_header() {
    assert_eq!(verify_meta_signature(SECRET, BODY, None), Err(SignatureError::Missing));
    assert_eq!(verify_meta_signature(SECRET, BODY, Some("  ")), Err(SignatureError::Missing));
}

#[test]
fn rejects_malformed_headers() {
    let hex = &sign_meta_body(SECRET, BODY)["sha256=".len()..];
    for header in [
        hex.to_owned(),                    // no prefix
        format!("sha1={hex}"),             // other algorithm
        format!("sha256={}", &hex[..63]),  // too short
        format!("sha256={hex}0"),          // too long
        format!("sha256={}g", &hex[..63]), // not hex
        format!("sha256={}é", &hex[..62]), // multibyte character
        "sha256=".to_owned(),              // empty tag
        "sha2".to_owned(),                 // shorter than the prefix
    ] {
        assert_eq!(verify_meta_signature(SECRET, BODY, Some(&header)), Err(SignatureError::Malformed), "{header}");
    }
}

#[test]
fn rejects_a_signature_over_different_bytes_or_with_another_secret() {
    let other_body = sign_meta_body(SECRET, b"{\"object\":\"page\"}");
    assert_eq!(verify_meta_signature(SECRET, BODY, Some(&other_body)), Err(SignatureError::Mismatch));
    let other_secret = sign_meta_body(b"another secret", BODY);
    assert_eq!(verify_meta_signature(SECRET, BODY, Some(&other_secret)), Err(SignatureError::Mismatch));
    let mut tampered = BODY.to_vec();
    tampered.push(b'\n');
    let header = sign_meta_body(SECRET, BODY);
    assert_eq!(verify_meta_signature(SECRET, &tampered, Some(&header)), Err(SignatureError::Mismatch));
}

#[test]
fn refuses_to_verify_with_an_empty_secret() {
    let header = sign_meta_body(b"", BODY);
    assert_eq!(verify_meta_signature(b"", BODY, Some(&header)), Err(SignatureError::Mismatch));
}

#[test]
fn keyed_mac_matches_hmac_for_short_block_sized_and_long_keys() {
    for key_len in [0, 1, 32, 63, 64, 65, 200] {
        let key = vec![0xA5_u8; key_len];
        let mut expected = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        expected.update(BODY);
        let mut actual = keyed_mac(&key);
        actual.update(BODY);
        assert_eq!(actual.finalize().into_bytes(), expected.finalize().into_bytes(), "key length {key_len}");
    }
}

#[test]
fn signs_a_known_vector() {
    // RFC 4231 test case 2.
    let header = sign_meta_body(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(header, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

#[test]
fn handshake_echoes_the_challenge_for_the_right_token() {
    let answer =
        verify_subscription(Some("subscribe"), Some("verify-me-please"), Some("1158201444"), "verify-me-please");
    assert_eq!(answer.as_deref(), Ok("1158201444"));
}

#[test]
fn handshake_rejects_a_wrong_or_missing_token() {
    for token in [Some("verify-me-pleasE"), Some("verify-me"), Some(""), None] {
        let answer = verify_subscription(Some("subscribe"), token, Some("1158201444"), "verify-me-please");
        assert_eq!(answer, Err(HandshakeError::TokenMismatch), "{token:?}");
    }
    let empty_expected = verify_subscription(Some("subscribe"), Some(""), Some("1158201444"), "");
    assert_eq!(empty_expected, Err(HandshakeError::TokenMismatch));
}

#[test]
fn handshake_rejects_a_wrong_or_missing_mode() {
    for mode in [Some("unsubscribe"), Some("Subscribe"), Some(""), None] {
        let answer = verify_subscription(mode, Some("verify-me-please"), Some("1158201444"), "verify-me-please");
        assert_eq!(answer, Err(HandshakeError::WrongMode), "{mode:?}");
    }
}

#[test]
fn handshake_rejects_missing_or_unsafe_challenges() {
    let too_long = "1".repeat(MAX_CHALLENGE_LEN + 1);
    for challenge in
        [None, Some(""), Some(too_long.as_str()), Some("12\n34"), Some("12 34"), Some("12\u{7f}"), Some("ünï")]
    {
        let answer = verify_subscription(Some("subscribe"), Some("verify-me-please"), challenge, "verify-me-please");
        assert_eq!(answer, Err(HandshakeError::InvalidChallenge), "{challenge:?}");
    }
    let longest = "9".repeat(MAX_CHALLENGE_LEN);
    let answer = verify_subscription(Some("subscribe"), Some("verify-me-please"), Some(&longest), "verify-me-please");
    assert_eq!(answer, Ok(longest));
}
