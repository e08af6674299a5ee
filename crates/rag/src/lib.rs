//! Retrieval-augmented generation: document loaders (PDF, DOCX, HTML, Markdown, text, CSV), token-aware
//! chunking, embedders, ingestion and hybrid (vector + keyword) retrieval that builds prompt context.
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`, `meta-chat-llm`. The document-processing part
//! (`upload`, loaders, chunker, [`process_with`]) uses none of them: it is pure, bytes in and chunks out.
//!
//! Entry points: [`upload::check_size`], [`upload::detect`] and [`upload::checksum`] validate an upload before it
//! is stored; [`process_with`] turns the bytes into [`Processed`] (kind, language, page/row counts and
//! [`ChunkDraft`]s). Processing is synchronous and CPU-bound: async callers run it in `spawn_blocking`.
//! Every [`DocumentError`] is safe to show to users and to store as a document's failure reason.
//! See `docs/documents.md` for the supported types, limits and metadata.
#![warn(missing_docs)]

mod chunker;
mod error;
pub mod ingest;
mod kind;
mod language;
mod loaders;
mod normalize;
mod process;
pub mod reembed;
pub mod retrieval;
pub mod upload;

pub use error::DocumentError;
pub use kind::DocumentKind;
pub use process::{ChunkDraft, ChunkMetadata, ProcessOptions, Processed, process, process_with};
pub use retrieval::Embedders;
pub use upload::Declared;
