//! DOCX through `docx-rs`: paragraph text; `Title` and `Heading N` paragraph styles (by style id or style name)
//! open sections and form the heading path; numbered paragraphs become `- ` items; tables become `table`
//! sections with one line per row. The archive's uncompressed size is checked before anything is inflated.

use std::collections::HashMap;
use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use docx_rs::{
    DocumentChild, Docx, InsertChild, Paragraph, ParagraphChild, Run, RunChild, StructuredDataTagChild, Table,
    TableCellContent, TableChild, TableRowChild,
};

use super::{Extracted, Outline};
use crate::{DocumentError, ProcessOptions, normalize};

/// Most uncompressed bytes a DOCX archive may declare (zip-bomb guard).
const MAX_UNCOMPRESSED_BYTES: u128 = 256 * 1024 * 1024;

pub(super) fn load(bytes: &[u8], options: &ProcessOptions) -> Result<Extracted, DocumentError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| DocumentError::malformed("the DOCX archive is damaged"))?;
    if archive.decompressed_size().is_none_or(|size| size > MAX_UNCOMPRESSED_BYTES) {
        return Err(DocumentError::LimitExceeded {
            what: "bytes of uncompressed content",
            limit: u64::try_from(MAX_UNCOMPRESSED_BYTES).unwrap_or(u64::MAX),
        });
    }
    let Ok(Ok(docx)) = panic::catch_unwind(AssertUnwindSafe(|| docx_rs::read_docx(bytes))) else {
        return Err(DocumentError::malformed("the DOCX document could not be read"));
    };
    let mut walker = Walker { headings: heading_styles(&docx), outline: Outline::new(options) };
    for child in &docx.document.children {
        match child {
            DocumentChild::Paragraph(paragraph) => walker.paragraph(paragraph)?,
            DocumentChild::Table(table) => walker.table(table)?,
            DocumentChild::StructuredDataTag(tag) => {
                for child in &tag.children {
                    match child {
                        StructuredDataTagChild::Paragraph(paragraph) => walker.paragraph(paragraph)?,
                        StructuredDataTagChild::Table(table) => walker.table(table)?,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Extracted { sections: walker.outline.finish(), ..Extracted::default() })
}

/// Heading level by paragraph style id: `Title` is 1, `Heading N` is N + 1.
fn heading_styles(docx: &Docx) -> HashMap<String, u8> {
    let mut levels = HashMap::new();
    for style in &docx.styles.styles {
        let level = if style.name.starts_with("Title") {
            Some(1)
        } else if style.name.is_heading() {
            style.name.get_heading_number().and_then(|n| u8::try_from(n).ok()).map(|n| n.saturating_add(1))
        } else {
            None
        };
        if let Some(level) = level {
            levels.insert(style.style_id.to_ascii_lowercase(), level);
        }
    }
    levels
}

fn level_from_id(style_id: &str) -> Option<u8> {
    let id = style_id.to_ascii_lowercase().replace(' ', "");
    if id == "title" {
        return Some(1);
    }
    let level: u8 = id.strip_prefix("heading")?.parse().ok()?;
    (1..=9).contains(&level).then_some(level + 1)
}

struct Walker {
    headings: HashMap<String, u8>,
    outline: Outline,
}

impl Walker {
    fn heading_level(&self, paragraph: &Paragraph) -> Option<u8> {
        let style = paragraph.property.style.as_ref()?;
        self.headings.get(&style.val.to_ascii_lowercase()).copied().or_else(|| level_from_id(&style.val))
    }

    fn paragraph(&mut self, paragraph: &Paragraph) -> Result<(), DocumentError> {
        let text = paragraph_text(paragraph);
        if let Some(level) = self.heading_level(paragraph) {
            return self.outline.heading(level, &text);
        }
        let text = normalize::block(&text);
        let listed = paragraph.has_numbering || paragraph.property.numbering_property.is_some();
        self.outline.block(if listed && !text.is_empty() { format!("- {text}") } else { text })
    }

    fn table(&mut self, table: &Table) -> Result<(), DocumentError> {
        self.outline.table(table_rows(table))
    }
}

fn table_rows(table: &Table) -> Vec<String> {
    let mut rows = Vec::new();
    for TableChild::TableRow(row) in &table.rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|TableRowChild::TableCell(cell)| {
                let mut parts = Vec::new();
                for content in &cell.children {
                    match content {
                        TableCellContent::Paragraph(paragraph) => parts.push(paragraph_text(paragraph)),
                        TableCellContent::Table(nested) => parts.push(table_rows(nested).join("; ")),
                        _ => {}
                    }
                }
                normalize::inline(&parts.join(" "))
            })
            .collect();
        rows.push(cells.join(" | "));
    }
    rows
}

fn paragraph_text(paragraph: &Paragraph) -> String {
    let mut text = String::new();
    for child in &paragraph.children {
        child_text(child, &mut text);
    }
    text
}

fn child_text(child: &ParagraphChild, out: &mut String) {
    match child {
        ParagraphChild::Run(run) => run_text(run, out),
        ParagraphChild::Insert(insert) => {
            for child in &insert.children {
                if let InsertChild::Run(run) = child {
                    run_text(run, out);
                }
            }
        }
        ParagraphChild::Hyperlink(link) => {
            for child in &link.children {
                child_text(child, out);
            }
        }
        ParagraphChild::StructuredDataTag(tag) => {
            for child in &tag.children {
                match child {
                    StructuredDataTagChild::Run(run) => run_text(run, out),
                    StructuredDataTagChild::Paragraph(paragraph) => out.push_str(&paragraph_text(paragraph)),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn run_text(run: &Run, out: &mut String) {
    for child in &run.children {
        match child {
            RunChild::Text(text) => out.push_str(&text.text),
            RunChild::Tab(_) | RunChild::PTab(_) => out.push('\t'),
            RunChild::Break(_) | RunChild::CarriageReturn(_) => out.push('\n'),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_ids() {
        assert_eq!(level_from_id("Title"), Some(1));
        assert_eq!(level_from_id("Heading1"), Some(2));
        assert_eq!(level_from_id("heading 3"), Some(4));
        assert_eq!(level_from_id("Normal"), None);
        assert_eq!(level_from_id("HeadingX"), None);
    }
}
