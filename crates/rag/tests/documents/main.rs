//! Black-box tests of `process_with` for every supported kind, with inputs built in code.
#![expect(clippy::unwrap_used, reason = "tests and their builders fail loudly")]

mod build;

use meta_chat_rag::{ChunkDraft, Declared, DocumentError, DocumentKind, ProcessOptions, process, process_with};

fn declared(filename: &str) -> Declared {
    Declared::new(Some(filename), None)
}

fn all_text(chunks: &[ChunkDraft]) -> String {
    chunks.iter().map(|chunk| chunk.content.as_str()).collect::<Vec<_>>().join("\n")
}

fn assert_well_formed(chunks: &[ChunkDraft], budget: u32) {
    assert!(!chunks.is_empty());
    for (index, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.position as usize, index);
        assert!(!chunk.content.trim().is_empty());
        assert!(chunk.token_count > 0 && chunk.token_count <= budget);
        assert!(chunk.metadata.char_start < chunk.metadata.char_end);
    }
}

#[test]
fn pdf_pages_are_numbered() {
    let bytes = build::pdf(&[
        vec!["The first page explains shipping.".into(), "Parcels leave within two days.".into()],
        vec!["The second page explains refunds.".into(), "Refunds take five days.".into()],
    ]);
    let processed = process(&bytes, &Declared::new(Some("guide.pdf"), Some("application/pdf"))).unwrap();
    assert_eq!(processed.kind, DocumentKind::Pdf);
    assert_eq!(processed.pages, Some(2));
    assert_eq!(processed.size_bytes, bytes.len() as u64);
    assert_well_formed(&processed.chunks, 400);
    assert_eq!(processed.chunks.len(), 2);
    assert_eq!(processed.chunks[0].metadata.page, Some(1));
    assert!(processed.chunks[0].content.contains("Parcels leave within two days."), "{:?}", processed.chunks[0]);
    assert_eq!(processed.chunks[1].metadata.page, Some(2));
    assert!(processed.chunks[1].content.contains("Refunds take five days."), "{:?}", processed.chunks[1]);
}

#[test]
fn truncated_pdf_is_malformed_not_a_panic() {
    let bytes = build::pdf(&[vec!["Some text on a page.".into()]]);
    for cut in [bytes.len() / 2, 40, 9] {
        let result = process(&bytes[..cut], &declared("broken.pdf"));
        assert!(matches!(result, Err(DocumentError::Malformed(_))), "cut at {cut}: {result:?}");
    }
    let garbage = [b"%PDF-1.4\n".as_slice(), &[0xff; 300]].concat();
    assert!(matches!(process(&garbage, &declared("x.pdf")), Err(DocumentError::Malformed(_))));
}

#[test]
fn pdf_without_text_is_empty() {
    let bytes = build::pdf(&[Vec::new(), Vec::new()]);
    assert_eq!(process(&bytes, &declared("scan.pdf")), Err(DocumentError::Empty));
}

#[test]
fn docx_headings_paragraphs_and_tables() {
    let bytes = build::docx();
    let processed = process(&bytes, &declared("handbook.docx")).unwrap();
    assert_eq!(processed.kind, DocumentKind::Docx);
    assert_well_formed(&processed.chunks, 400);
    let chunks = &processed.chunks;
    let welcome = chunks.iter().find(|c| c.content.contains("Welcome to the customer handbook")).unwrap();
    assert_eq!(welcome.metadata.heading_path, ["Customer Handbook"]);
    assert!(welcome.content.starts_with("Customer Handbook"));
    let refunds = chunks.iter().find(|c| c.content.contains("fourteen days")).unwrap();
    assert_eq!(refunds.metadata.heading_path, ["Customer Handbook", "Refund policy"]);
    let table = chunks.iter().find(|c| c.metadata.section.as_deref() == Some("table")).unwrap();
    assert_eq!(table.metadata.heading_path, ["Customer Handbook", "Refund policy", "Prices"]);
    assert_eq!(table.content, "Plan | Price\nStarter | 10 EUR\nBusiness | 49 EUR");
    assert_eq!(processed.language, Some("en"));
}

#[test]
fn html_drops_noise_and_follows_headings() {
    let html = r#"<!DOCTYPE html><html><head><title>Shop</title><style>p { color: red }</style></head>
        <body><nav><a href="/">Home</a> <a href="/faq">FAQ</a></nav>
        <script>var secret = "tracking";</script><noscript>Enable JavaScript</noscript>
        <h1>Help centre</h1><p>We answer   questions <b>every</b> day.</p>
        <h2>Delivery</h2><p>Parcels ship<br>within two days.</p>
        <ul><li>Express: next day</li><li>Standard: three days</li></ul>
        <div hidden>invisible text</div>
        <table><tr><th>Zone</th><th>Price</th></tr><tr><td>EU</td><td>5 EUR</td></tr></table>
        <h2>Returns</h2><pre>  step 1: print label
  step 2: ship</pre></body></html>"#;
    let processed = process(html.as_bytes(), &declared("help.html")).unwrap();
    assert_eq!(processed.kind, DocumentKind::Html);
    assert_well_formed(&processed.chunks, 400);
    let text = all_text(&processed.chunks);
    for noise in ["Home", "FAQ", "tracking", "Enable JavaScript", "color", "invisible", "Shop"] {
        assert!(!text.contains(noise), "{noise} leaked into {text:?}");
    }
    let chunks = &processed.chunks;
    let intro = chunks.iter().find(|c| c.content.contains("We answer questions every day.")).unwrap();
    assert_eq!(intro.metadata.heading_path, ["Help centre"]);
    let delivery = chunks.iter().find(|c| c.content.contains("Parcels ship within two days.")).unwrap();
    assert_eq!(delivery.metadata.heading_path, ["Help centre", "Delivery"]);
    assert!(delivery.content.contains("- Express: next day\n\n- Standard: three days"), "{:?}", delivery.content);
    let table = chunks.iter().find(|c| c.metadata.section.as_deref() == Some("table")).unwrap();
    assert_eq!(table.content, "Zone | Price\nEU | 5 EUR");
    let returns = chunks.iter().find(|c| c.content.contains("step 1")).unwrap();
    assert_eq!(returns.metadata.heading_path, ["Help centre", "Returns"]);
    assert!(returns.content.contains("  step 1: print label\n  step 2: ship"), "{:?}", returns.content);
}

#[test]
fn deeply_nested_html_is_refused_before_parsing() {
    let nested = |depth: usize| {
        format!("<html><body>{}deep text{}</body></html>", "<div>".repeat(depth), "</div>".repeat(depth))
    };
    let processed = process(nested(500).as_bytes(), &declared("deep.html")).unwrap();
    assert_eq!(all_text(&processed.chunks), "deep text");
    let started = std::time::Instant::now();
    assert!(matches!(
        process(nested(200_000).as_bytes(), &declared("deeper.html")),
        Err(DocumentError::LimitExceeded { what: "levels of nested HTML elements", limit: 1024 })
    ));
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn markdown_nested_headings_and_code() {
    let markdown = "---\ntitle: front matter\n---\n# Guide\n\nIntro paragraph.\n\n## Install\n\nRun the installer.\n\n\
        ```bash\ncargo install tool\n  --locked\n```\n\n### Linux\n\n- apt works\n- so does dnf\n\n## Use\n\n\
        | Command | Effect |\n|---|---|\n| run | starts |\n\n<div>raw html</div>\n";
    let processed = process(markdown.as_bytes(), &declared("guide.md")).unwrap();
    assert_eq!(processed.kind, DocumentKind::Markdown);
    assert_well_formed(&processed.chunks, 400);
    let paths: Vec<(Vec<String>, String)> =
        processed.chunks.iter().map(|c| (c.metadata.heading_path.clone(), c.content.clone())).collect();
    assert_eq!(
        paths,
        [
            (vec!["Guide".into()], "Guide\n\nIntro paragraph.".into()),
            (
                vec!["Guide".into(), "Install".into()],
                "Install\n\nRun the installer.\n\n```bash\ncargo install tool\n  --locked\n```".into()
            ),
            (vec!["Guide".into(), "Install".into(), "Linux".into()], "Linux\n\n- apt works\n\n- so does dnf".into()),
            (vec!["Guide".into(), "Use".into()], "Command | Effect\nrun | starts".into()),
        ]
    );
    assert_eq!(processed.chunks[3].metadata.section.as_deref(), Some("table"));
}

#[test]
fn plain_text_paragraphs_and_language() {
    let text = "Le service client répond à toutes les questions dans la journée.\n\n\
        Les remboursements sont effectués sous cinq jours ouvrés après réception du colis.";
    let processed = process(text.as_bytes(), &declared("faq.txt")).unwrap();
    assert_eq!(processed.kind, DocumentKind::PlainText);
    assert_eq!(processed.language, Some("fr"));
    assert_eq!(processed.chunks.len(), 1);
    assert_eq!(processed.chunks[0].content, text);
    assert!(processed.chunks[0].metadata.heading_path.is_empty());
}

#[test]
fn csv_rows_with_quoted_commas() {
    let csv = "product,description,price\n\"Desk, oak\",\"Solid wood, 2 m\",300\nLamp,\"LED, warm\",25\n";
    let processed = process(csv.as_bytes(), &declared("catalog.csv")).unwrap();
    assert_eq!(processed.kind, DocumentKind::Csv);
    assert_eq!(processed.rows, Some(2));
    assert_eq!(processed.chunks.len(), 1);
    assert_eq!(
        processed.chunks[0].content,
        "product: Desk, oak; description: Solid wood, 2 m; price: 300\nproduct: Lamp; description: LED, warm; price: 25"
    );
    assert_eq!(processed.chunks[0].metadata.row, Some(1));
}

#[test]
fn header_only_csv_is_empty() {
    assert_eq!(process(b"a,b,c\n", &declared("empty.csv")), Err(DocumentError::Empty));
}

#[test]
fn limits() {
    let text = "word ".repeat(10_000);
    let few_chars = ProcessOptions { max_extracted_chars: 1_000, ..ProcessOptions::default() };
    assert_eq!(
        process_with(text.as_bytes(), &declared("a.txt"), &few_chars),
        Err(DocumentError::LimitExceeded { what: "characters of text", limit: 1_000 })
    );
    let few_chunks = ProcessOptions { max_chunks: 2, ..ProcessOptions::default() };
    assert!(matches!(
        process_with(text.as_bytes(), &declared("a.txt"), &few_chunks),
        Err(DocumentError::LimitExceeded { what: "chunks", .. })
    ));
    assert_eq!(process(b" \n\n\t", &declared("blank.txt")), Err(DocumentError::Empty));
}

#[test]
fn detection_errors_surface_from_processing() {
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";
    assert_eq!(process(exe, &declared("notes.txt")), Err(DocumentError::UnsupportedType));
    let not_docx = build::zip(&["[Content_Types].xml", "xl/workbook.xml"]);
    assert_eq!(process(&not_docx, &declared("sheet.docx")), Err(DocumentError::UnsupportedType));
    let pdf = build::pdf(&[vec!["text".into()]]);
    assert_eq!(
        process(&pdf, &Declared::new(Some("a.pdf"), Some("text/plain"))),
        Err(DocumentError::TypeMismatch { detected: DocumentKind::Pdf, declared: DocumentKind::PlainText })
    );
    assert_eq!(process(b"", &declared("a.txt")), Err(DocumentError::Empty));
}

#[test]
fn metadata_serialises_camel_case() {
    let processed = process(build::docx().as_slice(), &declared("handbook.docx")).unwrap();
    let table = processed.chunks.iter().find(|c| c.metadata.section.is_some()).unwrap();
    let json = serde_json::to_value(&table.metadata).unwrap();
    assert_eq!(json["headingPath"][0], "Customer Handbook");
    assert_eq!(json["section"], "table");
    assert!(json["charStart"].is_u64() && json["charEnd"].is_u64());
    assert!(json.get("page").is_none() && json.get("row").is_none());
}

#[test]
fn processing_is_deterministic() {
    let bytes = build::docx();
    assert_eq!(process(&bytes, &declared("a.docx")), process(&bytes, &declared("a.docx")));
}
