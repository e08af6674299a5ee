//! What a call cost, from the configured price table (`llm.prices`). Prices are held as integer micro-USD
//! per million tokens and costs computed in integers, so sums over many calls do not drift.

use std::collections::HashMap;

use meta_chat_shared::config::ModelPrice;

use crate::Usage;

/// Prices by model name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceTable {
    /// model → (prompt, completion) micro-USD per million tokens.
    prices: HashMap<String, (u64, u64)>,
}

impl PriceTable {
    /// The table for `prices` (USD per million tokens by model).
    pub fn new<'a>(prices: impl IntoIterator<Item = (&'a String, &'a ModelPrice)>) -> Self {
        let micro = |usd: f64| {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "validated 0..=1e6, rounded")]
            let value = (usd.clamp(0.0, 1_000_000.0) * 1_000_000.0).round() as u64;
            value
        };
        let prices = prices
            .into_iter()
            .map(|(model, price)| {
                (model.clone(), (micro(price.prompt_per_million_usd), micro(price.completion_per_million_usd)))
            })
            .collect();
        Self { prices }
    }

    /// The cost of `usage` on `model` in micro-USD, rounded to the nearest; 0 for a model not in the table.
    pub fn cost_micro_usd(&self, model: &str, usage: Usage) -> u64 {
        let Some(&(prompt, completion)) = self.prices.get(model) else {
            tracing::debug!(model, "no price configured for model; cost recorded as 0");
            return 0;
        };
        let total = u128::from(usage.prompt_tokens) * u128::from(prompt)
            + u128::from(usage.completion_tokens) * u128::from(completion);
        u64::try_from((total + 500_000) / 1_000_000).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn cost_is_tokens_times_the_price_per_million_in_micro_usd() {
        let prices = BTreeMap::from([(
            "gpt-4o-mini".to_owned(),
            ModelPrice { prompt_per_million_usd: 0.15, completion_per_million_usd: 0.60 },
        )]);
        let table = PriceTable::new(&prices);
        // 1000 × 0.15 + 500 × 0.60 = 450 micro-USD
        let usage = Usage { prompt_tokens: 1_000, completion_tokens: 500 };
        assert_eq!(table.cost_micro_usd("gpt-4o-mini", usage), 450);
        assert_eq!(table.cost_micro_usd("unknown-model", usage), 0);
        let million = Usage { prompt_tokens: 1_000_000, completion_tokens: 1_000_000 };
        assert_eq!(table.cost_micro_usd("gpt-4o-mini", million), 750_000);
    }
}
