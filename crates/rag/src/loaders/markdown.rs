//! Markdown through `pulldown-cmark` (`CommonMark` with tables): headings open sections, paragraphs and list items
//! (`- `) are kept, fenced and indented code blocks are kept verbatim inside fences, tables become `table`
//! sections, raw HTML and YAML front matter are dropped.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{Extracted, Outline};
use crate::{DocumentError, ProcessOptions, normalize};

pub(super) fn load(text: &str, options: &ProcessOptions) -> Result<Extracted, DocumentError> {
    let parser_options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut reader = Reader {
        outline: Outline::new(options),
        running: String::new(),
        items: 0,
        heading: None,
        code: None,
        table: None,
        metadata: false,
    };
    for event in Parser::new_ext(text, parser_options) {
        reader.event(event)?;
    }
    reader.flush()?;
    Ok(Extracted { sections: reader.outline.finish(), ..Extracted::default() })
}

struct Reader {
    outline: Outline,
    running: String,
    /// Depth of list items around `running`.
    items: usize,
    heading: Option<(u8, String)>,
    /// Language and text of the code block being read.
    code: Option<(String, String)>,
    /// Finished rows and the cells of the current row.
    table: Option<(Vec<String>, Vec<String>)>,
    metadata: bool,
}

impl Reader {
    fn event(&mut self, event: Event<'_>) -> Result<(), DocumentError> {
        match event {
            Event::Start(tag) => self.start(tag)?,
            Event::End(tag) => self.end(tag)?,
            Event::Text(text) | Event::Code(text) => self.text(&text),
            Event::SoftBreak | Event::HardBreak => self.text(" "),
            Event::Rule => self.flush()?,
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, text: &str) {
        if self.metadata {
            return;
        }
        if let Some((_, code)) = &mut self.code {
            code.push_str(text);
        } else if let Some((_, title)) = &mut self.heading {
            title.push_str(text);
        } else {
            self.running.push_str(text);
        }
    }

    fn start(&mut self, tag: Tag<'_>) -> Result<(), DocumentError> {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush()?;
                self.heading = Some((heading_level(level), String::new()));
            }
            Tag::CodeBlock(kind) => {
                self.flush()?;
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or_default().to_owned(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((language, String::new()));
            }
            Tag::Table(_) => {
                self.flush()?;
                self.table = Some((Vec::new(), Vec::new()));
            }
            Tag::Item => {
                self.flush()?;
                self.items += 1;
            }
            Tag::MetadataBlock(_) => self.metadata = true,
            Tag::Paragraph | Tag::BlockQuote(_) | Tag::List(_) | Tag::TableCell => self.flush()?,
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, tag: TagEnd) -> Result<(), DocumentError> {
        match tag {
            TagEnd::Heading(_) => {
                if let Some((level, title)) = self.heading.take() {
                    self.outline.heading(level, &title)?;
                }
            }
            TagEnd::CodeBlock => {
                if let Some((language, code)) = self.code.take() {
                    let code = normalize::preformatted(&code);
                    if !code.is_empty() {
                        self.outline.block(format!("```{language}\n{code}\n```"))?;
                    }
                }
            }
            TagEnd::TableCell => {
                let cell = normalize::inline(&std::mem::take(&mut self.running));
                if let Some((_, cells)) = &mut self.table {
                    cells.push(cell);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some((rows, cells)) = &mut self.table {
                    rows.push(std::mem::take(cells).join(" | "));
                }
            }
            TagEnd::Table => {
                if let Some((rows, _)) = self.table.take() {
                    self.outline.table(rows)?;
                }
            }
            TagEnd::Item => {
                self.flush()?;
                self.items = self.items.saturating_sub(1);
            }
            TagEnd::MetadataBlock(_) => self.metadata = false,
            TagEnd::Paragraph | TagEnd::BlockQuote(_) | TagEnd::List(_) => self.flush()?,
            _ => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DocumentError> {
        if self.table.is_some() {
            return Ok(());
        }
        let text = normalize::inline(&std::mem::take(&mut self.running));
        let text = if self.items > 0 && !text.is_empty() { format!("- {text}") } else { text };
        self.outline.block(text)
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}
