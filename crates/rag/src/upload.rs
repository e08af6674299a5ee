//! Checks made on an upload before it is stored: size, type (from the content, checked against what the upload
//! declared) and the SHA-256 checksum used for deduplication.

mod sniff;

use sha2::{Digest, Sha256};

use crate::{DocumentError, DocumentKind};

pub(crate) use sniff::{csv_delimiter, decode_text};

/// What the upload said about itself: the file name and the `Content-Type`. Neither is trusted; they only decide
/// between compatible text kinds and are checked against the content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    content_type: Option<String>,
    extension: Option<String>,
}

impl Declared {
    /// `content_type` may carry parameters (`text/plain; charset=utf-8`); `application/octet-stream`, an empty
    /// value or `None` mean "not declared". Only the extension of `filename` is kept.
    pub fn new(filename: Option<&str>, content_type: Option<&str>) -> Self {
        let content_type = content_type
            .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .filter(|essence| !essence.is_empty() && essence != "application/octet-stream");
        let extension = filename
            .and_then(|name| name.rsplit(['/', '\\']).next())
            .and_then(|base| base.rsplit_once('.'))
            .map(|(stem, ext)| (stem, ext.trim().to_ascii_lowercase()))
            .filter(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
            .map(|(_, ext)| ext);
        Self { content_type, extension }
    }

    /// The declared MIME type without parameters, lower case, if one was declared.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The file name's extension, lower case, if it has one.
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }

    /// The kind the upload claims to be. The content type wins; a generic `text/plain` is refined by a text-kind
    /// extension (`notes.md` sent as `text/plain` is Markdown); without a content type the extension decides.
    /// `Err` when a content type is declared that is not on the allowlist.
    fn kind(&self) -> Result<Option<DocumentKind>, DocumentError> {
        let by_extension = self.extension().and_then(DocumentKind::from_extension);
        match self.content_type() {
            None => Ok(by_extension),
            Some(mime) => match DocumentKind::from_mime(mime) {
                None => Err(DocumentError::UnsupportedType),
                Some(DocumentKind::PlainText) => {
                    Ok(Some(by_extension.filter(|kind| kind.is_text()).unwrap_or(DocumentKind::PlainText)))
                }
                Some(kind) => Ok(Some(kind)),
            },
        }
    }
}

/// Refuses an empty upload ([`DocumentError::Empty`]) or one longer than `limit` bytes
/// ([`DocumentError::TooLarge`]). The size is measured from the bytes, never taken from a header.
pub fn check_size(bytes: &[u8], limit: u64) -> Result<(), DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::Empty);
    }
    match u64::try_from(bytes.len()) {
        Ok(size) if size <= limit => Ok(()),
        _ => Err(DocumentError::TooLarge { limit }),
    }
}

/// SHA-256 of the bytes.
pub fn checksum(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The document's kind, detected from the content and checked against what was declared.
///
/// PDF and DOCX are recognised by their signatures (`%PDF-`; a ZIP whose central directory lists
/// `word/document.xml` and `[Content_Types].xml`). Anything else must be UTF-8 text (a BOM is allowed) without
/// NULs or control characters; among text kinds a compatible declaration decides (a `.md` of plain prose is
/// Markdown, a `.csv` must parse as CSV), and without one the content does (HTML, CSV, Markdown, plain text).
///
/// Errors: [`DocumentError::Empty`] for no bytes, [`DocumentError::UnsupportedType`] for content or a declared
/// content type outside the allowlist, [`DocumentError::TypeMismatch`] when content and declaration disagree,
/// [`DocumentError::Malformed`] for a declared DOCX whose archive cannot be read.
pub fn detect(bytes: &[u8], declared: &Declared) -> Result<DocumentKind, DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::Empty);
    }
    let claimed = declared.kind()?;
    let detected = match sniff::sniff(bytes) {
        sniff::Sniffed::Pdf => DocumentKind::Pdf,
        sniff::Sniffed::Docx => DocumentKind::Docx,
        sniff::Sniffed::BrokenZip if claimed == Some(DocumentKind::Docx) => {
            return Err(DocumentError::malformed("the DOCX archive is damaged"));
        }
        sniff::Sniffed::BrokenZip | sniff::Sniffed::Other => return Err(DocumentError::UnsupportedType),
        sniff::Sniffed::Text(text) => return text_kind(&text, claimed),
    };
    match claimed {
        Some(declared) if declared != detected => Err(DocumentError::TypeMismatch { detected, declared }),
        _ => Ok(detected),
    }
}

/// Chooses among the text kinds: the declaration when the content is compatible with it, else the content.
fn text_kind(text: &sniff::TextTraits, claimed: Option<DocumentKind>) -> Result<DocumentKind, DocumentError> {
    let from_content = if text.html {
        DocumentKind::Html
    } else if text.csv {
        DocumentKind::Csv
    } else if text.markdown {
        DocumentKind::Markdown
    } else {
        DocumentKind::PlainText
    };
    let Some(declared) = claimed else { return Ok(from_content) };
    let compatible = match declared {
        DocumentKind::Pdf | DocumentKind::Docx => false,
        DocumentKind::PlainText | DocumentKind::Markdown => true,
        DocumentKind::Html => text.has_tags,
        DocumentKind::Csv => text.parses_as_csv,
    };
    if compatible { Ok(declared) } else { Err(DocumentError::TypeMismatch { detected: from_content, declared }) }
}

#[cfg(test)]
mod tests;
