//! Random strings for credentials and public keys (API keys, widget keys), drawn from the operating
//! system's CSPRNG. Never a seeded or thread-local generator: these values are bearer secrets.

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The operating system's random source failed (no entropy available yet, sandbox refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed: {0}")]
pub struct RandomError(String);

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
}

/// `len` characters drawn uniformly from `[A-Za-z0-9]` (about 5.95 bits each).
pub fn alphanumeric(len: usize) -> Result<String, RandomError> {
    let mut out = String::with_capacity(len);
    let mut buf = [0_u8; 64];
    while out.len() < len {
        fill(&mut buf)?;
        // Rejection sampling: 248 = 4 * 62, so bytes below it map onto the alphabet without bias.
        for byte in buf.iter().copied().filter(|b| *b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHANUMERIC[usize::from(byte % 62)]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_has_the_length_and_alphabet_asked_for() {
        for len in [0, 1, 8, 43, 64, 200] {
            let s = alphanumeric(len).unwrap();
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()), "{s}");
        }
    }

    #[test]
    fn alphanumeric_values_differ_and_cover_the_alphabet() {
        assert_ne!(alphanumeric(32).unwrap(), alphanumeric(32).unwrap());
        let sample = alphanumeric(20_000).unwrap();
        for c in ALPHANUMERIC {
            assert!(sample.as_bytes().contains(c), "{} never drawn", char::from(*c));
        }
    }
}
