use super::*;

fn sentence(i: usize) -> String {
    format!("Sentence number {i} explains how the support team handles order {i} and its refund.")
}

/// Paragraphs of three sentences each.
fn paragraphs(count: usize) -> String {
    (0..count)
        .map(|p| (0..3).map(|s| sentence(p * 3 + s)).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn options(max_chunk_tokens: u32, overlap_tokens: u32) -> ProcessOptions {
    ProcessOptions { max_chunk_tokens, overlap_tokens, ..ProcessOptions::default() }
}

fn text_section(text: String) -> Section {
    Section::text(vec!["Guide".into(), "Refunds".into()], text)
}

/// The document text that `charStart`/`charEnd` index.
fn document_text(sections: &[Section]) -> Vec<char> {
    let texts: Vec<String> = sections
        .iter()
        .map(|section| match &section.body {
            Body::Text(text) => text.clone(),
            Body::Rows(rows) => rows.iter().map(|(_, row)| row.as_str()).collect::<Vec<_>>().join("\n"),
        })
        .collect();
    texts.join("\n\n").chars().collect()
}

fn assert_invariants(sections: &[Section], chunks: &[ChunkDraft], budget: u32) {
    let bpe = tokenizer().unwrap();
    let text = document_text(sections);
    for (index, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.position as usize, index);
        assert!(!chunk.content.trim().is_empty());
        assert!(chunk.token_count <= budget, "{} tokens", chunk.token_count);
        assert_eq!(chunk.token_count as usize, count_tokens(bpe, &chunk.content));
        assert!(chunk.content.chars().count() <= MAX_CHUNK_CHARS);
        let start = usize::try_from(chunk.metadata.char_start).unwrap();
        let end = usize::try_from(chunk.metadata.char_end).unwrap();
        let slice: String = text[start..end].iter().collect();
        assert_eq!(slice, chunk.content, "chunk {index} offsets");
    }
}

#[test]
fn paragraphs_are_kept_whole_when_they_fit() {
    let sections = vec![text_section(paragraphs(30))];
    let chunks = chunk(&sections, &options(200, 0)).unwrap();
    assert!(chunks.len() > 5, "{}", chunks.len());
    assert_invariants(&sections, &chunks, 200);
    for chunk in &chunks {
        assert!(chunk.content.starts_with("Sentence number "), "{:?}", chunk.content);
        assert!(chunk.content.ends_with("refund."), "{:?}", chunk.content);
        let sentences = chunk.content.matches("Sentence number").count();
        assert_eq!(sentences % 3, 0, "a paragraph was split: {:?}", chunk.content);
        assert_eq!(chunk.metadata.heading_path, ["Guide", "Refunds"]);
    }
}

#[test]
fn long_paragraphs_split_at_sentences() {
    let one_paragraph = (0..60).map(sentence).collect::<Vec<_>>().join(" ");
    let sections = vec![text_section(one_paragraph)];
    let chunks = chunk(&sections, &options(100, 0)).unwrap();
    assert!(chunks.len() > 3);
    assert_invariants(&sections, &chunks, 100);
    for chunk in &chunks {
        assert!(chunk.content.starts_with("Sentence number "), "{:?}", chunk.content);
        assert!(chunk.content.ends_with("refund."), "{:?}", chunk.content);
    }
}

#[test]
fn neighbours_overlap() {
    let sections = vec![text_section((0..80).map(sentence).collect::<Vec<_>>().join(" "))];
    let chunks = chunk(&sections, &options(120, 40)).unwrap();
    assert_invariants(&sections, &chunks, 120);
    for pair in chunks.windows(2) {
        assert!(pair[1].metadata.char_start < pair[0].metadata.char_end, "no overlap between {pair:?}");
        let shared = usize::try_from(pair[0].metadata.char_end - pair[1].metadata.char_start).unwrap();
        let tail: String = pair[0].content.chars().rev().take(shared).collect::<Vec<_>>().into_iter().rev().collect();
        assert!(pair[1].content.starts_with(&tail));
    }
}

#[test]
fn sections_are_never_merged_and_keep_their_metadata() {
    let mut page_one = Section::text(Vec::new(), "Page one text.".into());
    page_one.page = Some(1);
    let mut page_two = Section::text(Vec::new(), "Page two text.".into());
    page_two.page = Some(2);
    let mut table = Section::text(vec!["Prices".into()], "Plan | Price\nPro | 10".into());
    table.label = Some("table");
    let sections = vec![page_one, page_two, table];
    let chunks = chunk(&sections, &ProcessOptions::default()).unwrap();
    assert_eq!(chunks.len(), 3);
    assert_invariants(&sections, &chunks, 400);
    assert_eq!(chunks[0].metadata.page, Some(1));
    assert_eq!(chunks[1].metadata.page, Some(2));
    assert_eq!(chunks[2].metadata.section.as_deref(), Some("table"));
    assert_eq!(chunks[2].metadata.heading_path, ["Prices"]);
}

#[test]
fn rows_are_packed_whole_with_their_first_row_number() {
    let rows: Vec<(u32, String)> =
        (1..=300).map(|n| (n, format!("name: Customer {n}; city: Paris; note: ordered item {n}"))).collect();
    let sections = vec![Section { heading_path: Vec::new(), page: None, label: None, body: Body::Rows(rows) }];
    let chunks = chunk(&sections, &options(100, 30)).unwrap();
    assert!(chunks.len() > 10);
    assert_invariants(&sections, &chunks, 100);
    let mut expected_row = 1;
    for chunk in &chunks {
        assert_eq!(chunk.metadata.row, Some(expected_row));
        assert!(chunk.content.starts_with(&format!("name: Customer {expected_row};")));
        expected_row += u32::try_from(chunk.content.lines().count()).unwrap();
    }
    assert_eq!(expected_row, 301);
}

#[test]
fn a_row_over_the_budget_is_split() {
    let long = (0..40).map(sentence).collect::<Vec<_>>().join(" ");
    let rows = vec![(1, "a: short".to_owned()), (2, format!("text: {long}")), (3, "a: after".to_owned())];
    let sections = vec![Section { heading_path: Vec::new(), page: None, label: None, body: Body::Rows(rows) }];
    let chunks = chunk(&sections, &options(80, 0)).unwrap();
    assert_invariants(&sections, &chunks, 80);
    assert_eq!(chunks.first().unwrap().metadata.row, Some(1));
    assert!(chunks[1..chunks.len() - 1].iter().all(|c| c.metadata.row == Some(2)));
    assert_eq!(chunks.last().unwrap().metadata.row, Some(3));
}

#[test]
fn chunks_never_exceed_the_character_cap() {
    let sections = vec![text_section(paragraphs(700))];
    let chunks = chunk(&sections, &options(20_000, 0)).unwrap();
    assert!(chunks.len() >= 3);
    assert_invariants(&sections, &chunks, 20_000);
}

#[test]
fn output_is_deterministic() {
    let sections = vec![text_section(paragraphs(40))];
    let first = chunk(&sections, &ProcessOptions::default()).unwrap();
    let second = chunk(&sections, &ProcessOptions::default()).unwrap();
    assert_eq!(first, second);
}

#[test]
fn too_many_chunks_is_a_limit() {
    let sections = vec![text_section(paragraphs(50))];
    let result = chunk(&sections, &ProcessOptions { max_chunks: 3, ..options(50, 0) });
    assert_eq!(result, Err(DocumentError::LimitExceeded { what: "chunks", limit: 3 }));
}

#[test]
fn a_long_document_chunks_fine() {
    // ~200 pages of ~2 000 characters.
    let sections: Vec<Section> = (1..=200)
        .map(|page| {
            let mut section = Section::text(Vec::new(), paragraphs(8));
            section.page = Some(page);
            section
        })
        .collect();
    let chunks = chunk(&sections, &ProcessOptions::default()).unwrap();
    assert!(chunks.len() >= 200);
    assert_invariants(&sections, &chunks, 400);
    assert_eq!(chunks.last().unwrap().metadata.page, Some(200));
}
