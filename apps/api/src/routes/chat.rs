//! `POST /chat` (users, or API keys with the `chat` scope): the message goes through the same assistant,
//! hand-off rules and AI-reply quota as channel messages (`meta_chat_orchestrator::chat`). Without
//! `conversationId` a new conversation starts; with it, the conversation continues (404 for an id that is not
//! one of the tenant's chat conversations). `stream: true` answers as server-sent events: `token` events with
//! text as it is generated, then one `done` event with the same body as the JSON answer (or one `error` event).

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt as _;
use garde::Validate;
use meta_chat_llm::StreamEvent;
use meta_chat_orchestrator::assistant::{self, Answer};
use meta_chat_orchestrator::chat::{ChatError, ChatService, Opened, Settled, Verdict};
use meta_chat_shared::api_keys::ApiScope;
use meta_chat_shared::ids::ConversationId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// Registers the route (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/chat").route(web::post().to(chat)));
}

/// `POST /chat`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChatRequest {
    /// 1–4,000 characters.
    #[garde(length(chars, min = 1, max = 4000), custom(crate::routes::conversations::not_blank))]
    pub message: String,
    /// Continue this conversation; a new one starts without it.
    #[garde(skip)]
    pub conversation_id: Option<Uuid>,
    /// Answer as `text/event-stream`.
    #[garde(skip)]
    pub stream: Option<bool>,
}

/// A cited chunk.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatCitation {
    /// The document.
    pub document_id: Uuid,
    /// Its name.
    pub filename: String,
    /// The chunk.
    pub chunk_id: Uuid,
    /// Retrieval score, 0–1.
    pub score: f64,
}

/// Tokens and cost of the answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatUsage {
    /// Prompt tokens.
    pub prompt_tokens: i32,
    /// Completion tokens.
    pub completion_tokens: i32,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

/// The answer (also the `done` event of a stream).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatResponse {
    /// The conversation (pass it back to continue).
    pub conversation_id: Uuid,
    /// The stored reply or hand-off notice; `null` while a human owns the conversation.
    pub message_id: Option<Uuid>,
    /// The reply text (the hand-off notice when escalated).
    pub reply: Option<String>,
    /// Whether retrieved documents went into the reply (it cites them).
    pub context_used: bool,
    /// The chunks the reply cites.
    pub citations: Vec<ChatCitation>,
    /// 0–1.
    pub confidence: f64,
    /// The conversation went (or is) to a human.
    pub escalated: bool,
    /// Tokens and cost.
    pub usage: ChatUsage,
}

impl From<Settled> for ChatResponse {
    fn from(settled: Settled) -> Self {
        let answer = settled.answer.as_ref();
        #[expect(clippy::cast_precision_loss, reason = "micro-dollars of one answer")]
        let cost_usd = answer.map_or(0.0, |a| a.usage.cost_micro_usd as f64 / 1_000_000.0);
        Self {
            conversation_id: settled.conversation.as_uuid(),
            message_id: settled.message_id,
            reply: settled.reply,
            context_used: !settled.escalated && answer.is_some_and(Answer::context_used),
            citations: answer
                .map(|a| {
                    a.citations
                        .iter()
                        .map(|c| ChatCitation {
                            document_id: c.document_id,
                            filename: c.filename.clone(),
                            chunk_id: c.chunk_id,
                            score: c.score,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            confidence: answer.map_or(0.0, |a| a.confidence),
            escalated: settled.escalated,
            usage: ChatUsage {
                prompt_tokens: answer.map_or(0, |a| a.usage.prompt_tokens),
                completion_tokens: answer.map_or(0, |a| a.usage.completion_tokens),
                cost_usd,
            },
        }
    }
}

fn chat_error(err: ChatError) -> ApiError {
    match err {
        ChatError::ConversationNotFound => ApiError::NotFound,
        ChatError::Database(err) => ApiError::Internal(err.into()),
    }
}

fn model_error(err: &meta_chat_llm::LlmError) -> ApiError {
    ApiError::ExternalService { service: "model provider", cause: err.kind().to_owned() }
}

/// Ask the assistant.
#[utoipa::path(
    post,
    path = "/chat",
    tag = "chat",
    request_body = ChatRequest,
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "The answer; `text/event-stream` (`token` events, then `done`) when `stream` is true", body = ChatResponse),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 403, description = "An API key without the `chat` scope", body = ErrorEnvelope),
        (status = 404, description = "`conversationId` is not one of the tenant's chat conversations", body = ErrorEnvelope),
        (status = 502, description = "`EXTERNAL_SERVICE_ERROR`: the model provider failed", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn chat(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<ChatRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::Chat)?;
    let body = body.into_inner();
    body.validate()?;
    let who = match &caller {
        Caller::User(ctx) => format!("user:{}", ctx.user_id),
        Caller::ApiKey(key) => format!("key:{}", key.key_id),
    };
    let service = state.chat.clone();
    let conversation = body.conversation_id.map(ConversationId::from_uuid);
    let opened = service.open(caller.tenant_id(), &who, conversation, body.message.trim()).await.map_err(chat_error)?;
    let early = if opened.human_owned {
        Some(Verdict::Silent)
    } else if opened.asks_for_person {
        Some(Verdict::Handoff("the contact asked for a person".into(), None))
    } else {
        None
    };
    if body.stream != Some(true) || early.is_some() {
        let verdict = if let Some(verdict) = early {
            verdict
        } else {
            let answer =
                service.assistant().answer(service.pool(), &opened.question).await.map_err(|err| model_error(&err))?;
            ChatService::judge(&opened, answer)
        };
        let settled = service.settle(&opened, verdict).await.map_err(chat_error)?;
        let response = ChatResponse::from(settled);
        if body.stream == Some(true) {
            return Ok(sse_response(one_event("done", &json!(response))));
        }
        return Ok(HttpResponse::Ok().json(response));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(stream_answer(service, opened, tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok::<_, actix_web::Error>(bytes), rx))
    });
    Ok(sse_response(body))
}

fn sse_response<S>(body: S) -> HttpResponse
where
    S: futures_util::Stream<Item = Result<Bytes, actix_web::Error>> + 'static,
{
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body)
}

fn event(name: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

fn one_event(
    name: &str,
    data: &serde_json::Value,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> + 'static {
    futures_util::stream::once(std::future::ready(Ok(event(name, data))))
}

/// Streams the answer's text as `token` events, then settles and sends `done` (or `error`).
async fn stream_answer(service: ChatService, opened: Opened, tx: mpsc::Sender<Bytes>) {
    let prepared = service.assistant().prepare(service.pool(), &opened.question).await;
    let answer = if prepared.retrieval == "failed" {
        let answer = assistant::could_not_consult(&prepared);
        let _ = tx.send(event("token", &json!({ "text": answer.text }))).await;
        Some(answer)
    } else {
        let mut stream = prepared.provider.stream(&prepared.request);
        let mut done = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(StreamEvent::TextDelta(text)) => {
                    let _ = tx.send(event("token", &json!({ "text": text }))).await;
                }
                Ok(StreamEvent::ToolCall(_)) => {}
                Ok(StreamEvent::Done(completion)) => done = Some(assistant::finish(&prepared, &completion)),
                Err(err) => {
                    tracing::warn!(error.kind = err.kind(), "chat stream failed");
                    let envelope = json!({ "code": "EXTERNAL_SERVICE_ERROR", "message": "The model provider failed." });
                    let _ = tx.send(event("error", &envelope)).await;
                    return;
                }
            }
        }
        done
    };
    let Some(answer) = answer else {
        let _ = tx
            .send(event("error", &json!({ "code": "EXTERNAL_SERVICE_ERROR", "message": "The answer ended early." })))
            .await;
        return;
    };
    match service.settle(&opened, ChatService::judge(&opened, answer)).await {
        Ok(settled) => {
            let _ = tx.send(event("done", &json!(ChatResponse::from(settled)))).await;
        }
        Err(err) => {
            tracing::error!(error = %err, "chat answer could not be stored");
            let _ =
                tx.send(event("error", &json!({ "code": "INTERNAL_ERROR", "message": "Something went wrong." }))).await;
        }
    }
}
