//! Builds test inputs in code (no binary fixtures): PDFs through the `lopdf` that `pdf-extract` re-exports,
//! DOCX files through `docx-rs`, and plain ZIP archives. Shared with `examples/ingest_bench.rs`.

use std::io::{Cursor, Write};

use docx_rs::{Docx, Paragraph, Run, Style, StyleType, Table, TableCell, TableRow};
use pdf_extract::content::{Content, Operation};
use pdf_extract::{Document, Object, Stream, dictionary};

/// A PDF with one page per entry, each line of the entry drawn on its own line of the page (Courier, 10 pt).
pub fn pdf(pages: &[Vec<String>]) -> Vec<u8> {
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let font_id = document.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Courier",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = document.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids: Vec<Object> = Vec::new();
    for lines in pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 10.into()]),
            Operation::new("TL", vec![12.into()]),
            Operation::new("Td", vec![40.into(), 800.into()]),
        ];
        for line in lines {
            operations.push(Operation::new("Tj", vec![Object::string_literal(line.as_str())]));
            operations.push(Operation::new("T*", vec![]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations }.encode().unwrap();
        let content_id = document.add_object(Stream::new(dictionary! {}, content));
        let leaf_id = document.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        });
        kids.push(leaf_id.into());
    }
    let count = i64::try_from(kids.len()).unwrap();
    let pages_dict = dictionary! {
        "Type" => "Pages",
        "Kids" => kids,
        "Count" => count,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    };
    document.objects.insert(pages_id, Object::Dictionary(pages_dict));
    let catalog_id = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    document.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap();
    bytes
}

fn text_paragraph(text: &str) -> Paragraph {
    Paragraph::new().add_run(Run::new().add_text(text))
}

fn cell(text: &str) -> TableCell {
    TableCell::new().add_paragraph(text_paragraph(text))
}

/// A DOCX with a title, two heading levels, paragraphs and a 2×3 table under the second heading.
pub fn docx() -> Vec<u8> {
    let document = Docx::new()
        .add_style(Style::new("Title", StyleType::Paragraph).name("Title"))
        .add_style(Style::new("Heading1", StyleType::Paragraph).name("Heading 1"))
        .add_style(Style::new("Heading2", StyleType::Paragraph).name("Heading 2"))
        .add_paragraph(text_paragraph("Customer Handbook").style("Title"))
        .add_paragraph(text_paragraph("Welcome to the customer handbook of Example Shop."))
        .add_paragraph(text_paragraph("Refund policy").style("Heading1"))
        .add_paragraph(text_paragraph("Refunds are issued within fourteen days of the return."))
        .add_paragraph(text_paragraph("Prices").style("Heading2"))
        .add_paragraph(text_paragraph("The plans cost the following amounts every month."))
        .add_table(Table::new(vec![
            TableRow::new(vec![cell("Plan"), cell("Price")]),
            TableRow::new(vec![cell("Starter"), cell("10 EUR")]),
            TableRow::new(vec![cell("Business"), cell("49 EUR")]),
        ]));
    let mut bytes = Cursor::new(Vec::new());
    document.build().pack(&mut bytes).unwrap();
    bytes.into_inner()
}

/// A ZIP archive holding the named (tiny) entries.
pub fn zip(names: &[&str]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for name in names {
        writer.start_file(*name, options).unwrap();
        writer.write_all(b"<xml/>").unwrap();
    }
    writer.finish().unwrap().into_inner()
}
