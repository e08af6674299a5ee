//! Content sniffing: what the bytes are, whatever the upload declared.

use std::io::Cursor;

use crate::DocumentError;

/// How much of a text is looked at to classify it.
const PREFIX_BYTES: usize = 64 * 1024;
/// Records parsed to decide whether a text is CSV.
const CSV_PROBE_RECORDS: usize = 20;
/// Delimiters tried, in order of preference.
const CSV_DELIMITERS: [u8; 3] = [b',', b';', b'\t'];
/// HTML elements whose presence marks a text as HTML.
const HTML_TAGS: [&str; 16] = [
    "<html", "<head", "<body", "<div", "<p>", "<p ", "<h1", "<h2", "<table", "<ul", "<ol", "<li", "<span", "<a ",
    "<br", "<section",
];

pub(super) enum Sniffed {
    Pdf,
    Docx,
    /// Starts like a ZIP but its central directory cannot be read.
    BrokenZip,
    /// Binary or otherwise outside the allowlist.
    Other,
    Text(TextTraits),
}

/// What a UTF-8 text looks like; several may be true.
#[expect(clippy::struct_excessive_bools, reason = "independent observations, each read once")]
pub(super) struct TextTraits {
    pub(super) html: bool,
    pub(super) csv: bool,
    pub(super) markdown: bool,
    /// At least one tag-like `<name ...>`: enough for a text declared as HTML.
    pub(super) has_tags: bool,
    /// Parses as CSV with one consistent number (at least two) of fields: enough for a text declared as CSV.
    pub(super) parses_as_csv: bool,
}

pub(super) fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(b"%PDF-") {
        return Sniffed::Pdf;
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(archive)
                if archive.index_for_name("word/document.xml").is_some()
                    && archive.index_for_name("[Content_Types].xml").is_some() =>
            {
                Sniffed::Docx
            }
            Ok(_) => Sniffed::Other,
            Err(_) => Sniffed::BrokenZip,
        };
    }
    match decode_text(bytes) {
        Ok(text) => Sniffed::Text(traits(prefix(text))),
        Err(_) => Sniffed::Other,
    }
}

/// The bytes as UTF-8 text without a BOM; [`DocumentError::UnsupportedType`] for invalid UTF-8, a NUL, or more
/// than one control character (other than tab, line breaks and form feed) per thousand characters.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<&str, DocumentError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| DocumentError::UnsupportedType)?;
    let mut chars = 0_usize;
    let mut controls = 0_usize;
    for c in text.chars() {
        chars += 1;
        if c == '\0' {
            return Err(DocumentError::UnsupportedType);
        }
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}') {
            controls += 1;
        }
    }
    if controls > chars / 1000 { Err(DocumentError::UnsupportedType) } else { Ok(text) }
}

/// The first [`PREFIX_BYTES`] of `text`, cut at a character boundary.
fn prefix(text: &str) -> &str {
    if text.len() <= PREFIX_BYTES {
        return text;
    }
    let mut end = PREFIX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn traits(text: &str) -> TextTraits {
    let csv = csv_delimiter(text, 2, 3).is_some();
    TextTraits {
        html: looks_like_html(text),
        csv,
        markdown: looks_like_markdown(text),
        has_tags: has_tags(text),
        parses_as_csv: csv || csv_delimiter(text, 2, 1).is_some(),
    }
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(512).collect::<String>().to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return true;
    }
    if !head.starts_with('<') {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let tags = HTML_TAGS.iter().filter(|tag| lower.contains(*tag)).count();
    tags >= 2 && lower.contains("</")
}

fn has_tags(text: &str) -> bool {
    text.match_indices('<').any(|(at, _)| {
        let rest = &text[at + 1..];
        let name_start = rest.strip_prefix('/').unwrap_or(rest);
        (name_start.starts_with(|c: char| c.is_ascii_alphabetic()) || rest.starts_with('!'))
            && rest.split('<').next().is_some_and(|tag| tag.contains('>'))
    })
}

fn looks_like_markdown(text: &str) -> bool {
    let mut score = 0_u32;
    for line in text.lines().take(400) {
        let line = line.trim_start();
        let hashes = line.bytes().take_while(|&b| b == b'#').count();
        let heading = (1..=6).contains(&hashes) && line[hashes..].starts_with(' ');
        if heading || line.starts_with("```") || line.starts_with("~~~") {
            score += 2;
        } else if line.starts_with("- ") || line.starts_with("* ") || line.starts_with("+ ") || line.starts_with("> ") {
            score += 1;
        } else if line.starts_with('|') && line.contains("---") {
            score += 2;
        }
        if line.contains("](") {
            score += 1;
        }
        if score >= 2 {
            return true;
        }
    }
    false
}

/// The delimiter (`,`, `;` or tab) with which the first records of `text` parse with one consistent field count
/// of at least `min_columns`, over at least `min_records` records; the one giving the most fields wins.
pub(crate) fn csv_delimiter(text: &str, min_columns: usize, min_records: usize) -> Option<u8> {
    let mut best: Option<(usize, u8)> = None;
    for delimiter in CSV_DELIMITERS {
        let Some(columns) = consistent_columns(text, delimiter, min_records) else { continue };
        if columns >= min_columns && best.is_none_or(|(most, _)| columns > most) {
            best = Some((columns, delimiter));
        }
    }
    best.map(|(_, delimiter)| delimiter)
}

fn consistent_columns(text: &str, delimiter: u8, min_records: usize) -> Option<usize> {
    let mut reader =
        ::csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let mut columns = None;
    let mut records = 0_usize;
    let mut record = ::csv::StringRecord::new();
    for _ in 0..CSV_PROBE_RECORDS {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return None,
        }
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        match columns {
            None => columns = Some(record.len()),
            Some(expected) if expected != record.len() => {
                // A record cut by the classification prefix may be short; tolerate it only at the very end.
                let at_end = u64::try_from(text.len()).is_ok_and(|len| reader.position().byte() >= len);
                return if at_end && records >= min_records { columns } else { None };
            }
            Some(_) => {}
        }
        records += 1;
    }
    if records >= min_records { columns } else { None }
}
