//! Throughput of `process_with` on a synthetic 200-page document, as plain text, Markdown and PDF.
//!
//! Run in release mode: `cargo run --release -p meta-chat-rag --example ingest_bench [pages]`.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::unwrap_used, reason = "a benchmark (and the shared test builders) fail loudly")]

#[expect(dead_code, reason = "the benchmark uses only the PDF builder")]
#[path = "../tests/documents/build.rs"]
mod build;

use std::time::Instant;

use meta_chat_rag::{Declared, ProcessOptions, process_with};

const WORDS: [&str; 24] = [
    "customer",
    "order",
    "refund",
    "delivery",
    "account",
    "invoice",
    "support",
    "warranty",
    "product",
    "payment",
    "shipping",
    "return",
    "policy",
    "subscription",
    "team",
    "request",
    "answer",
    "question",
    "within",
    "days",
    "always",
    "store",
    "parcel",
    "update",
];
const LINES_PER_PAGE: usize = 40;

/// Deterministic pseudo-random sentences: a page is `LINES_PER_PAGE` lines of about 80 characters, with a blank
/// line every five lines.
fn pages(count: usize) -> Vec<Vec<String>> {
    let mut state = 0x2545_f491_u64;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(state >> 33).unwrap()
    };
    (0..count)
        .map(|_| {
            (0..LINES_PER_PAGE)
                .map(|line| {
                    if line % 6 == 5 {
                        return String::new();
                    }
                    let mut text = String::new();
                    while text.len() < 75 {
                        text.push_str(WORDS[next() % WORDS.len()]);
                        text.push(' ');
                    }
                    text.push_str("is handled.");
                    text
                })
                .collect()
        })
        .collect()
}

fn bench(label: &str, bytes: &[u8], filename: &str, options: &ProcessOptions) {
    let runs = 3;
    let mut best = f64::MAX;
    let mut chunks = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let processed = process_with(bytes, &Declared::new(Some(filename), None), options).unwrap();
        best = best.min(started.elapsed().as_secs_f64());
        chunks = processed.chunks.len();
    }
    #[expect(clippy::cast_precision_loss, reason = "a report")]
    let (chunk_rate, megabytes) = (chunks as f64 / best, bytes.len() as f64 / 1_000_000.0);
    println!(
        "{label:<10} {megabytes:>6.2} MB {chunks:>6} chunks  best of {runs}: {:>7.1} ms  {chunk_rate:>8.0} chunks/s  {:>6.2} MB/s",
        best * 1000.0,
        megabytes / best
    );
}

fn main() {
    let count: usize = std::env::args().nth(1).and_then(|arg| arg.parse().ok()).unwrap_or(200);
    let options = ProcessOptions::default();
    let started = Instant::now();
    process_with(b"warm up the tokenizer", &Declared::default(), &options).unwrap();
    println!("tokenizer load and first call: {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);

    let pages = pages(count);
    let text: String = pages.iter().map(|page| page.join("\n")).collect::<Vec<_>>().join("\n\n");
    let markdown: String = pages
        .iter()
        .enumerate()
        .map(|(number, page)| format!("## Page {}\n\n{}", number + 1, page.join("\n")))
        .collect::<Vec<_>>()
        .join("\n\n");
    let pdf = build::pdf(&pages);
    println!("{count} pages, max_chunk_tokens {}, overlap {}", options.max_chunk_tokens, options.overlap_tokens);
    bench("text", text.as_bytes(), "doc.txt", &options);
    bench("markdown", markdown.as_bytes(), "doc.md", &options);
    bench("pdf", &pdf, "doc.pdf", &options);
}
