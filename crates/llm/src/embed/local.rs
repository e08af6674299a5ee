//! `local-hash-384`: a deterministic, offline embedder with nothing to download. Features are hashed into
//! 384 signed buckets (FNV-1a, stable across platforms and releases, as stored vectors require):
//! word stems (weight 1), stem bigrams (0.7) and the character 3- to 5-grams of each word with boundary
//! marks (scaled so each word's n-grams together weigh about as much as the word). The vector is
//! L2-normalised, so cosine similarity is a dot product. Texts sharing stems or word pieces land close;
//! it knows no synonyms.

use crate::text::{is_stop_word, stem, words};
use crate::{EmbedFuture, Embedder};

/// The model name stored beside its vectors (the database's embedding registry seeds it).
pub const LOCAL_EMBEDDING_MODEL: &str = "local-hash-384";
/// Its vector length.
pub const LOCAL_EMBEDDING_DIMENSIONS: usize = 384;

/// The built-in embedder.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalEmbedder;

impl LocalEmbedder {
    /// The vector of one text (unit length; an empty text gets a fixed vector of its own).
    pub fn vector(text: &str) -> Vec<f32> {
        let mut vector = vec![0.0_f32; LOCAL_EMBEDDING_DIMENSIONS];
        let words = words(text);
        let stems: Vec<String> = words.iter().filter(|w| !is_stop_word(w)).map(|w| stem(w)).collect();
        for word in &stems {
            add(&mut vector, &format!("w:{word}"), 1.0);
        }
        for pair in stems.windows(2) {
            add(&mut vector, &format!("b:{} {}", pair[0], pair[1]), 0.7);
        }
        for word in &words {
            let chars: Vec<char> = format!("<{word}>").chars().collect();
            let grams: Vec<String> = (3..=5)
                .flat_map(|n| chars.windows(n).map(|w| w.iter().collect::<String>()).collect::<Vec<_>>())
                .collect();
            #[expect(clippy::cast_precision_loss, reason = "n-gram counts are small")]
            let weight = 1.0 / (grams.len().max(1) as f32).sqrt();
            for gram in &grams {
                add(&mut vector, &format!("c:{gram}"), weight);
            }
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            add(&mut vector, "empty", 1.0);
            return vector;
        }
        for x in &mut vector {
            *x /= norm;
        }
        vector
    }
}

fn add(vector: &mut [f32], feature: &str, weight: f32) {
    let hash = fnv1a(feature.as_bytes());
    let bucket = usize::try_from(hash % LOCAL_EMBEDDING_DIMENSIONS as u64).unwrap_or(0);
    let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
    vector[bucket] += sign * weight;
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

impl Embedder for LocalEmbedder {
    fn model(&self) -> &str {
        LOCAL_EMBEDDING_MODEL
    }

    fn dimensions(&self) -> usize {
        LOCAL_EMBEDDING_DIMENSIONS
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move { Ok(texts.iter().map(|text| Self::vector(text)).collect()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[tokio::test]
    async fn vectors_are_deterministic_unit_length_and_384_long() {
        let texts = vec!["Returns are accepted within 30 days.".to_owned(), String::new(), "Ça coûte 20€".to_owned()];
        let first = LocalEmbedder.embed(&texts).await.unwrap();
        assert_eq!(first, LocalEmbedder.embed(&texts).await.unwrap());
        assert_eq!(LocalEmbedder.model(), "local-hash-384");
        for vector in &first {
            assert_eq!(vector.len(), 384);
            let norm = cosine(vector, vector).sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
    }

    #[test]
    fn related_text_is_closer_than_unrelated_text() {
        let query = LocalEmbedder::vector("How do I reset my password?");
        let paraphrase = LocalEmbedder::vector("Steps for resetting a forgotten password");
        let unrelated = LocalEmbedder::vector("Our office opens at nine in the morning");
        assert!(cosine(&query, &paraphrase) > cosine(&query, &unrelated) + 0.1);

        let shipping = LocalEmbedder::vector("Do you ship internationally?");
        let shipped = LocalEmbedder::vector("We shipped orders to international customers");
        let refunds = LocalEmbedder::vector("Refunds take five business days");
        assert!(cosine(&shipping, &shipped) > cosine(&shipping, &refunds));
    }

    #[test]
    fn the_hash_is_stable() {
        // FNV-1a test vector: stored vectors depend on it never changing
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
