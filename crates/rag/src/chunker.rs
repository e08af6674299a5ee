//! Token-aware chunking: `text-splitter` with the cl100k tokenizer splits each section at the largest boundary
//! that fits (blank lines, then lines, sentences, words), with overlap between neighbouring chunks. CSV rows are
//! packed whole, several per chunk, without overlap. Chunks never cross a section, never exceed the token budget
//! or [`MAX_CHUNK_CHARS`], and are never blank.

use std::sync::LazyLock;

use text_splitter::{ChunkConfig, TextSplitter};
use tiktoken_rs::CoreBPE;

use crate::loaders::{Body, Section};
use crate::{ChunkDraft, ChunkMetadata, DocumentError, ProcessOptions};

/// Longest chunk in characters (a database constraint).
pub(crate) const MAX_CHUNK_CHARS: usize = 32_768;
/// Smallest token budget honoured: below it one character may not fit.
const MIN_CHUNK_TOKENS: u32 = 16;
/// Characters between two sections in the document text that `charStart`/`charEnd` index.
const SECTION_GAP_CHARS: usize = 2;

/// The cl100k tokenizer, built once per process (the BPE ranks ship inside `tiktoken-rs`).
static TOKENIZER: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::cl100k_base().ok());

/// The shared cl100k tokenizer.
pub(crate) fn tokenizer() -> Result<&'static CoreBPE, DocumentError> {
    TOKENIZER.as_ref().ok_or(DocumentError::Internal)
}

/// cl100k tokens in `text`.
pub(crate) fn count_tokens(bpe: &CoreBPE, text: &str) -> usize {
    bpe.encode_ordinary(text).len()
}

/// Splits the sections into chunks numbered from 0.
pub(crate) fn chunk(sections: &[Section], options: &ProcessOptions) -> Result<Vec<ChunkDraft>, DocumentError> {
    let bpe = tokenizer()?;
    let budget = options.max_chunk_tokens.max(MIN_CHUNK_TOKENS) as usize;
    let overlap = (options.overlap_tokens as usize).min(budget / 2);
    let config = ChunkConfig::new(budget).with_sizer(bpe).with_overlap(overlap).map_err(|_| DocumentError::Internal)?;
    let mut chunker = Chunker {
        bpe,
        budget,
        splitter: TextSplitter::new(config),
        by_chars: TextSplitter::new(ChunkConfig::new(MAX_CHUNK_CHARS)),
        sink: Sink { bpe, max_chunks: options.max_chunks, chunks: Vec::new() },
    };
    let mut offset = 0_usize;
    for (index, section) in sections.iter().enumerate() {
        if index > 0 {
            offset += SECTION_GAP_CHARS;
        }
        offset += match &section.body {
            Body::Text(text) => chunker.text(section, text, offset, None)?,
            Body::Rows(rows) => chunker.rows(section, rows, offset)?,
        };
    }
    Ok(chunker.sink.chunks)
}

struct Chunker {
    bpe: &'static CoreBPE,
    budget: usize,
    splitter: TextSplitter<&'static CoreBPE>,
    by_chars: TextSplitter<text_splitter::Characters>,
    sink: Sink,
}

/// The chunks made so far.
struct Sink {
    bpe: &'static CoreBPE,
    max_chunks: usize,
    chunks: Vec<ChunkDraft>,
}

impl Chunker {
    /// Chunks one text starting at document character `offset`; returns its length in characters.
    fn text(&mut self, section: &Section, text: &str, offset: usize, row: Option<u32>) -> Result<usize, DocumentError> {
        let mut cursor = Cursor::default();
        for (byte, piece) in self.splitter.chunk_indices(text) {
            let start = offset + cursor.advance(text, byte);
            if piece.chars().count() > MAX_CHUNK_CHARS {
                let mut inner = Cursor::default();
                for (inner_byte, part) in self.by_chars.chunk_indices(piece) {
                    let part_start = start + inner.advance(piece, inner_byte);
                    self.sink.push(section, part, part_start, row)?;
                }
            } else {
                self.sink.push(section, piece, start, row)?;
            }
        }
        Ok(text.chars().count())
    }

    /// Packs whole rows into chunks (one row per line); a row over the budget is split like text.
    fn rows(&mut self, section: &Section, rows: &[(u32, String)], offset: usize) -> Result<usize, DocumentError> {
        let mut group: Vec<&str> = Vec::new();
        let mut group_row = 0_u32;
        let mut group_start = offset;
        let mut group_tokens = 0_usize;
        let mut position = offset;
        for (number, row) in rows {
            let tokens = count_tokens(self.bpe, row);
            let separator = usize::from(!group.is_empty());
            if !group.is_empty() && (group_tokens + separator + tokens > self.budget || tokens > self.budget) {
                self.push_rows(section, &group, group_row, group_start)?;
                group.clear();
                group_tokens = 0;
            }
            if tokens > self.budget {
                self.text(section, row, position, Some(*number))?;
            } else {
                if group.is_empty() {
                    group_row = *number;
                    group_start = position;
                } else {
                    group_tokens += 1;
                }
                group.push(row);
                group_tokens += tokens;
            }
            position += row.chars().count() + 1;
        }
        if !group.is_empty() {
            self.push_rows(section, &group, group_row, group_start)?;
        }
        Ok((position - offset).saturating_sub(1))
    }

    fn push_rows(&mut self, section: &Section, group: &[&str], row: u32, start: usize) -> Result<(), DocumentError> {
        let content = group.join("\n");
        if count_tokens(self.bpe, &content) > self.budget || content.chars().count() > MAX_CHUNK_CHARS {
            // Row tokens add up to at least the joined count; this is a safety net, not a path taken.
            self.text(section, &content, start, Some(row))?;
            return Ok(());
        }
        self.sink.push(section, &content, start, Some(row))
    }
}

impl Sink {
    fn push(&mut self, section: &Section, content: &str, start: usize, row: Option<u32>) -> Result<(), DocumentError> {
        if content.trim().is_empty() {
            return Ok(());
        }
        if self.chunks.len() >= self.max_chunks {
            return Err(DocumentError::LimitExceeded {
                what: "chunks",
                limit: u64::try_from(self.max_chunks).unwrap_or(u64::MAX),
            });
        }
        let metadata = ChunkMetadata {
            page: section.page,
            heading_path: section.heading_path.clone(),
            row,
            section: section.label.map(str::to_owned),
            char_start: to_u64(start),
            char_end: to_u64(start + content.chars().count()),
        };
        self.chunks.push(ChunkDraft {
            position: u32::try_from(self.chunks.len()).unwrap_or(u32::MAX),
            content: content.to_owned(),
            token_count: u32::try_from(count_tokens(self.bpe, content)).unwrap_or(u32::MAX),
            metadata,
        });
        Ok(())
    }
}

fn to_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// Converts the non-decreasing byte offsets of successive chunks into character offsets in one pass.
#[derive(Default)]
struct Cursor {
    byte: usize,
    chars: usize,
}

impl Cursor {
    fn advance(&mut self, text: &str, byte: usize) -> usize {
        if byte >= self.byte {
            self.chars += text.get(self.byte..byte).map_or(0, |skipped| skipped.chars().count());
        } else {
            self.chars = text.get(..byte).map_or(0, |head| head.chars().count());
        }
        self.byte = byte;
        self.chars
    }
}

#[cfg(test)]
mod tests;
