//! HTML through `scraper`: `script`, `style`, `nav`, `noscript`, `head`, `template`, embedded media, form
//! controls and `hidden` elements are dropped; `h1`-`h6` open sections; paragraphs, list items (`- `),
//! preformatted blocks and table rows (` | `-joined cells) are kept. The tree is walked iteratively, so nesting
//! depth cannot exhaust the stack.

use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::{Extracted, Outline};
use crate::{DocumentError, ProcessOptions, normalize};

/// Elements whose whole subtree is dropped.
const SKIPPED: [&str; 13] = [
    "script", "style", "nav", "noscript", "head", "template", "svg", "iframe", "object", "canvas", "select", "button",
    "textarea",
];
/// Elements that end the running paragraph.
const BLOCKS: [&str; 27] = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "figure",
    "figcaption",
    "form",
    "fieldset",
    "address",
    "hr",
    "body",
    "html",
    "details",
    "summary",
    "caption",
    "li",
    "center",
];

/// Deepest element nesting accepted. Real pages stay under a few hundred levels; the HTML parser's tree building
/// is quadratic in the depth of open elements, so a deeper document is refused before parsing.
const MAX_DEPTH: usize = 1024;
/// Elements that never hold children or that the parser closes implicitly: they do not deepen the count.
const FLAT: [&str; 24] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "p", "li",
    "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt",
];
/// Elements whose content is raw text, skipped by the depth scan.
const RAW_TEXT: [&str; 5] = ["script", "style", "textarea", "title", "xmp"];

/// Where text currently goes.
enum Capture {
    Running,
    Heading { id: NodeId, level: u8, text: String },
    Pre { id: NodeId, text: String },
    Table(TableState),
}

struct TableState {
    id: NodeId,
    rows: Vec<String>,
    cells: Vec<String>,
    cell: String,
}

pub(super) fn load(text: &str, options: &ProcessOptions) -> Result<Extracted, DocumentError> {
    if nesting_depth(text) > MAX_DEPTH {
        return Err(DocumentError::LimitExceeded {
            what: "levels of nested HTML elements",
            limit: u64::try_from(MAX_DEPTH).unwrap_or(u64::MAX),
        });
    }
    let document = Html::parse_document(text);
    let mut walker = Walker {
        outline: Outline::new(options),
        running: String::new(),
        item: false,
        capture: Capture::Running,
        skipping: None,
    };
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) if walker.skipping.is_none() => match node.value() {
                Node::Text(text) => walker.text(text),
                Node::Element(element) => walker.open(node.id(), element)?,
                _ => {}
            },
            Edge::Open(_) => {}
            Edge::Close(node) => {
                if let Some(skipped) = walker.skipping {
                    if skipped == node.id() {
                        walker.skipping = None;
                    }
                } else if let Node::Element(element) = node.value() {
                    walker.close(node.id(), element.name())?;
                }
            }
        }
    }
    walker.flush()?;
    Ok(Extracted { sections: walker.outline.finish(), ..Extracted::default() })
}

struct Walker {
    outline: Outline,
    /// Text of the paragraph being read.
    running: String,
    /// Whether `running` is a list item.
    item: bool,
    capture: Capture,
    /// The dropped element being passed over.
    skipping: Option<NodeId>,
}

impl Walker {
    fn text(&mut self, text: &str) {
        match &mut self.capture {
            Capture::Running => self.running.push_str(text),
            Capture::Heading { text: buffer, .. } | Capture::Pre { text: buffer, .. } => buffer.push_str(text),
            Capture::Table(table) => table.cell.push_str(text),
        }
    }

    fn open(&mut self, id: NodeId, element: &scraper::node::Element) -> Result<(), DocumentError> {
        let name = element.name();
        let hidden = element.attr("hidden").is_some()
            || element.attr("aria-hidden").is_some_and(|value| value.eq_ignore_ascii_case("true"));
        if hidden || SKIPPED.contains(&name) {
            self.skipping = Some(id);
            return Ok(());
        }
        match &mut self.capture {
            Capture::Running => {
                if let Some(level) = heading_level(name) {
                    self.flush()?;
                    self.capture = Capture::Heading { id, level, text: String::new() };
                } else if name == "pre" {
                    self.flush()?;
                    self.capture = Capture::Pre { id, text: String::new() };
                } else if name == "table" {
                    self.flush()?;
                    self.capture =
                        Capture::Table(TableState { id, rows: Vec::new(), cells: Vec::new(), cell: String::new() });
                } else if BLOCKS.contains(&name) {
                    self.flush()?;
                    self.item = name == "li";
                } else if name == "br" {
                    self.running.push(' ');
                }
            }
            Capture::Heading { text, .. } if name == "br" => text.push(' '),
            Capture::Table(table) if name == "br" => table.cell.push(' '),
            Capture::Pre { text, .. } if name == "br" => text.push('\n'),
            Capture::Heading { .. } | Capture::Table(_) | Capture::Pre { .. } => {}
        }
        Ok(())
    }

    fn close(&mut self, id: NodeId, name: &str) -> Result<(), DocumentError> {
        match &mut self.capture {
            Capture::Running if BLOCKS.contains(&name) => self.flush()?,
            Capture::Heading { id: open, level, text } if *open == id => {
                self.outline.heading(*level, text)?;
                self.capture = Capture::Running;
            }
            Capture::Pre { id: open, text } if *open == id => {
                self.outline.block(normalize::preformatted(text))?;
                self.capture = Capture::Running;
            }
            Capture::Table(table) if table.id == id => {
                table.close_row();
                self.outline.table(std::mem::take(&mut table.rows))?;
                self.capture = Capture::Running;
            }
            Capture::Table(table) => match name {
                "td" | "th" => table.cells.push(normalize::inline(&std::mem::take(&mut table.cell))),
                "tr" => table.close_row(),
                _ => {}
            },
            Capture::Running | Capture::Heading { .. } | Capture::Pre { .. } => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DocumentError> {
        let text = normalize::inline(&self.running);
        self.running.clear();
        let text = if self.item && !text.is_empty() { format!("- {text}") } else { text };
        self.item = false;
        self.outline.block(text)
    }
}

impl TableState {
    fn close_row(&mut self) {
        let stray = normalize::inline(&std::mem::take(&mut self.cell));
        if !stray.is_empty() {
            self.cells.push(stray);
        }
        if !self.cells.is_empty() {
            self.rows.push(std::mem::take(&mut self.cells).join(" | "));
        }
    }
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// The deepest nesting of elements, estimated from the tags without building a tree.
fn nesting_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut at, mut depth, mut deepest) = (0, 0_usize, 0_usize);
    while let Some(found) = bytes.get(at..).and_then(|rest| rest.iter().position(|&b| b == b'<')) {
        at += found + 1;
        let rest = &text[at..];
        if rest.starts_with("!--") {
            at += rest.find("-->").map_or(rest.len(), |end| end + 3);
            continue;
        }
        let closing = rest.starts_with('/');
        let name_start = usize::from(closing);
        let name: String = rest[name_start..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if name.is_empty() {
            continue;
        }
        let tag_end = rest.find('>').map_or(rest.len(), |end| end + 1);
        let self_closing = rest[..tag_end].ends_with("/>");
        at += tag_end;
        if FLAT.contains(&name.as_str()) || self_closing {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else if RAW_TEXT.contains(&name.as_str()) {
            at += find_close(&text[at..], &name).unwrap_or(text.len() - at);
        } else {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

/// Where `</name` (any case) starts in `text`.
fn find_close(text: &str, name: &str) -> Option<usize> {
    text.match_indices("</").map(|(at, _)| at).find(|&at| {
        text.as_bytes()
            .get(at + 2..at + 2 + name.len())
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_void_implicit_and_raw_text() {
        assert_eq!(nesting_depth("<html><body><div><p>a<p>b<br><img src=x/></div></body></html>"), 3);
        assert_eq!(nesting_depth("<ul><li>a<li>b</ul><!-- <div><div> -->"), 1);
        assert_eq!(nesting_depth("<script>if (a < b) { x = '<div><div>'; }</script><b>x</b>"), 1);
        assert_eq!(nesting_depth(&"<div>".repeat(5000)), 5000);
    }
}
