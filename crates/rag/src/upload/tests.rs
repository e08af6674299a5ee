use std::io::{Cursor, Write};

use super::*;

fn zip_with(names: &[&str]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for name in names {
        writer.start_file(*name, options).unwrap();
        writer.write_all(b"<xml/>").unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn declared(filename: Option<&str>, content_type: Option<&str>) -> Declared {
    Declared::new(filename, content_type)
}

fn none() -> Declared {
    Declared::default()
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n";
const PROSE: &str = "Our support team answers every question within one business day.\n\nRefunds take five days.";

#[test]
fn declared_parses_content_type_and_extension() {
    let d = declared(Some("/tmp/Report.Final.PDF"), Some("Application/PDF; name=x"));
    assert_eq!(d.content_type(), Some("application/pdf"));
    assert_eq!(d.extension(), Some("pdf"));
    let d = declared(Some(".bashrc"), Some("application/octet-stream"));
    assert_eq!((d.content_type(), d.extension()), (None, None));
    assert_eq!(declared(Some("C:\\docs\\notes"), Some("  ")), Declared::default());
}

#[test]
fn size_is_measured_from_the_bytes() {
    assert_eq!(check_size(b"", 10), Err(DocumentError::Empty));
    assert_eq!(check_size(b"0123456789", 10), Ok(()));
    assert_eq!(check_size(b"0123456789A", 10), Err(DocumentError::TooLarge { limit: 10 }));
}

#[test]
fn checksum_is_sha256() {
    let hex = checksum(b"abc").iter().fold(String::new(), |hex, b| hex + &format!("{b:02x}"));
    assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

#[test]
fn binary_types() {
    assert_eq!(detect(PDF, &none()), Ok(DocumentKind::Pdf));
    assert_eq!(detect(PDF, &declared(Some("a.pdf"), Some("application/pdf"))), Ok(DocumentKind::Pdf));
    let docx = zip_with(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]);
    assert_eq!(detect(&docx, &declared(Some("a.docx"), None)), Ok(DocumentKind::Docx));
    assert_eq!(detect(&docx, &none()), Ok(DocumentKind::Docx));
}

#[test]
fn unsupported_content() {
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.";
    assert_eq!(detect(exe, &declared(Some("setup.txt"), Some("text/plain"))), Err(DocumentError::UnsupportedType));
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00";
    assert_eq!(detect(png, &declared(Some("cat.png"), Some("image/png"))), Err(DocumentError::UnsupportedType));
    assert_eq!(detect(png, &none()), Err(DocumentError::UnsupportedType));
    let xlsx = zip_with(&["[Content_Types].xml", "xl/workbook.xml"]);
    assert_eq!(detect(&xlsx, &declared(Some("a.docx"), None)), Err(DocumentError::UnsupportedType));
    let latin1 = b"caf\xe9 cr\xe8me";
    assert_eq!(detect(latin1, &declared(Some("menu.txt"), None)), Err(DocumentError::UnsupportedType));
    let garbage = b"text\x01\x02\x03\x04 with controls";
    assert_eq!(detect(garbage, &none()), Err(DocumentError::UnsupportedType));
    assert_eq!(detect(b"", &none()), Err(DocumentError::Empty));
}

#[test]
fn declared_type_outside_the_allowlist_is_unsupported() {
    assert_eq!(
        detect(PROSE.as_bytes(), &declared(None, Some("application/json"))),
        Err(DocumentError::UnsupportedType)
    );
}

#[test]
fn broken_zip_declared_as_docx_is_malformed() {
    let mut docx = zip_with(&["[Content_Types].xml", "word/document.xml"]);
    docx.truncate(docx.len() - 30);
    assert!(matches!(detect(&docx, &declared(Some("a.docx"), None)), Err(DocumentError::Malformed(_))));
    assert_eq!(detect(&docx, &none()), Err(DocumentError::UnsupportedType));
}

#[test]
fn mismatches() {
    let mismatch = |detected, declared| Err(DocumentError::TypeMismatch { detected, declared });
    assert_eq!(detect(PDF, &declared(None, Some("text/plain"))), mismatch(DocumentKind::Pdf, DocumentKind::PlainText));
    assert_eq!(detect(PDF, &declared(Some("report.txt"), None)), mismatch(DocumentKind::Pdf, DocumentKind::PlainText));
    assert_eq!(
        detect(PROSE.as_bytes(), &declared(Some("a.pdf"), Some("application/pdf"))),
        mismatch(DocumentKind::PlainText, DocumentKind::Pdf)
    );
    let docx = zip_with(&["[Content_Types].xml", "word/document.xml"]);
    assert_eq!(detect(&docx, &declared(Some("a.pdf"), None)), mismatch(DocumentKind::Docx, DocumentKind::Pdf));
    assert_eq!(
        detect(PROSE.as_bytes(), &declared(Some("a.csv"), None)),
        mismatch(DocumentKind::PlainText, DocumentKind::Csv)
    );
    assert_eq!(
        detect(PROSE.as_bytes(), &declared(Some("a.html"), None)),
        mismatch(DocumentKind::PlainText, DocumentKind::Html)
    );
}

#[test]
fn text_kinds_from_content() {
    let html = "<!DOCTYPE html><html><body><p>Hello</p></body></html>";
    assert_eq!(detect(html.as_bytes(), &none()), Ok(DocumentKind::Html));
    let fragment = "<div><h1>Title</h1><p>Body text</p></div>";
    assert_eq!(detect(fragment.as_bytes(), &none()), Ok(DocumentKind::Html));
    let csv = "name,city,age\n\"Doe, Jane\",Paris,41\nBob,Rome,37\n";
    assert_eq!(detect(csv.as_bytes(), &none()), Ok(DocumentKind::Csv));
    let tsv = "name\tcity\nJane\tParis\nBob\tRome\n";
    assert_eq!(detect(tsv.as_bytes(), &none()), Ok(DocumentKind::Csv));
    let markdown = "# Guide\n\nSome text with a [link](https://example.com).\n";
    assert_eq!(detect(markdown.as_bytes(), &none()), Ok(DocumentKind::Markdown));
    assert_eq!(detect(PROSE.as_bytes(), &none()), Ok(DocumentKind::PlainText));
    let bom = [b"\xEF\xBB\xBF".as_slice(), PROSE.as_bytes()].concat();
    assert_eq!(detect(&bom, &none()), Ok(DocumentKind::PlainText));
}

#[test]
fn a_compatible_declaration_decides_among_text_kinds() {
    let prose = PROSE.as_bytes();
    assert_eq!(detect(prose, &declared(Some("notes.md"), None)), Ok(DocumentKind::Markdown));
    assert_eq!(detect(prose, &declared(Some("notes.md"), Some("text/plain"))), Ok(DocumentKind::Markdown));
    assert_eq!(detect(prose, &declared(None, Some("text/markdown; charset=utf-8"))), Ok(DocumentKind::Markdown));
    let markdown = b"# Title\n\n- item\n";
    assert_eq!(detect(markdown, &declared(Some("notes.txt"), None)), Ok(DocumentKind::PlainText));
    let csv = b"a,b\n1,2\n";
    assert_eq!(detect(csv, &declared(Some("data.csv"), Some("application/vnd.ms-excel"))), Ok(DocumentKind::Csv));
    assert_eq!(detect(csv, &declared(Some("data.txt"), None)), Ok(DocumentKind::PlainText));
    let html = b"<p>Hello <b>there</b></p>";
    assert_eq!(detect(html, &declared(Some("page.htm"), None)), Ok(DocumentKind::Html));
    assert_eq!(detect(html, &declared(None, Some("text/plain"))), Ok(DocumentKind::PlainText));
}
