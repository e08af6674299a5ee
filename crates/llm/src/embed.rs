//! Embedders: the built-in [`LocalEmbedder`] and the OpenAI-compatible [`OpenAiEmbedder`].

mod local;
mod remote;

pub use local::{LOCAL_EMBEDDING_DIMENSIONS, LOCAL_EMBEDDING_MODEL, LocalEmbedder};
pub use remote::OpenAiEmbedder;
