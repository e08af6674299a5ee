//! The one error type of document validation and processing.

use crate::DocumentKind;

/// Longest reason kept in [`DocumentError::Malformed`], in characters.
const MAX_REASON_CHARS: usize = 300;

/// Why an upload was refused or could not be processed.
///
/// `to_string()` is written for the person who uploaded the file: it names no internal path, library or
/// offset, and stays well under 1000 characters, so it can be shown in the API and stored as the failure reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The content is not one of the allowed types (PDF, DOCX, HTML, Markdown, plain text, CSV).
    #[error("this file type is not supported: upload PDF, DOCX, HTML, Markdown, plain text or CSV")]
    UnsupportedType,
    /// The content is an allowed type, but not the one the upload declared (content type or file extension).
    #[error("the file content is {detected} but it was uploaded as {declared}")]
    TypeMismatch {
        /// What the bytes are.
        detected: DocumentKind,
        /// What the content type or file name said.
        declared: DocumentKind,
    },
    /// The upload is larger than the byte limit.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Processing the document would pass a limit (characters of text, number of chunks, archive size).
    #[error("the document has more than {limit} {what}")]
    LimitExceeded {
        /// What was counted, plural: `"characters of text"`, `"chunks"`, ...
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The file claims an allowed type but cannot be read as one (truncated PDF, broken archive, encrypted).
    #[error("the file could not be read: {0}")]
    Malformed(String),
    /// The file holds no extractable text (a scanned PDF without a text layer, an empty table, ...).
    #[error("the document contains no extractable text")]
    Empty,
    /// A fault of this service, not of the file (the tokenizer could not be loaded).
    #[error("the document could not be processed because of an internal error")]
    Internal,
}

impl DocumentError {
    /// A [`DocumentError::Malformed`] whose reason is cleaned of control characters and shortened.
    pub fn malformed(reason: &str) -> Self {
        let clean: String =
            reason.chars().filter(|c| !c.is_control()).take(MAX_REASON_CHARS).collect::<String>().trim().to_owned();
        Self::Malformed(if clean.is_empty() { "the file is damaged".to_owned() } else { clean })
    }

    /// The HTTP status an API should answer with: 415, 415, 413, 413, 400, 400, 500 in declaration order.
    pub fn status_code_hint(&self) -> u16 {
        match self {
            Self::UnsupportedType | Self::TypeMismatch { .. } => 415,
            Self::TooLarge { .. } | Self::LimitExceeded { .. } => 413,
            Self::Malformed(_) | Self::Empty => 400,
            Self::Internal => 500,
        }
    }

    /// The stable error code of the API envelope (see `docs/api.md`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedType | Self::TypeMismatch { .. } => "UNSUPPORTED_MEDIA_TYPE",
            Self::TooLarge { .. } | Self::LimitExceeded { .. } => "PAYLOAD_TOO_LARGE",
            Self::Malformed(_) | Self::Empty => "VALIDATION_ERROR",
            Self::Internal => "INTERNAL_ERROR",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<DocumentError> {
        vec![
            DocumentError::UnsupportedType,
            DocumentError::TypeMismatch { detected: DocumentKind::Pdf, declared: DocumentKind::PlainText },
            DocumentError::TooLarge { limit: 10 },
            DocumentError::LimitExceeded { what: "chunks", limit: 5 },
            DocumentError::malformed("x"),
            DocumentError::Empty,
            DocumentError::Internal,
        ]
    }

    #[test]
    fn status_hints_and_codes_follow_the_api_table() {
        let hints: Vec<u16> = all().iter().map(DocumentError::status_code_hint).collect();
        assert_eq!(hints, [415, 415, 413, 413, 400, 400, 500]);
        let codes: Vec<&str> = all().iter().map(DocumentError::code).collect();
        assert_eq!(
            codes,
            [
                "UNSUPPORTED_MEDIA_TYPE",
                "UNSUPPORTED_MEDIA_TYPE",
                "PAYLOAD_TOO_LARGE",
                "PAYLOAD_TOO_LARGE",
                "VALIDATION_ERROR",
                "VALIDATION_ERROR",
                "INTERNAL_ERROR"
            ]
        );
    }

    #[test]
    fn messages_are_short_and_safe() {
        let long = format!("/srv/secret/path\u{0}\n{}", "a".repeat(5000));
        let mut errors = all();
        errors.push(DocumentError::malformed(&long));
        errors.push(DocumentError::malformed("\n\t"));
        for err in errors {
            let text = err.to_string();
            assert!(text.chars().count() <= 1000, "{text}");
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        let mismatch = DocumentError::TypeMismatch { detected: DocumentKind::Pdf, declared: DocumentKind::PlainText };
        assert_eq!(mismatch.to_string(), "the file content is PDF but it was uploaded as plain text");
    }
}
