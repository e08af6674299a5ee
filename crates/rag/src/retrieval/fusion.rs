//! Reciprocal rank fusion of the two arms, and the relevance gate.
//!
//! Order: each chunk earns `weight / (k + rank)` from each arm it appears in (rank 1 = best); the sum orders
//! the results. Relevance: RRF scores are relative (some chunk always ranks first, even for a question the
//! documents know nothing about), so whether a chunk is relevant at all is decided on absolute signals —
//! its cosine similarity to the query, or the share of the query's terms it contains — whichever is higher
//! among the arms with weight. That number is the hit's `score` (0–1) and is what `minScore` applies to.

use std::collections::HashMap;

use meta_chat_database::documents::search::Candidate;
use uuid::Uuid;

/// How to fuse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    /// The `k` of RRF.
    pub k: f64,
    /// Weight of the vector arm (0–1).
    pub vector_weight: f64,
    /// Weight of the keyword arm (0–1).
    pub keyword_weight: f64,
    /// Hits scoring below this are dropped.
    pub min_score: f64,
    /// Hits kept.
    pub top_k: usize,
}

/// A fused, relevant chunk.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The chunk and its signals.
    pub candidate: Candidate,
    /// Relevance, 0–1 (see the module docs).
    pub score: f64,
    /// The RRF score that ordered it.
    pub fused: f64,
}

/// Fuses the arms' candidate lists (each ordered best first) into at most `top_k` relevant hits.
pub fn fuse(vector: Vec<Candidate>, keyword: Vec<Candidate>, fusion: &Fusion) -> Vec<Hit> {
    let mut merged: HashMap<Uuid, Hit> = HashMap::new();
    for (weight, list) in [(fusion.vector_weight, vector), (fusion.keyword_weight, keyword)] {
        for (index, candidate) in list.into_iter().enumerate() {
            #[expect(clippy::cast_precision_loss, reason = "ranks are small")]
            let earned = weight / (fusion.k + (index + 1) as f64);
            merged.entry(candidate.chunk_id).and_modify(|hit| hit.fused += earned).or_insert(Hit {
                candidate,
                score: 0.0,
                fused: earned,
            });
        }
    }
    let mut hits: Vec<Hit> = merged
        .into_values()
        .map(|mut hit| {
            let similarity = if fusion.vector_weight > 0.0 { hit.candidate.similarity } else { 0.0 };
            let coverage = if fusion.keyword_weight > 0.0 { hit.candidate.coverage } else { 0.0 };
            hit.score = similarity.max(coverage).clamp(0.0, 1.0);
            hit
        })
        .filter(|hit| hit.score >= fusion.min_score)
        .collect();
    hits.sort_by(|a, b| {
        b.fused
            .total_cmp(&a.fused)
            .then(b.score.total_cmp(&a.score))
            .then(a.candidate.chunk_id.cmp(&b.candidate.chunk_id))
    });
    hits.truncate(fusion.top_k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(n: u128, similarity: f64, coverage: f64) -> Candidate {
        Candidate {
            chunk_id: Uuid::from_u128(n),
            document_id: Uuid::from_u128(1000),
            filename: "f.txt".into(),
            content: format!("chunk {n}"),
            position: 0,
            metadata: serde_json::json!({}),
            similarity,
            coverage,
            keyword_rank: 0.0,
        }
    }

    const FUSION: Fusion = Fusion { k: 60.0, vector_weight: 1.0, keyword_weight: 1.0, min_score: 0.3, top_k: 3 };

    fn ids(hits: &[Hit]) -> Vec<u128> {
        hits.iter().map(|h| h.candidate.chunk_id.as_u128()).collect()
    }

    #[test]
    fn a_chunk_found_by_both_arms_ranks_first() {
        let vector = vec![candidate(1, 0.8, 0.0), candidate(2, 0.7, 1.0), candidate(3, 0.6, 0.0)];
        let keyword = vec![candidate(2, 0.7, 1.0), candidate(4, 0.1, 0.5)];
        let hits = fuse(vector, keyword, &FUSION);
        assert_eq!(ids(&hits), [2, 1, 4]);
        assert!((hits[0].score - 1.0).abs() < 1e-9);
    }

    #[test]
    fn irrelevant_chunks_are_dropped_however_they_rank() {
        let hits = fuse(vec![candidate(1, 0.1, 0.0)], vec![candidate(2, 0.05, 0.2)], &FUSION);
        assert!(hits.is_empty());
    }

    #[test]
    fn a_zero_weight_arm_neither_orders_nor_qualifies() {
        let only_vectors = Fusion { keyword_weight: 0.0, ..FUSION };
        let hits = fuse(vec![candidate(1, 0.5, 0.0)], vec![candidate(2, 0.1, 1.0)], &only_vectors);
        assert_eq!(ids(&hits), [1]);
    }
}
