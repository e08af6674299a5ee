//! [`ChannelsError`]: what preparing, updating or reading a channel's configuration can fail with.

use meta_chat_shared::random::RandomError;
use meta_chat_shared::secrets::SecretError;

use crate::config::SecretField;
use crate::validation::ValidationErrors;

/// A channel configuration failure. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum ChannelsError {
    /// The input was refused; each entry names a field by path (→ 400 `VALIDATION_ERROR`).
    #[error("request failed validation: {0}")]
    Validation(ValidationErrors),
    /// A stored row is not in the shape this crate writes (hand-edited or corrupted; → 500).
    #[error("stored channel data is invalid: {0}")]
    InvalidStoredData(String),
    /// The channel has no value for this secret field (for example a web chat without an identity secret).
    #[error("channel secret `{0}` is not set")]
    SecretNotSet(SecretField),
    /// Sealing or opening a secret failed: unknown key id, envelope of another row, tampering (→ 500).
    #[error("channel secret could not be sealed or opened: {0}")]
    Secret(#[from] SecretError),
    /// The operating system's random generator failed while generating a widget key (→ 500).
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl From<ValidationErrors> for ChannelsError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}
