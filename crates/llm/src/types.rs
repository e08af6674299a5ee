//! What a model is asked and what it answers, independent of any provider's wire format.

use meta_chat_shared::ids::ChunkId;
use serde_json::{Value, json};

/// Who said a turn of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end user.
    User,
    /// The assistant (or a human agent, as seen by the model).
    Assistant,
}

/// One earlier turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

/// A retrieved passage the answer may use. Providers show passages to the model as numbered sources
/// (`[1] (source) text`) and map the model's `[n]` markers back to [`Passage::id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// The chunk the passage comes from.
    pub id: ChunkId,
    /// Where it comes from, shown to the model: a file name or document title.
    pub source: String,
    /// The passage itself.
    pub text: String,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The name the model calls it by (`a-z`, `0-9`, `_`).
    pub name: String,
    /// When to use it, for the model.
    pub description: String,
    /// Its arguments as a JSON schema (`{"type": "object", ...}`).
    pub parameters: Value,
}

/// The name of the hand-off tool; a call to it sets [`Completion::handoff_requested`].
pub const HANDOFF_TOOL: &str = "handoff_to_human";
/// The name of the knowledge-base search tool.
pub const SEARCH_TOOL: &str = "search_knowledge_base";

impl ToolSpec {
    /// `handoff_to_human(reason)`: the model asks for a person to take over.
    pub fn handoff() -> Self {
        Self {
            name: HANDOFF_TOOL.to_owned(),
            description: "Hand the conversation to a human agent: use it when the user asks for a person, when \
                          you cannot answer from the sources, or when the matter needs a human decision."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": { "reason": { "type": "string", "description": "Why a person should take over." } },
                "required": ["reason"],
            }),
        }
    }

    /// `search_knowledge_base(query)`: the model looks something up in the tenant's documents.
    pub fn search_knowledge_base() -> Self {
        Self {
            name: SEARCH_TOOL.to_owned(),
            description: "Search the company's knowledge base for passages that answer a question.".to_owned(),
            parameters: json!({
                "type": "object",
                "properties": { "query": { "type": "string", "description": "What to look up, in a few words." } },
                "required": ["query"],
            }),
        }
    }
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The provider's id of the call (echoed back with its result).
    pub id: String,
    /// Which tool.
    pub name: String,
    /// Its arguments. Arguments that are not valid JSON arrive as a JSON string holding the raw text.
    pub arguments: Value,
}

/// A tool call made earlier in this turn and its result, sent back so the model can continue.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolExchange {
    /// The model's call.
    pub call: ToolCall,
    /// What the tool returned (text, often JSON).
    pub result: String,
}

/// What the model is asked.
#[derive(Debug, Clone, Default)]
pub struct CompletionRequest {
    /// The tenant's system prompt.
    pub system: String,
    /// Earlier turns, oldest first.
    pub history: Vec<Turn>,
    /// The end user's message being answered.
    pub message: String,
    /// Retrieved passages the answer may use, best first.
    pub context: Vec<Passage>,
    /// Tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// Tool calls already made in this turn, with their results (the tool loop), oldest first.
    pub tool_exchanges: Vec<ToolExchange>,
    /// The end user's display name, if known (for a natural greeting).
    pub user_name: Option<String>,
    /// Upper bound of the answer's length in tokens; `None`: the provider's default.
    pub max_tokens: Option<u32>,
    /// Sampling temperature; `None`: the provider's default.
    pub temperature: Option<f32>,
}

/// Tokens used by one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FinishReason {
    /// It finished its answer.
    #[default]
    Stop,
    /// It hit the token limit: the answer is cut short.
    Length,
    /// It called tools and waits for their results.
    ToolCalls,
    /// The provider's content filter stopped it.
    ContentFilter,
    /// Anything else the provider reported.
    Other,
}

impl FinishReason {
    /// Stable name for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ToolCalls => "tool_calls",
            Self::ContentFilter => "content_filter",
            Self::Other => "other",
        }
    }
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The reply text (may be empty when the model only called tools).
    pub text: String,
    /// Tool calls, in the order the model made them.
    pub tool_calls: Vec<ToolCall>,
    /// The passages the answer cites (from its `[n]` markers), in order of first citation, without repeats.
    pub citations: Vec<ChunkId>,
    /// How sure we are that the reply answers the message (0–1); see the provider docs for how it is judged.
    pub confidence: f64,
    /// The model called the hand-off tool (or the local provider decided): the user should talk to a person.
    pub handoff_requested: bool,
    /// Tokens used.
    pub usage: Usage,
    /// What the call cost, in millionths of a US dollar, from the configured price table.
    pub cost_micro_usd: u64,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// The model that answered.
    pub model: String,
    /// Wall time of the call, retries included, in milliseconds.
    pub latency_ms: u64,
}

impl Completion {
    /// [`Completion::cost_micro_usd`] in US dollars.
    #[expect(clippy::cast_precision_loss, reason = "costs are far below 2^52 micro-USD")]
    pub fn cost_usd(&self) -> f64 {
        self.cost_micro_usd as f64 / 1_000_000.0
    }
}

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More reply text.
    TextDelta(String),
    /// A complete tool call (its streamed argument fragments already assembled).
    ToolCall(ToolCall),
    /// The end: the whole answer, as [`crate::Provider::complete`] would have returned it.
    Done(Completion),
}
