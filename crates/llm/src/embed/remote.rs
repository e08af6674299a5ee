//! Embeddings from an OpenAI-compatible `/embeddings` endpoint through `async-openai`, in batches of
//! `batch_size` with up to `concurrency` requests in flight, under the same retry, timeout and circuit
//! breaker rules as chat. Every vector must have the configured length.

use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput, EncodingFormat};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};

use crate::openai::Endpoint;
use crate::resilience::Guard;
use crate::{EmbedFuture, Embedder, LlmError};

/// An embedding model behind an OpenAI-compatible API.
#[derive(Debug)]
pub struct OpenAiEmbedder {
    model: String,
    dimensions: usize,
    batch_size: usize,
    concurrency: usize,
    endpoint: Endpoint,
    guard: Guard,
}

impl OpenAiEmbedder {
    pub(crate) fn new(
        model: &str,
        dimensions: usize,
        batch_size: usize,
        concurrency: usize,
        endpoint: Endpoint,
        guard: Guard,
    ) -> Self {
        Self {
            model: model.to_owned(),
            dimensions,
            batch_size: batch_size.max(1),
            concurrency: concurrency.max(1),
            endpoint,
            guard,
        }
    }

    async fn batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let request = CreateEmbeddingRequest {
            model: self.model.clone(),
            input: EmbeddingInput::StringArray(texts.to_vec()),
            encoding_format: Some(EncodingFormat::Float),
            user: None,
            // only OpenAI's text-embedding-3 models can shorten their vectors; others refuse the field
            dimensions: self
                .model
                .starts_with("text-embedding-3")
                .then(|| u32::try_from(self.dimensions).ok())
                .flatten(),
        };
        let response = self
            .guard
            .run(|| async {
                let (client, outcome) = self.endpoint.client();
                client.embeddings().create(request.clone()).await.map_err(|error| outcome.error(&error))
            })
            .await?;
        let mut data = response.data;
        if data.len() != texts.len() {
            return Err(LlmError::InvalidResponse("wrong number of embeddings"));
        }
        data.sort_by_key(|embedding| embedding.index);
        if data.iter().any(|embedding| embedding.embedding.len() != self.dimensions) {
            tracing::warn!(model = %self.model, expected = self.dimensions, "embedding length differs from configured");
            return Err(LlmError::InvalidResponse("embedding length differs from the configured dimensions"));
        }
        Ok(data.into_iter().map(|embedding| embedding.embedding).collect())
    }
}

impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move {
            let requests: Vec<_> = texts.chunks(self.batch_size).map(|batch| self.batch(batch)).collect();
            let batches: Vec<Vec<Vec<f32>>> = stream::iter(requests).buffered(self.concurrency).try_collect().await?;
            Ok(batches.into_iter().flatten().collect())
        })
    }
}
