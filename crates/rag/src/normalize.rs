//! Whitespace and control-character normalisation of extracted text.

/// Whether a character is dropped from extracted text: controls other than line breaks and tabs, and the
/// zero-width/format characters that only disturb tokenisation.
fn is_noise(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t')) || is_invisible(c)
}

/// Zero-width space, BOM, soft hyphen: removed inside words.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{feff}' | '\u{200b}' | '\u{00ad}')
}

/// Inline text (a heading, a table cell, an HTML text run): every whitespace run, line breaks included, becomes
/// one space; trimmed.
pub(crate) fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        let mut chars = word.chars().filter(|&c| !is_invisible(c)).peekable();
        if chars.peek().is_none() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(chars);
    }
    out
}

/// Running text (a page, a text file, a paragraph): line breaks normalised to `\n`, spaces collapsed and trimmed
/// on each line, more than one blank line collapsed to one, leading and trailing blank lines removed.
pub(crate) fn block(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0_usize;
    for line in text.split(['\n', '\u{c}']) {
        let line = inline(line);
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(&line);
    }
    out
}

/// Preformatted text (code): indentation kept, trailing spaces and noise removed, surrounding blank lines trimmed.
pub(crate) fn preformatted(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<String> =
        text.split('\n').map(|line| line.chars().filter(|&c| !is_noise(c) || c == '\t').collect::<String>()).collect();
    let lines: Vec<&str> = lines.iter().map(|line| line.trim_end()).collect();
    let start = lines.iter().position(|line| !line.is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|line| !line.is_empty()).map_or(start, |last| last + 1);
    lines[start..end].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_collapses_all_whitespace() {
        assert_eq!(inline("  a\t b\n\nc\u{0}d in\u{ad}formation "), "a b c d information");
    }

    #[test]
    fn block_keeps_paragraphs() {
        assert_eq!(block("  one   two \r\nthree\n\n\n\n four\u{c}five\n"), "one two\nthree\n\nfour\nfive");
    }

    #[test]
    fn preformatted_keeps_indentation() {
        assert_eq!(preformatted("\n\nfn a() {\n    b();   \n}\n\n"), "fn a() {\n    b();\n}");
    }
}
