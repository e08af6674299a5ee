//! `process_with`: detection, extraction, language and chunking in one synchronous call.

use serde::{Deserialize, Serialize};

use crate::{Declared, DocumentError, DocumentKind, chunker, language, loaders, upload};

/// Characters of text sampled for language detection.
const LANGUAGE_SAMPLE_CHARS: usize = 4096;

/// Limits and chunking parameters of [`process_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessOptions {
    /// Most cl100k tokens in one chunk (default 400; values under 16 count as 16).
    pub max_chunk_tokens: u32,
    /// Tokens shared by neighbouring chunks of running text (default 60; at most half of `max_chunk_tokens`).
    pub overlap_tokens: u32,
    /// Most chunks per document; more is [`DocumentError::LimitExceeded`] (default 20 000).
    pub max_chunks: usize,
    /// Most characters of extracted text per document; more is [`DocumentError::LimitExceeded`] (default 20 000 000).
    pub max_extracted_chars: usize,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        Self { max_chunk_tokens: 400, overlap_tokens: 60, max_chunks: 20_000, max_extracted_chars: 20_000_000 }
    }
}

/// The outcome of processing one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The detected (and declared-compatible) kind.
    pub kind: DocumentKind,
    /// ISO 639-1 code of the main language, when it could be told.
    pub language: Option<&'static str>,
    /// Size of the upload in bytes.
    pub size_bytes: u64,
    /// SHA-256 of the upload.
    pub checksum: [u8; 32],
    /// Page count (PDF only).
    pub pages: Option<u32>,
    /// Data rows, header excluded (CSV only).
    pub rows: Option<u32>,
    /// The chunks, `position` 0, 1, 2, ... in document order.
    pub chunks: Vec<ChunkDraft>,
}

/// One chunk, ready to be stored and embedded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkDraft {
    /// 0-based, contiguous, in document order.
    pub position: u32,
    /// Normalised text: never blank, at most `max_chunk_tokens` tokens and 32 768 characters.
    pub content: String,
    /// cl100k tokens in `content`.
    pub token_count: u32,
    /// Where the chunk comes from.
    pub metadata: ChunkMetadata,
}

/// Where a chunk comes from; stored as JSON (`{"page"?, "headingPath", "row"?, "section"?, "charStart",
/// "charEnd"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkMetadata {
    /// 1-based page (PDF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Headings in force, outermost first (DOCX, HTML, Markdown); empty when there are none.
    #[serde(default)]
    pub heading_path: Vec<String>,
    /// First data row in the chunk, 1-based, the header not counted (CSV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    /// Kind of non-prose content the chunk comes from: `"table"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Offset of the chunk's first character in the extracted document text (sections joined by a blank line).
    pub char_start: u64,
    /// Offset just past the chunk's last character in the same text.
    pub char_end: u64,
}

/// [`process_with`] with [`ProcessOptions::default`].
pub fn process(bytes: &[u8], declared: &Declared) -> Result<Processed, DocumentError> {
    process_with(bytes, declared, &ProcessOptions::default())
}

/// Detects the kind ([`upload::detect`]), extracts the text, detects the language and chunks it.
///
/// Synchronous and CPU-bound (a 200-page document takes a fraction of a second in release builds): async callers
/// run it in `spawn_blocking`. The upload's byte limit is checked separately by [`upload::check_size`].
/// Deterministic: the same bytes and options give the same result.
pub fn process_with(bytes: &[u8], declared: &Declared, options: &ProcessOptions) -> Result<Processed, DocumentError> {
    let kind = upload::detect(bytes, declared)?;
    let extracted = loaders::extract(kind, bytes, options)?;
    let chunks = chunker::chunk(&extracted.sections, options)?;
    if chunks.is_empty() {
        return Err(DocumentError::Empty);
    }
    Ok(Processed {
        kind,
        language: language::detect(&extracted.sample(LANGUAGE_SAMPLE_CHARS)),
        size_bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        checksum: upload::checksum(bytes),
        pages: extracted.pages,
        rows: extracted.rows,
        chunks,
    })
}
