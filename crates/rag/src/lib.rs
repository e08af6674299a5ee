//! Retrieval-augmented generation: document loaders (PDF, DOCX, HTML, Markdown, text, CSV), token-aware
//! chunking, embedders, ingestion and hybrid (vector + keyword) retrieval that builds prompt context.
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`, `meta-chat-llm`.
//!
//! Status: no code yet; built in the knowledge and AI issue.
