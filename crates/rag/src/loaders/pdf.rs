//! PDF: the text layer of each page through `pdf-extract`, one section per page.
//!
//! `pdf-extract` (and the `lopdf` it re-exports) can panic on unusual files; the whole load runs under
//! `catch_unwind` and a panic becomes [`DocumentError::Malformed`]. Version 0.12.1 writes nothing to stdout.

use std::panic::{self, AssertUnwindSafe};

use pdf_extract::{Document, PlainTextOutput, output_doc_page};

use super::{Extracted, Section, too_many_chars};
use crate::{DocumentError, ProcessOptions, normalize};

const UNREADABLE: &str = "the PDF could not be parsed";

pub(super) fn load(bytes: &[u8], options: &ProcessOptions) -> Result<Extracted, DocumentError> {
    panic::catch_unwind(AssertUnwindSafe(|| load_pages(bytes, options)))
        .unwrap_or_else(|_| Err(DocumentError::malformed(UNREADABLE)))
}

fn load_pages(bytes: &[u8], options: &ProcessOptions) -> Result<Extracted, DocumentError> {
    let mut document = Document::load_mem(bytes).map_err(|_| DocumentError::malformed(UNREADABLE))?;
    if document.is_encrypted() && document.decrypt("").is_err() {
        return Err(DocumentError::malformed("the PDF is protected by a password"));
    }
    let pages = document.get_pages();
    let mut sections = Vec::new();
    let mut chars = 0_usize;
    let mut readable = 0_usize;
    for &number in pages.keys() {
        let mut raw = String::new();
        {
            let mut output = PlainTextOutput::new(&mut raw);
            // A page whose content stream cannot be interpreted is skipped; the others still count.
            if output_doc_page(&document, &mut output, number).is_err() {
                continue;
            }
        }
        readable += 1;
        let text = normalize::block(&raw);
        if text.is_empty() {
            continue;
        }
        chars = chars.saturating_add(text.chars().count());
        if chars > options.max_extracted_chars {
            return Err(too_many_chars(options.max_extracted_chars));
        }
        let mut section = Section::text(Vec::new(), text);
        section.page = Some(number);
        sections.push(section);
    }
    if readable == 0 && !pages.is_empty() {
        return Err(DocumentError::malformed("the text of the PDF could not be read"));
    }
    Ok(Extracted { sections, pages: Some(u32::try_from(pages.len()).unwrap_or(u32::MAX)), rows: None })
}
