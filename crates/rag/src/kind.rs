//! The allowlist of document types.

use std::fmt;

/// A document type the platform accepts. Anything else is refused with
/// [`DocumentError::UnsupportedType`](crate::DocumentError::UnsupportedType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// PDF with a text layer.
    Pdf,
    /// Word (Office Open XML) document.
    Docx,
    /// HTML page.
    Html,
    /// Markdown (`CommonMark` with tables).
    Markdown,
    /// UTF-8 plain text.
    PlainText,
    /// Comma-, semicolon- or tab-separated values with a header row.
    Csv,
}

impl DocumentKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 6] = [Self::Pdf, Self::Docx, Self::Html, Self::Markdown, Self::PlainText, Self::Csv];

    /// The canonical MIME type, as stored with the document.
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Html => "text/html",
            Self::Markdown => "text/markdown",
            Self::PlainText => "text/plain",
            Self::Csv => "text/csv",
        }
    }

    /// The kind a MIME type names: the canonical types and common aliases (`text/x-markdown`,
    /// `application/xhtml+xml`, `application/csv`, ...). Parameters (`; charset=utf-8`) and case are ignored.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/pdf" | "application/x-pdf" => Some(Self::Pdf),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Some(Self::Docx),
            "text/html" | "application/xhtml+xml" => Some(Self::Html),
            "text/markdown" | "text/x-markdown" | "text/md" => Some(Self::Markdown),
            "text/plain" => Some(Self::PlainText),
            // Windows browsers send `application/vnd.ms-excel` for .csv files.
            "text/csv"
            | "application/csv"
            | "text/x-csv"
            | "text/comma-separated-values"
            | "application/vnd.ms-excel" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The kind a file extension (without the dot, any case) names.
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension.to_ascii_lowercase().as_str() {
            "pdf" => Some(Self::Pdf),
            "docx" => Some(Self::Docx),
            "html" | "htm" | "xhtml" => Some(Self::Html),
            "md" | "markdown" | "mdown" | "mkd" => Some(Self::Markdown),
            "txt" | "text" => Some(Self::PlainText),
            "csv" | "tsv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// Whether the kind is text (decoded as UTF-8) rather than a binary container.
    pub fn is_text(self) -> bool {
        !matches!(self, Self::Pdf | Self::Docx)
    }

    /// A short name for people: `PDF`, `DOCX`, `HTML`, `Markdown`, `plain text`, `CSV`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Docx => "DOCX",
            Self::Html => "HTML",
            Self::Markdown => "Markdown",
            Self::PlainText => "plain text",
            Self::Csv => "CSV",
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_round_trip() {
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::from_mime(kind.mime_type()), Some(kind));
        }
        assert_eq!(DocumentKind::from_mime("Text/Plain; charset=UTF-8"), Some(DocumentKind::PlainText));
        assert_eq!(DocumentKind::from_mime("text/x-markdown"), Some(DocumentKind::Markdown));
        assert_eq!(DocumentKind::from_mime("image/png"), None);
        assert_eq!(DocumentKind::from_mime(""), None);
    }

    #[test]
    fn extensions() {
        assert_eq!(DocumentKind::from_extension("PDF"), Some(DocumentKind::Pdf));
        assert_eq!(DocumentKind::from_extension("md"), Some(DocumentKind::Markdown));
        assert_eq!(DocumentKind::from_extension("exe"), None);
    }
}
