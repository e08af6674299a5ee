//! `POST /chat`: the same assistant, hand-off rules and AI-reply quota as the channels, answered inline.
//! [`ChatService::open`] finds or starts the caller's conversation on the tenant's API channel and gathers
//! what the assistant needs; the answer is computed (whole, or streamed by the API); [`ChatService::settle`]
//! then writes the question, the answer or hand-off notice and the decision in one transaction.

use std::sync::Arc;

use meta_chat_billing::quota;
use meta_chat_database::conversations::{self, ConversationChange};
use meta_chat_database::pipeline::{self, DecisionUsage, Outcome};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::usage::Metric;
use meta_chat_database::{AsyncPgConnection, DbError, DbPool, chat, tenants};
use meta_chat_events::{Envelope, EventType, Relay};
use meta_chat_shared::ConversationStatus;
use meta_chat_shared::config::BillingConfig;
use meta_chat_shared::ids::{ConversationId, TenantId};
use serde_json::json;
use uuid::Uuid;

use crate::assistant::{Answer, Assistant, Question};
use crate::reply::asks_for_person;

/// Earlier messages the assistant sees.
const HISTORY: i64 = 12;

/// Why a chat turn failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The conversation id is not one of the tenant's chat API conversations.
    #[error("conversation not found")]
    ConversationNotFound,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

/// An open turn: the conversation and the question for the assistant.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The conversation.
    pub conversation: ConversationId,
    /// A human owns it: the assistant stays silent.
    pub human_owned: bool,
    /// The end user asked for a person (a hand-off keyword).
    pub asks_for_person: bool,
    /// What the assistant is asked.
    pub question: Question,
}

/// What was decided and stored.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The conversation.
    pub conversation: ConversationId,
    /// The stored answer or hand-off notice; `None` when a human owns the conversation.
    pub message_id: Option<Uuid>,
    /// Its text.
    pub reply: Option<String>,
    /// The conversation went (or is) to a human.
    pub escalated: bool,
    /// The assistant's answer, when it was asked.
    pub answer: Option<Answer>,
}

/// The chat turn's decision, from the answer (or its absence).
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Reply with the answer.
    Reply(Answer),
    /// Hand off, with the reason, and the answer if one was computed.
    Handoff(String, Option<Answer>),
    /// A human owns the conversation.
    Silent,
}

/// The chat service (shared by every request).
#[derive(Clone)]
pub struct ChatService {
    pool: DbPool,
    relay: Relay,
    assistant: Assistant,
    billing: Arc<BillingConfig>,
}

impl ChatService {
    /// A service writing through `pool` and `relay`, answering with `assistant`.
    pub fn new(pool: DbPool, relay: Relay, assistant: Assistant, billing: Arc<BillingConfig>) -> Self {
        Self { pool, relay, assistant, billing }
    }

    /// The assistant.
    pub fn assistant(&self) -> &Assistant {
        &self.assistant
    }

    /// The pool retrieval reads through.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Finds (or, without an id, starts) the conversation of `caller` (`user:<id>` / `key:<id>`).
    pub async fn open(
        &self,
        tenant: TenantId,
        caller: &str,
        conversation: Option<ConversationId>,
        message: &str,
    ) -> Result<Opened, ChatError> {
        let mut conn = self.pool.get().await.map_err(DbError::from)?;
        let (caller, message) = (caller.to_owned(), message.to_owned());
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let channel = chat::api_channel(conn, tenant).await?;
                let current = if let Some(id) = conversation {
                    let Some(found) = chat::find_conversation(conn, tenant, channel, id).await? else {
                        return Ok(Err(ChatError::ConversationNotFound));
                    };
                    found
                } else {
                    // one contact per conversation: a client's conversations are its end users' sessions, and a
                    // contact has at most one open conversation
                    let who = format!("{caller}:{}", Uuid::now_v7());
                    let contact = chat::caller_contact(conn, tenant, channel, &who).await?;
                    chat::start_conversation(conn, tenant, channel, contact).await?
                };
                let id = ConversationId::from_uuid(current.id);
                let details =
                    tenants::find_details(conn, tenant).await?.ok_or(DbError::InvalidInput("no tenant".into()))?;
                let history = pipeline::history(conn, tenant, id, chrono::Utc::now(), HISTORY).await?;
                let settings = details.settings();
                let human_owned = current.status()? == ConversationStatus::AssignedHuman;
                let asks =
                    settings.handoff.enabled && asks_for_person(Some(&message), None, &settings.handoff.keywords);
                let question = Question {
                    tenant,
                    settings,
                    sealed_key: details.llm_api_key_enc.clone(),
                    history: crate::assistant::turns(history),
                    message,
                    user_name: None,
                };
                Ok::<_, DbError>(Ok(Opened { conversation: id, human_owned, asks_for_person: asks, question }))
            })
        })
        .await?
    }

    /// The verdict on `answer` under the tenant's hand-off settings.
    pub fn judge(opened: &Opened, answer: Answer) -> Verdict {
        let handoff = &opened.question.settings.handoff;
        if answer.retrieval_failed {
            Verdict::Reply(answer)
        } else if handoff.enabled && answer.handoff_requested {
            Verdict::Handoff("the assistant handed the conversation over".into(), Some(answer))
        } else if handoff.enabled && answer.confidence < handoff.confidence_threshold {
            let reason = format!(
                "the assistant's confidence {:.2} is below the threshold {:.2}",
                answer.confidence, handoff.confidence_threshold
            );
            Verdict::Handoff(reason, Some(answer))
        } else {
            Verdict::Reply(answer)
        }
    }

    /// Stores the question, the reply or hand-off notice, and the decision; publishes the events.
    pub async fn settle(&self, opened: &Opened, verdict: Verdict) -> Result<Settled, ChatError> {
        let mut conn = self.pool.get().await.map_err(DbError::from)?;
        let (tenant, conversation) = (opened.question.tenant, opened.conversation);
        let text = opened.question.message.clone();
        let notice = opened.question.settings.handoff.message.clone();
        let billing = Arc::clone(&self.billing);
        let (settled, events) = in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let Some(current) = conversations::lock(conn, tenant, conversation).await? else {
                    return Ok(Err(ChatError::ConversationNotFound));
                };
                let question = chat::insert_question(conn, tenant, &current, &text).await?;
                let mut verdict =
                    if current.status()? == ConversationStatus::AssignedHuman { Verdict::Silent } else { verdict };
                let mut events = Vec::new();
                if let Verdict::Reply(answer) = &verdict {
                    if let Ok(alerts) = quota::consume(conn, tenant, Metric::AiReplies, &billing).await? {
                        events.extend(alerts);
                    } else {
                        let reason = "the plan's AI replies for this period are used up".to_owned();
                        verdict = Verdict::Handoff(reason, Some(answer.clone()));
                    }
                }
                let settled = write_verdict(conn, tenant, conversation, question, verdict, notice, &mut events).await?;
                Ok::<_, DbError>(Ok((settled, events)))
            })
        })
        .await??;
        self.relay.publish_committed(tenant, events).await;
        Ok(settled)
    }
}

/// Writes the verdict's effects: the answer or hand-off notice, the decision, the hand-off event.
async fn write_verdict(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    question: Uuid,
    verdict: Verdict,
    notice: String,
    events: &mut Vec<Envelope>,
) -> Result<Settled, DbError> {
    let settled = match verdict {
        Verdict::Silent => {
            pipeline::record_decision(
                conn,
                tenant,
                question,
                conversation,
                (Outcome::Silent, None),
                &DecisionUsage::default(),
            )
            .await?;
            Settled { conversation, message_id: None, reply: None, escalated: true, answer: None }
        }
        Verdict::Reply(answer) => {
            let message =
                chat::insert_answer(conn, tenant, conversation, "assistant", &answer.text, &answer.payload()).await?;
            pipeline::record_decision(
                conn,
                tenant,
                question,
                conversation,
                (Outcome::Replied, Some(message.id)),
                &answer.usage,
            )
            .await?;
            Settled {
                conversation,
                message_id: Some(message.id),
                reply: Some(answer.text.clone()),
                escalated: false,
                answer: Some(answer),
            }
        }
        Verdict::Handoff(reason, answer) => {
            let change = ConversationChange {
                status: Some(ConversationStatus::AssignedHuman),
                assignee: None,
                handoff_reason: Some(reason.clone()),
            };
            conversations::change(conn, tenant, conversation, &change)
                .await?
                .map_err(|refused| DbError::InvalidInput(format!("hand-off refused: {refused:?}")))?;
            let message =
                chat::insert_answer(conn, tenant, conversation, "system", &notice, &json!({ "notice": "handoff" }))
                    .await?;
            let usage = answer.as_ref().map(|a| a.usage.clone()).unwrap_or_default();
            pipeline::record_decision(
                conn,
                tenant,
                question,
                conversation,
                (Outcome::Handoff, Some(message.id)),
                &usage,
            )
            .await?;
            let event = Envelope::new(
                EventType::ConversationHandoffRequested,
                tenant,
                Some(conversation.as_uuid()),
                json!({ "conversationId": conversation, "reason": reason, "messageId": question }),
            );
            meta_chat_events::record(conn, tenant, std::slice::from_ref(&event)).await?;
            events.push(event);
            Settled { conversation, message_id: Some(message.id), reply: Some(notice), escalated: true, answer }
        }
    };
    Ok(settled)
}
