//! Loaders: one per document kind, each turning bytes into [`Extracted`] sections of normalised text that carry
//! their heading path, page or rows. The chunker never crosses a section boundary.

mod csv;
mod docx;
mod html;
mod markdown;
mod pdf;
mod plain;

use crate::normalize;
use crate::{DocumentError, DocumentKind, ProcessOptions};

/// A run of text that shares its place in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// Headings from the outermost to the innermost one in force.
    pub(crate) heading_path: Vec<String>,
    /// 1-based page (PDF).
    pub(crate) page: Option<u32>,
    /// A label for non-prose content: `"table"`.
    pub(crate) label: Option<&'static str>,
    pub(crate) body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// Paragraphs separated by blank lines; split at paragraph, then sentence, then word boundaries.
    Text(String),
    /// CSV records rendered as `col: value; col: value`, with their 1-based row number (the header is not a row).
    Rows(Vec<(u32, String)>),
}

impl Section {
    pub(crate) fn text(heading_path: Vec<String>, text: String) -> Self {
        Self { heading_path, page: None, label: None, body: Body::Text(text) }
    }

    fn chars(&self) -> usize {
        match &self.body {
            Body::Text(text) => text.chars().count(),
            Body::Rows(rows) => rows.iter().map(|(_, row)| row.chars().count() + 1).sum(),
        }
    }
}

/// What a loader found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extracted {
    pub(crate) sections: Vec<Section>,
    /// Page count (PDF).
    pub(crate) pages: Option<u32>,
    /// Data rows (CSV).
    pub(crate) rows: Option<u32>,
}

impl Extracted {
    /// A sample of the running text for language detection.
    pub(crate) fn sample(&self, max_chars: usize) -> String {
        let mut sample = String::new();
        for section in &self.sections {
            let text = match &section.body {
                Body::Text(text) => text.as_str(),
                Body::Rows(rows) => rows.first().map_or("", |(_, row)| row.as_str()),
            };
            sample.extend(text.chars().take(max_chars.saturating_sub(sample.len())));
            sample.push('\n');
            if sample.len() >= max_chars {
                break;
            }
        }
        sample
    }
}

/// Extracts the text of a document whose kind was detected already.
pub(crate) fn extract(kind: DocumentKind, bytes: &[u8], options: &ProcessOptions) -> Result<Extracted, DocumentError> {
    let extracted = match kind {
        DocumentKind::Pdf => pdf::load(bytes, options)?,
        DocumentKind::Docx => docx::load(bytes, options)?,
        DocumentKind::Html => html::load(crate::upload::decode_text(bytes)?, options)?,
        DocumentKind::Markdown => markdown::load(crate::upload::decode_text(bytes)?, options)?,
        DocumentKind::PlainText => plain::load(crate::upload::decode_text(bytes)?),
        DocumentKind::Csv => csv::load(crate::upload::decode_text(bytes)?, options)?,
    };
    let total: usize = extracted.sections.iter().map(Section::chars).sum();
    if total > options.max_extracted_chars {
        return Err(too_many_chars(options.max_extracted_chars));
    }
    Ok(extracted)
}

pub(crate) fn too_many_chars(limit: usize) -> DocumentError {
    DocumentError::LimitExceeded { what: "characters of text", limit: u64::try_from(limit).unwrap_or(u64::MAX) }
}

/// Builds sections from a stream of headings, paragraphs and tables (DOCX, HTML, Markdown).
pub(crate) struct Outline {
    sections: Vec<Section>,
    /// `(level, title)` of the headings in force.
    path: Vec<(u8, String)>,
    /// The heading that opened the current section, repeated as its first line.
    heading: Option<String>,
    blocks: Vec<String>,
    chars: usize,
    max_chars: usize,
}

impl Outline {
    pub(crate) fn new(options: &ProcessOptions) -> Self {
        Self {
            sections: Vec::new(),
            path: Vec::new(),
            heading: None,
            blocks: Vec::new(),
            chars: 0,
            max_chars: options.max_extracted_chars,
        }
    }

    fn count(&mut self, text: &str) -> Result<(), DocumentError> {
        self.chars = self.chars.saturating_add(text.chars().count());
        if self.chars > self.max_chars { Err(too_many_chars(self.max_chars)) } else { Ok(()) }
    }

    /// A heading of `level` (1 = outermost) closes the current section and every heading at its level or deeper.
    pub(crate) fn heading(&mut self, level: u8, title: &str) -> Result<(), DocumentError> {
        let title = normalize::inline(title);
        if title.is_empty() {
            return Ok(());
        }
        self.count(&title)?;
        self.flush();
        while self.path.last().is_some_and(|(open, _)| *open >= level) {
            self.path.pop();
        }
        self.path.push((level, title.clone()));
        self.heading = Some(title);
        Ok(())
    }

    /// A paragraph, list item or code block, already normalised; empty ones are skipped.
    pub(crate) fn block(&mut self, text: String) -> Result<(), DocumentError> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.count(&text)?;
        self.blocks.push(text);
        Ok(())
    }

    /// A table: its rows (cells joined with ` | `) become a section of their own, labelled `table`.
    pub(crate) fn table(&mut self, rows: Vec<String>) -> Result<(), DocumentError> {
        let rows: Vec<String> = rows.into_iter().filter(|row| !row.replace('|', "").trim().is_empty()).collect();
        if rows.is_empty() {
            return Ok(());
        }
        let text = rows.join("\n");
        self.count(&text)?;
        self.flush();
        let mut section = Section::text(self.heading_path(), text);
        section.label = Some("table");
        self.sections.push(section);
        Ok(())
    }

    fn heading_path(&self) -> Vec<String> {
        self.path.iter().map(|(_, title)| title.clone()).collect()
    }

    fn flush(&mut self) {
        if self.blocks.is_empty() {
            return;
        }
        let mut parts: Vec<String> = self.heading.take().into_iter().collect();
        parts.append(&mut self.blocks);
        let section = Section::text(self.heading_path(), parts.join("\n\n"));
        self.sections.push(section);
    }

    pub(crate) fn finish(mut self) -> Vec<Section> {
        self.flush();
        self.sections
    }
}
