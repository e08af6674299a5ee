//! Field-level validation errors: every rejected field is named by its JSON path in the request body
//! (`config.phoneNumberId`, `config.allowedOrigins[2]`), so the API can answer `VALIDATION_ERROR` with
//! `details.fields: [{path, message}]`. Messages describe the rule and never echo the submitted value.

use std::fmt;

use serde::Serialize;

/// One rejected field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field in the request body, camelCase (`config.appSecret`).
    pub path: String,
    /// What the field must look like; never contains the submitted value.
    pub message: String,
}

/// Every field error found in one input, in the order they were found. Never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// No errors yet.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Records that the field at `path` is invalid.
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { path: path.into(), message: message.into() });
    }

    /// Whether nothing was rejected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rejected fields.
    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }

    /// The rejected fields, owned.
    pub fn into_fields(self) -> Vec<FieldError> {
        self.0
    }

    /// Whether some error names exactly `path`.
    pub fn has(&self, path: &str) -> bool {
        self.0.iter().any(|e| e.path == path)
    }

    /// `Ok(value)` when nothing was rejected, the errors otherwise.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.path, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// A JSON object key as it may appear in an error path: bounded, printable, never a whole pasted secret.
pub(crate) fn key_for_path(key: &str) -> String {
    key.chars().filter(|c| !c.is_control()).take(64).collect()
}
