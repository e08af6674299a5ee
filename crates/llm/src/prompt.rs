//! What every remote provider shares: the system prompt with numbered sources, citation parsing, the
//! confidence estimate, and turning a raw answer into a [`Completion`].
//!
//! Remote models report no confidence, so it is estimated from what the answer shows: cites a source 0.9;
//! answers without sources when there were none 0.75; ignores the sources it was given 0.55; asks for a hand-off 1.0;
//! empty (no text, no tool call) 0. An answer cut off by the token limit loses 0.2.

use std::fmt::Write as _;
use std::time::Instant;

use meta_chat_shared::ids::ChunkId;

use crate::cost::PriceTable;
use crate::{Completion, CompletionRequest, FinishReason, HANDOFF_TOOL, ToolCall, Usage, estimate_tokens};

/// The system prompt: the tenant's prompt, the user's name, then the numbered sources and how to cite them.
pub(crate) fn system_prompt(request: &CompletionRequest) -> String {
    let mut prompt = request.system.trim().to_owned();
    if let Some(name) = request.user_name.as_deref().filter(|n| !n.trim().is_empty()) {
        let _ = write!(prompt, "\n\nThe user's name is {}.", name.trim());
    }
    if !request.context.is_empty() {
        prompt.push_str(
            "\n\nAnswer from the numbered sources below. Cite each source you use with its number in square \
             brackets, like [1]. If the sources do not contain the answer, say so plainly; do not guess.\n\nSources:",
        );
        for (index, passage) in request.context.iter().enumerate() {
            let _ = write!(prompt, "\n[{}] ({}) {}", index + 1, passage.source.trim(), passage.text.trim());
        }
    }
    prompt
}

/// The passages cited by `[n]` markers in `text` (also `[1, 2]` and `[1][2]`), in order of first citation.
pub(crate) fn citations(text: &str, context: &[ChunkId]) -> Vec<ChunkId> {
    let mut cited = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let inside = &rest[..close];
        let numbers: Option<Vec<usize>> = inside.split(',').map(|n| n.trim().parse::<usize>().ok()).collect();
        for number in numbers.unwrap_or_default() {
            if let Some(id) = number.checked_sub(1).and_then(|i| context.get(i))
                && !cited.contains(id)
            {
                cited.push(*id);
            }
        }
        rest = &rest[close..];
    }
    cited
}

fn confidence(text: &str, tool_calls: &[ToolCall], had_context: bool, cited: bool, finish: FinishReason) -> f64 {
    if tool_calls.iter().any(|call| call.name == HANDOFF_TOOL) {
        return 1.0;
    }
    if text.trim().is_empty() {
        return if tool_calls.is_empty() { 0.0 } else { 0.75 };
    }
    let base = match (had_context, cited) {
        (_, true) => 0.9,
        (false, false) => 0.75,
        (true, false) => 0.55,
    };
    if finish == FinishReason::Length { base - 0.2 } else { base }
}

/// What the call needs to remember to build its [`Completion`].
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub model: String,
    pub context: Vec<ChunkId>,
    pub prompt_estimate: u32,
    pub prices: PriceTable,
    pub started: Instant,
}

impl Meta {
    pub(crate) fn new(model: &str, request: &CompletionRequest, prices: &PriceTable) -> Self {
        let prompt_estimate = estimate_tokens(&system_prompt(request))
            + request.history.iter().map(|turn| estimate_tokens(&turn.content)).sum::<u32>()
            + estimate_tokens(&request.message);
        Self {
            model: model.to_owned(),
            context: request.context.iter().map(|p| p.id).collect(),
            prompt_estimate,
            prices: prices.clone(),
            started: Instant::now(),
        }
    }

    /// The [`Completion`] for a raw answer; usage is estimated when the provider reported none.
    pub(crate) fn finish(
        &self,
        text: String,
        tool_calls: Vec<ToolCall>,
        usage: Option<Usage>,
        finish_reason: FinishReason,
        answered_by: Option<&str>,
    ) -> Completion {
        let citations = citations(&text, &self.context);
        let confidence = confidence(&text, &tool_calls, !self.context.is_empty(), !citations.is_empty(), finish_reason);
        let usage = usage.unwrap_or_else(|| Usage {
            prompt_tokens: self.prompt_estimate,
            completion_tokens: estimate_tokens(&text),
        });
        let cost_micro_usd = self.prices.cost_micro_usd(&self.model, usage);
        let handoff_requested = tool_calls.iter().any(|call| call.name == HANDOFF_TOOL);
        let model = answered_by.filter(|m| !m.is_empty()).unwrap_or(&self.model).to_owned();
        let latency_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Completion {
            text,
            tool_calls,
            citations,
            confidence,
            handoff_requested,
            usage,
            cost_micro_usd,
            finish_reason,
            model,
            latency_ms,
        }
    }
}

/// A tool call's arguments: the JSON they hold, or the raw text as a JSON string when they are not JSON.
pub(crate) fn parse_arguments(raw: &str) -> serde_json::Value {
    if raw.trim().is_empty() {
        return serde_json::Value::Object(serde_json::Map::new());
    }
    serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Passage;

    #[test]
    fn sources_are_numbered_in_the_system_prompt() {
        let request = CompletionRequest {
            system: "You help Acme's customers.".into(),
            user_name: Some("Ana".into()),
            context: vec![
                Passage { id: ChunkId::new(), source: "faq.md".into(), text: "Returns take 30 days.".into() },
                Passage { id: ChunkId::new(), source: "terms.pdf".into(), text: "Shipping is free.".into() },
            ],
            ..CompletionRequest::default()
        };
        let prompt = system_prompt(&request);
        assert!(prompt.starts_with("You help Acme's customers.\n\nThe user's name is Ana."), "{prompt}");
        assert!(prompt.contains("[1] (faq.md) Returns take 30 days.\n[2] (terms.pdf) Shipping is free."), "{prompt}");
        assert!(prompt.contains("like [1]"));
    }

    #[test]
    fn citations_map_markers_to_passages_once_each_and_ignore_unknown_numbers() {
        let ids = [ChunkId::new(), ChunkId::new(), ChunkId::new()];
        let text = "Free shipping [2]. Returns [1, 3] and again [2][9] [x] [0].";
        assert_eq!(citations(text, &ids), vec![ids[1], ids[0], ids[2]]);
        assert!(citations("no markers", &ids).is_empty());
    }
}
