//! Password hashing with argon2id, the argon2 crate's default parameters (OWASP's recommendation: 19 MiB,
//! two passes, one lane), stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
//!
//! Hashing and verifying cost about 0.15 s of CPU on purpose: callers in async code run them on a blocking
//! thread. [`verify_dummy`] spends the same time for an account that does not exist, so a login with an
//! unknown email cannot be told from one with a wrong password by its duration.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

/// Hashing failed (the system random source was unavailable).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

/// A hash of a random password with the current parameters, computed once, verified for unknown accounts.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut random = [0_u8; 24];
    crate::random::fill(&mut random).ok()?;
    hash_bytes(&random).ok()
});

fn hash_bytes(password: &[u8]) -> Result<String, PasswordError> {
    let hash: PasswordHash = Argon2::default().hash_password(password).map_err(|_| PasswordError)?;
    Ok(hash.to_string())
}

/// Hashes `password` with a fresh random salt; the result is a PHC string starting with `$argon2id$`.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    hash_bytes(password.as_bytes())
}

/// Whether `password` matches the PHC string `hash`. A malformed hash never matches. The parameters are
/// read from the hash, so hashes made with older parameters keep verifying.
pub fn verify(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// Verifies `password` against a hash nobody knows the password of, taking as long as [`verify`] does.
/// Call it where an account does not exist (or has no password) instead of answering at once.
pub fn verify_dummy(password: &str) {
    match DUMMY_HASH.as_deref() {
        Some(dummy) => {
            let _ = verify(password, dummy);
        }
        // no random source: hash instead, which costs the same
        None => {
            let _ = hash(password);
        }
    }
}

/// Computes the dummy hash now, so the first login with an unknown email is not the one that pays for it
/// (and so does not stand out by taking twice as long).
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_salts_differ() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "every hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn the_dummy_uses_the_current_parameters() {
        let dummy = DUMMY_HASH.as_deref().unwrap();
        let real = hash("x").unwrap();
        let params = |h: &str| h.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(dummy), params(&real));
        // the same work as a real check: an argon2id verification with the current parameters (how long it
        // takes is measured by benchmarks, not asserted in tests)
        verify_dummy("any password");
        assert!(!verify("any password", dummy));
    }
}
