//! The assistant: one answer to one end-user message, the same for every channel and the chat API.
//!
//! 1. The tenant's provider (its `llm` settings and sealed key; the built-in local provider when none is
//!    configured or the key cannot be opened).
//! 2. When `rag.enabled`: a follow-up is rewritten into a standalone query (by the model when a generative
//!    provider is configured, by a heuristic otherwise), the knowledge base is searched, and the relevant
//!    chunks become numbered sources. If retrieval fails, the answer says the knowledge base could not be
//!    consulted — it is never silent and never pretends nothing was found.
//! 3. The model answers with the tools `handoff_to_human` (when hand-off is enabled) and
//!    `search_knowledge_base` (when retrieval is), at most [`TOOL_ROUNDS`] searches per answer.
//! 4. The answer carries its confidence, the chunks it cited, and what it used (model, tokens, cost,
//!    latency, retrieval outcome) for the decision record.

use std::sync::Arc;

use meta_chat_database::pipeline::DecisionUsage;
use meta_chat_database::{AsyncPgConnection, DbPool};
use meta_chat_llm::{
    Completion, CompletionRequest, LlmError, LocalProvider, Passage, Provider, Providers, Role, ToolExchange, ToolSpec,
    Turn,
};
use meta_chat_rag::Embedders;
use meta_chat_rag::retrieval::{self, Hit, Query, rewrite};
use meta_chat_shared::config::KnowledgeConfig;
use meta_chat_shared::ids::{ChunkId, TenantId};
use meta_chat_shared::secrets::Keyring;
use meta_chat_shared::settings::TenantSettings;
use serde_json::json;
use uuid::Uuid;

/// Knowledge-base searches the model may ask for in one answer.
pub const TOOL_ROUNDS: usize = 2;
/// Said when retrieval fails.
pub const COULD_NOT_CONSULT: &str = "Sorry, I couldn't consult our knowledge base just now, so I can't answer that \
     reliably. Please try again in a little while, or ask for a person from our team.";

/// What is asked.
#[derive(Debug, Clone)]
pub struct Question {
    /// The tenant.
    pub tenant: TenantId,
    /// Its settings.
    pub settings: TenantSettings,
    /// Its sealed LLM API key, if any.
    pub sealed_key: Option<String>,
    /// Earlier turns, oldest first.
    pub history: Vec<Turn>,
    /// The message to answer.
    pub message: String,
    /// The end user's name, if known.
    pub user_name: Option<String>,
}

/// A cited chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    /// The chunk.
    pub chunk_id: Uuid,
    /// Its document.
    pub document_id: Uuid,
    /// The document's name.
    pub filename: String,
    /// Its retrieval score (0–1).
    pub score: f64,
}

/// The assistant's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The reply text.
    pub text: String,
    /// 0–1.
    pub confidence: f64,
    /// The model asked for a person.
    pub handoff_requested: bool,
    /// Retrieval failed: `text` says so.
    pub retrieval_failed: bool,
    /// The chunks the reply cites.
    pub citations: Vec<Citation>,
    /// Model usage and retrieval outcome, for the decision record.
    pub usage: DecisionUsage,
}

impl Answer {
    /// Whether retrieved context went into the reply (it cites at least one chunk).
    pub fn context_used(&self) -> bool {
        !self.citations.is_empty()
    }

    /// `{model, contextUsed, citations, confidence, usage}`: the reply message's payload.
    pub fn payload(&self) -> serde_json::Value {
        json!({
            "assistant": {
                "model": self.usage.model,
                "contextUsed": self.context_used(),
                "retrieval": self.usage.retrieval,
                "citations": self.usage.citations,
                "confidence": self.confidence,
                "promptTokens": self.usage.prompt_tokens,
                "completionTokens": self.usage.completion_tokens,
                "costMicroUsd": self.usage.cost_micro_usd,
                "latencyMs": self.usage.latency_ms,
            }
        })
    }
}

/// The assistant's collaborators.
#[derive(Clone)]
pub struct Assistant {
    providers: Arc<Providers>,
    embedders: Embedders,
    knowledge: Arc<KnowledgeConfig>,
    keyring: Arc<Keyring>,
    fixed: Option<Arc<dyn Provider>>,
}

impl std::fmt::Debug for Assistant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assistant").field("embedders", &self.embedders).finish_non_exhaustive()
    }
}

/// A prepared call: the provider, the request with its sources, and the retrieval outcome. The chat API's
/// streaming answer uses it directly.
pub struct Prepared {
    /// The tenant's provider.
    pub provider: Arc<dyn Provider>,
    /// The request, sources included.
    pub request: CompletionRequest,
    /// The retrieved chunks, in source order ([1] is the first).
    pub hits: Vec<Hit>,
    /// `off`, `hits`, `empty` or `failed`.
    pub retrieval: &'static str,
    /// Tokens and cost spent before the answer (the rewrite).
    pub spent: (u32, u32, u64),
}

impl Assistant {
    /// An assistant choosing each tenant's provider from `providers`.
    pub fn new(
        providers: Arc<Providers>,
        embedders: Embedders,
        knowledge: Arc<KnowledgeConfig>,
        keyring: Arc<Keyring>,
    ) -> Self {
        Self { providers, embedders, knowledge, keyring, fixed: None }
    }

    /// The same, answering every tenant with `provider` (tests inject slow or failing ones).
    #[must_use]
    pub fn with_provider(mut self, provider: Arc<dyn Provider>) -> Self {
        self.fixed = Some(provider);
        self
    }

    /// The tenant's provider; the local one when its settings cannot be used.
    pub fn provider_for(&self, question: &Question) -> Arc<dyn Provider> {
        if let Some(fixed) = &self.fixed {
            return Arc::clone(fixed);
        }
        let sealed = question.sealed_key.as_deref();
        match self.providers.for_tenant_sealed(question.tenant, &question.settings.llm, sealed, &self.keyring) {
            Ok(provider) => provider,
            Err(err) => {
                tracing::warn!(tenant.id = %question.tenant, error.kind = err.kind(), "tenant provider unusable; using the local one");
                Arc::new(LocalProvider)
            }
        }
    }

    /// Chooses the provider, retrieves and builds the request.
    pub async fn prepare(&self, pool: &DbPool, question: &Question) -> Prepared {
        let provider = self.provider_for(question);
        let rag = &question.settings.rag;
        let mut spent = (0, 0, 0);
        let (hits, retrieval) = if rag.enabled {
            let query = self.standalone_query(provider.as_ref(), question, &mut spent).await;
            match self.search(pool, question, &query).await {
                Ok(hits) if hits.is_empty() => (hits, "empty"),
                Ok(hits) => (hits, "hits"),
                Err(()) => (Vec::new(), "failed"),
            }
        } else {
            (Vec::new(), "off")
        };
        let mut tools = Vec::new();
        if question.settings.handoff.enabled {
            tools.push(ToolSpec::handoff());
        }
        if rag.enabled && retrieval != "failed" {
            tools.push(ToolSpec::search_knowledge_base());
        }
        let request = CompletionRequest {
            system: question.settings.assistant.prompt.clone(),
            history: question.history.clone(),
            message: question.message.clone(),
            context: hits.iter().map(passage).collect(),
            tools,
            user_name: question.user_name.clone(),
            ..CompletionRequest::default()
        };
        Prepared { provider, request, hits, retrieval, spent }
    }

    /// Answers `question`.
    pub async fn answer(&self, pool: &DbPool, question: &Question) -> Result<Answer, LlmError> {
        let mut prepared = self.prepare(pool, question).await;
        if prepared.retrieval == "failed" {
            return Ok(could_not_consult(&prepared));
        }
        let mut completion = prepared.provider.complete(&prepared.request).await?;
        for _ in 0..TOOL_ROUNDS {
            let Some(call) = completion.tool_calls.iter().find(|c| c.name == meta_chat_llm::SEARCH_TOOL).cloned()
            else {
                break;
            };
            let query = call.arguments.get("query").and_then(|q| q.as_str()).unwrap_or(&question.message).to_owned();
            let result = match self.search(pool, question, &query).await {
                Ok(found) => {
                    let first = prepared.request.context.len();
                    prepared.request.context.extend(found.iter().map(passage));
                    prepared.hits.extend(found);
                    describe_results(first, &prepared.request.context[first..])
                }
                Err(()) => "The knowledge base could not be searched.".to_owned(),
            };
            add_spent(&mut prepared.spent, &completion);
            prepared.request.tool_exchanges.push(ToolExchange { call, result });
            completion = prepared.provider.complete(&prepared.request).await?;
        }
        Ok(finish(&prepared, &completion))
    }

    async fn search(&self, pool: &DbPool, question: &Question, query: &str) -> Result<Vec<Hit>, ()> {
        let mut conn = pool.get().await.map_err(|err| {
            metrics::counter!("rag_retrieval_failures_total", "kind" => "pool").increment(1);
            tracing::error!(tenant.id = %question.tenant, error = %err, "retrieval failed: no database connection");
        })?;
        let conn: &mut AsyncPgConnection = &mut conn;
        let query = Query { text: query, settings: &question.settings.rag, top_k: None };
        retrieval::search(conn, question.tenant, &self.embedders, &self.knowledge, query).await.map_err(drop)
    }

    /// The query to search for: the message itself, or a follow-up made standalone.
    async fn standalone_query(
        &self,
        provider: &dyn Provider,
        question: &Question,
        spent: &mut (u32, u32, u64),
    ) -> String {
        let limit = usize::try_from(self.knowledge.rewrite_history).unwrap_or(4);
        let mut earlier: Vec<String> = question
            .history
            .iter()
            .rev()
            .filter(|turn| turn.role == Role::User)
            .take(limit)
            .map(|turn| turn.content.clone())
            .collect();
        earlier.reverse();
        if earlier.is_empty() || provider.name() == "local" {
            return rewrite::standalone_query(&question.message, &earlier);
        }
        let request = CompletionRequest {
            system: "Rewrite the user's last message as one standalone search query for a knowledge base, using \
                     the earlier messages only to resolve what it refers to. Answer with the query only."
                .to_owned(),
            history: question.history.iter().rev().take(limit * 2).rev().cloned().collect(),
            message: question.message.clone(),
            max_tokens: Some(64),
            ..CompletionRequest::default()
        };
        match provider.complete(&request).await {
            Ok(done) if !done.text.trim().is_empty() && done.text.len() <= 500 => {
                add_spent(spent, &done);
                done.text.trim().to_owned()
            }
            Ok(_) | Err(_) => rewrite::standalone_query(&question.message, &earlier),
        }
    }
}

/// Earlier messages as the model's turns: the end user's as `user`, everything sent as `assistant`.
pub fn turns(history: Vec<meta_chat_database::messages::Message>) -> Vec<Turn> {
    history
        .into_iter()
        .filter_map(|m| {
            let role = if m.direction == "inbound" { Role::User } else { Role::Assistant };
            m.text.map(|content| Turn { role, content })
        })
        .collect()
}

fn passage(hit: &Hit) -> Passage {
    Passage {
        id: ChunkId::from_uuid(hit.candidate.chunk_id),
        source: hit.candidate.filename.clone(),
        text: hit.candidate.content.clone(),
    }
}

fn describe_results(first: usize, passages: &[Passage]) -> String {
    if passages.is_empty() {
        return "Nothing relevant was found.".to_owned();
    }
    passages
        .iter()
        .enumerate()
        .map(|(i, p)| format!("[{}] ({}) {}", first + i + 1, p.source, p.text))
        .collect::<Vec<_>>()
        .join("\n")
}

fn add_spent(spent: &mut (u32, u32, u64), completion: &Completion) {
    spent.0 = spent.0.saturating_add(completion.usage.prompt_tokens);
    spent.1 = spent.1.saturating_add(completion.usage.completion_tokens);
    spent.2 = spent.2.saturating_add(completion.cost_micro_usd);
}

/// The answer when retrieval failed: it says the knowledge base could not be consulted.
pub fn could_not_consult(prepared: &Prepared) -> Answer {
    Answer {
        text: COULD_NOT_CONSULT.to_owned(),
        confidence: 0.0,
        handoff_requested: false,
        retrieval_failed: true,
        citations: Vec::new(),
        usage: DecisionUsage {
            model: Some(prepared.provider.model().to_owned()),
            retrieval: Some("failed"),
            citations: json!([]),
            ..DecisionUsage::default()
        },
    }
}

/// The answer from the final completion: citations resolved against the hits, usage summed.
pub fn finish(prepared: &Prepared, completion: &Completion) -> Answer {
    let citations: Vec<Citation> = completion
        .citations
        .iter()
        .filter_map(|id| prepared.hits.iter().find(|hit| hit.candidate.chunk_id == id.as_uuid()))
        .map(|hit| Citation {
            chunk_id: hit.candidate.chunk_id,
            document_id: hit.candidate.document_id,
            filename: hit.candidate.filename.clone(),
            score: hit.score,
        })
        .collect();
    let mut spent = prepared.spent;
    add_spent(&mut spent, completion);
    let cited = citations
        .iter()
        .map(
            |c| json!({ "chunkId": c.chunk_id, "documentId": c.document_id, "filename": c.filename, "score": c.score }),
        )
        .collect::<Vec<_>>();
    #[expect(clippy::cast_possible_truncation, reason = "a confidence is 0-1")]
    let confidence = completion.confidence.clamp(0.0, 1.0) as f32;
    Answer {
        text: completion.text.clone(),
        confidence: completion.confidence.clamp(0.0, 1.0),
        handoff_requested: completion.handoff_requested,
        retrieval_failed: false,
        citations,
        usage: DecisionUsage {
            model: Some(completion.model.clone()).filter(|m| !m.is_empty()),
            retrieval: Some(prepared.retrieval),
            prompt_tokens: i32::try_from(spent.0).unwrap_or(i32::MAX),
            completion_tokens: i32::try_from(spent.1).unwrap_or(i32::MAX),
            cost_micro_usd: i64::try_from(spent.2).unwrap_or(i64::MAX),
            latency_ms: Some(i32::try_from(completion.latency_ms).unwrap_or(i32::MAX)),
            confidence: Some(confidence),
            citations: serde_json::Value::Array(cited),
        },
    }
}
