//! The pipeline's decision for each inbound message (the `message.received` consumer). Exactly one
//! decision per inbound message, however often its event is delivered: the decision row's primary key is
//! the inbound message id, written in the same transaction as its effects.
//!
//! - A human owns the conversation (or the tenant is suspended): stay silent. Agents already have the
//!   `message.received` event.
//! - The message asks for a person — a configured hand-off keyword, the "talk to a person" button or
//!   postback, the model's hand-off tool call, or a reply below the tenant's confidence threshold: the
//!   conversation becomes `assigned_human`, the contact gets the tenant's hand-off message once, and
//!   `conversation.handoff_requested` tells the agents.
//! - Otherwise the assistant's reply is queued (`message.queued`; the outbound consumer sends it) and counted
//!   against the plan's AI replies; beyond them the conversation is handed off instead (and
//!   `usage.limit_reached` says so): inbound messages are never refused or lost.
//!
//! The assistant ([`crate::assistant`]) answers from the tenant's knowledge base with the tenant's model; the
//! reply's payload and the decision row record the model, tokens, cost, latency, the retrieval outcome and the
//! cited chunks. When retrieval fails the reply says the knowledge base could not be consulted.
//!
//! The model is called outside any transaction; the decision is re-checked under the conversation's row
//! lock before it is written, so an agent who takes over meanwhile is never talked over.

use std::sync::Arc;

use meta_chat_billing::quota;
use meta_chat_database::conversations::{self, ConversationChange};
use meta_chat_database::messages::OutboundSender;
use meta_chat_database::pipeline::{self, DecisionUsage, Outcome};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::usage::Metric;
use meta_chat_database::{DbError, DbPool, contacts, tenants};
use meta_chat_events::{Envelope, EventType, HandleError, Handler, Relay};
use meta_chat_shared::config::BillingConfig;
use meta_chat_shared::ids::{ContactId, ConversationId, TenantId};
use meta_chat_shared::settings::TenantSettings;

use crate::assistant::{Assistant, Question};
use meta_chat_shared::{ConversationStatus, TenantStatus};
use serde_json::json;
use uuid::Uuid;

/// Button ids and postback payloads that ask for a person (case-insensitive).
const PERSON_ACTIONS: &[&str] = &["talk_to_agent", "talk_to_human", "human", "agent", "handoff", "human_agent"];
/// How many earlier messages the model sees.
const HISTORY: i64 = 12;

/// The `message.received` consumer.
pub struct ReplyHandler {
    pool: DbPool,
    relay: Relay,
    assistant: Assistant,
    billing: Arc<BillingConfig>,
}

/// What the read phase found.
struct Situation {
    conversation: ConversationId,
    silent: bool,
    settings: TenantSettings,
    text: Option<String>,
    action: Option<String>,
    question: Question,
}

/// What to write.
enum Decision {
    Silent,
    Reply(String, serde_json::Value),
    Handoff(String),
}

impl ReplyHandler {
    /// A handler reading and writing through `pool` (runtime role), publishing through `relay`, answering
    /// with `assistant`, within the AI-reply quotas of the plan in force (`billing`).
    #[must_use]
    pub fn new(pool: DbPool, relay: Relay, assistant: Assistant, billing: Arc<BillingConfig>) -> Self {
        Self { pool, relay, assistant, billing }
    }

    async fn situation(&self, tenant: TenantId, inbound: Uuid) -> Result<Option<Situation>, DbError> {
        let mut conn = self.pool.get().await?;
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                if pipeline::decided(conn, tenant, inbound).await? {
                    return Ok(None);
                }
                let Some(message) = pipeline::find_message(conn, tenant, inbound).await? else { return Ok(None) };
                let conversation = ConversationId::from_uuid(message.conversation_id);
                let Some(current) = conversations::find(conn, tenant, conversation).await? else { return Ok(None) };
                let Some(details) = tenants::find_details(conn, tenant).await? else { return Ok(None) };
                let contact =
                    contacts::find(conn, tenant, ContactId::from_uuid(current.conversation.contact_id)).await?;
                let history = pipeline::history(conn, tenant, conversation, message.created_at, HISTORY).await?;
                let settings = details.settings();
                let silent = current.conversation.status()? != ConversationStatus::Active
                    || details.tenant.status()? != TenantStatus::Active;
                let question = Question {
                    tenant,
                    settings: settings.clone(),
                    sealed_key: details.llm_api_key_enc.clone(),
                    history: crate::assistant::turns(history),
                    message: message.text.clone().unwrap_or_default(),
                    user_name: contact.and_then(|c| c.display_name),
                };
                let action = message.payload.get("action").and_then(|a| a.as_str()).map(str::to_owned);
                Ok(Some(Situation { conversation, silent, settings, text: message.text, action, question }))
            })
        })
        .await
    }

    async fn decide(&self, situation: &Situation) -> Result<(Decision, DecisionUsage), HandleError> {
        if situation.silent {
            return Ok((Decision::Silent, DecisionUsage::default()));
        }
        let handoff = &situation.settings.handoff;
        if handoff.enabled && asks_for_person(situation.text.as_deref(), situation.action.as_deref(), &handoff.keywords)
        {
            return Ok((Decision::Handoff("the contact asked for a person".into()), DecisionUsage::default()));
        }
        let answer = self
            .assistant
            .answer(&self.pool, &situation.question)
            .await
            .map_err(|err| HandleError::Retry(format!("assistant unavailable: {}", err.kind())))?;
        let usage = answer.usage.clone();
        let decision = if answer.retrieval_failed {
            Decision::Reply(answer.text.clone(), answer.payload())
        } else if handoff.enabled && answer.handoff_requested {
            Decision::Handoff("the assistant handed the conversation over".into())
        } else if handoff.enabled && answer.confidence < handoff.confidence_threshold {
            Decision::Handoff(format!(
                "the assistant's confidence {:.2} is below the threshold {:.2}",
                answer.confidence, handoff.confidence_threshold
            ))
        } else {
            Decision::Reply(answer.text.clone(), answer.payload())
        };
        Ok((decision, usage))
    }

    async fn write(
        &self,
        tenant: TenantId,
        inbound: Uuid,
        conversation: ConversationId,
        (decision, usage): (Decision, DecisionUsage),
        handoff_message: String,
    ) -> Result<Vec<Envelope>, DbError> {
        let mut conn = self.pool.get().await?;
        let billing = Arc::clone(&self.billing);
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let mut events = Vec::new();
                let Some(current) = conversations::lock(conn, tenant, conversation).await? else { return Ok(events) };
                let mut decision =
                    if current.status()? == ConversationStatus::Active { decision } else { Decision::Silent };
                // inbound messages are never refused; their thresholds are announced all the same
                // (quota records its alerts itself; they are published with the rest)
                let mut alerts = quota::observe(conn, tenant, Metric::InboundMessages, &billing).await?;
                if matches!(decision, Decision::Reply(..)) {
                    // beyond the plan's AI replies the message still arrives: a human takes it
                    match quota::consume(conn, tenant, Metric::AiReplies, &billing).await? {
                        Ok(more) => alerts.extend(more),
                        Err(_) => {
                            decision = Decision::Handoff("the plan's AI replies for this period are used up".into());
                        }
                    }
                }
                let (outcome, reply) = match decision {
                    Decision::Silent => (Outcome::Silent, None),
                    Decision::Reply(text, payload) => {
                        let message = pipeline::queue_outbound(
                            conn,
                            tenant,
                            conversation,
                            OutboundSender::Assistant,
                            &text,
                            &payload,
                        )
                        .await?;
                        (Outcome::Replied, Some(message))
                    }
                    Decision::Handoff(reason) => {
                        let change = ConversationChange {
                            status: Some(ConversationStatus::AssignedHuman),
                            assignee: None,
                            handoff_reason: Some(reason.clone()),
                        };
                        conversations::change(conn, tenant, conversation, &change)
                            .await?
                            .map_err(|refused| DbError::InvalidInput(format!("hand-off refused: {refused:?}")))?;
                        events.push(Envelope::new(
                            EventType::ConversationHandoffRequested,
                            tenant,
                            Some(conversation.as_uuid()),
                            json!({ "conversationId": conversation, "reason": reason, "messageId": inbound }),
                        ));
                        let notice = json!({ "notice": "handoff" });
                        let message = pipeline::queue_outbound(
                            conn,
                            tenant,
                            conversation,
                            OutboundSender::System,
                            &handoff_message,
                            &notice,
                        )
                        .await?;
                        (Outcome::Handoff, Some(message))
                    }
                };
                let reply_id = reply.as_ref().map(|message| message.id);
                if !pipeline::record_decision(conn, tenant, inbound, conversation, (outcome, reply_id), &usage).await? {
                    // another delivery of this event decided first: write nothing (roll back)
                    return Err(DbError::Conflict("message_replies_pkey".into()));
                }
                if let Some(message) = reply {
                    events.push(queued_event(tenant, &message));
                }
                meta_chat_events::record(conn, tenant, &events).await?;
                events.extend(alerts);
                Ok(events)
            })
        })
        .await
    }
}

/// The `message.queued` event for an outbound message.
#[must_use]
pub fn queued_event(tenant: TenantId, message: &meta_chat_database::messages::Message) -> Envelope {
    Envelope::new(
        EventType::MessageQueued,
        tenant,
        Some(message.id),
        json!({ "messageId": message.id, "conversationId": message.conversation_id, "sender": message.sender }),
    )
}

/// The event announcing a conversation's new state after an agent or API change: `conversation.closed`,
/// `conversation.handoff_requested` (handed to humans with a reason), otherwise `conversation.updated`.
#[must_use]
pub fn conversation_changed(
    tenant: TenantId,
    conversation: &meta_chat_database::conversations::Conversation,
    handoff: bool,
) -> Envelope {
    let event_type = match conversation.status.as_str() {
        "closed" => EventType::ConversationClosed,
        "assigned_human" if handoff => EventType::ConversationHandoffRequested,
        _ => EventType::ConversationUpdated,
    };
    Envelope::new(
        event_type,
        tenant,
        Some(conversation.id),
        json!({
            "conversationId": conversation.id,
            "status": conversation.status,
            "assigneeId": conversation.assignee_id,
            "reason": conversation.handoff_reason,
        }),
    )
}

/// Whether the text contains a hand-off keyword (whole words, case-insensitive) or the action is a
/// "talk to a person" button or postback.
#[must_use]
pub fn asks_for_person(text: Option<&str>, action: Option<&str>, keywords: &[String]) -> bool {
    if action.is_some_and(|action| PERSON_ACTIONS.contains(&action.to_lowercase().as_str())) {
        return true;
    }
    let Some(text) = text else { return false };
    let text = format!(" {} ", words_of(text));
    keywords.iter().any(|keyword| {
        let keyword = words_of(keyword);
        !keyword.is_empty() && text.contains(&format!(" {keyword} "))
    })
}

fn words_of(text: &str) -> String {
    let cleaned: String = text.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Handler for ReplyHandler {
    async fn handle(&self, event: Envelope, _attempt: usize) -> Result<(), HandleError> {
        if event.event_type != EventType::MessageReceived {
            return Ok(());
        }
        let Some(inbound) = event.aggregate_id else { return Err(HandleError::Park("no message id".into())) };
        let tenant = event.tenant_id;
        let situation = self.situation(tenant, inbound).await.map_err(retry)?;
        let Some(situation) = situation else { return Ok(()) };
        let (decision, usage) = self.decide(&situation).await?;
        let handoff_message = situation.settings.handoff.message.clone();
        match self.write(tenant, inbound, situation.conversation, (decision, usage), handoff_message).await {
            Ok(events) => {
                self.relay.publish_committed(tenant, events).await;
                Ok(())
            }
            Err(DbError::Conflict(_)) => Ok(()),
            Err(err) => Err(retry(err)),
        }
    }
}

#[expect(clippy::needless_pass_by_value, reason = "used as a `map_err` function")]
fn retry(err: DbError) -> HandleError {
    HandleError::Retry(format!("database: {err}"))
}

#[cfg(test)]
mod tests {
    use super::asks_for_person;

    #[test]
    fn keywords_match_whole_words_case_insensitively_and_person_buttons_count() {
        let keywords = vec!["human".to_owned(), "talk to agent".to_owned()];
        assert!(asks_for_person(Some("I want a HUMAN, please"), None, &keywords));
        assert!(asks_for_person(Some("can I talk to  agent?"), None, &keywords));
        assert!(!asks_for_person(Some("humanity is great"), None, &keywords));
        assert!(asks_for_person(None, Some("TALK_TO_AGENT"), &keywords));
        assert!(!asks_for_person(Some("hello"), Some("buy_now"), &keywords));
    }
}
