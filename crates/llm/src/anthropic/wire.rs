//! The Anthropic Messages API's JSON: the request we send, the answer and the streamed events we read.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::assemble::Accumulator;
use crate::prompt::{Meta, system_prompt};
use crate::{Completion, CompletionRequest, FinishReason, LlmError, Role, ToolCall, Usage};

/// The answer length when the request names none (the API requires one).
const DEFAULT_MAX_TOKENS: u32 = 1_024;

#[derive(Debug, Serialize)]
pub(crate) struct Request {
    model: String,
    max_tokens: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    system: String,
    messages: Vec<Message>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Debug, Serialize)]
struct Message {
    role: &'static str,
    content: Value,
}

#[derive(Debug, Serialize)]
struct Tool {
    name: String,
    description: String,
    input_schema: Value,
}

pub(crate) fn request(model: &str, request: &CompletionRequest, stream: bool) -> Request {
    let mut messages: Vec<Message> = request
        .history
        .iter()
        // the conversation must open with the user: a leading greeting of ours is dropped
        .skip_while(|turn| turn.role == Role::Assistant)
        .map(|turn| Message {
            role: if turn.role == Role::User { "user" } else { "assistant" },
            content: Value::String(turn.content.clone()),
        })
        .collect();
    messages.push(Message { role: "user", content: Value::String(request.message.clone()) });
    for exchange in &request.tool_exchanges {
        let call = &exchange.call;
        let input = if call.arguments.is_object() { call.arguments.clone() } else { json!({}) };
        messages.push(Message {
            role: "assistant",
            content: json!([{ "type": "tool_use", "id": call.id, "name": call.name, "input": input }]),
        });
        messages.push(Message {
            role: "user",
            content: json!([{ "type": "tool_result", "tool_use_id": call.id, "content": exchange.result }]),
        });
    }
    let tools = request
        .tools
        .iter()
        .map(|t| Tool { name: t.name.clone(), description: t.description.clone(), input_schema: t.parameters.clone() })
        .collect();
    Request {
        model: model.to_owned(),
        max_tokens: request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        system: system_prompt(request),
        messages,
        tools,
        temperature: request.temperature,
        stream,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Response {
    #[serde(default)]
    model: String,
    content: Vec<Block>,
    stop_reason: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u32>,
    #[serde(default)]
    output_tokens: Option<u32>,
}

fn stop_reason(reason: &str) -> FinishReason {
    match reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

pub(crate) fn completion(meta: &Meta, response: Response) -> Completion {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in response.content {
        match block {
            Block::Text { text: part } => text.push_str(&part),
            Block::ToolUse { id, name, input } => tool_calls.push(ToolCall { id, name, arguments: input }),
            Block::Other => {}
        }
    }
    let usage = response.usage.map(|u| Usage {
        prompt_tokens: u.input_tokens.unwrap_or_default(),
        completion_tokens: u.output_tokens.unwrap_or_default(),
    });
    let reason = response.stop_reason.as_deref().map_or(FinishReason::Stop, stop_reason);
    meta.finish(text, tool_calls, usage, reason, Some(&response.model))
}

/// A streamed event, as far as we read it.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StreamEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: StartBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: ContentDelta,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        usage: Option<WireUsage>,
    },
    Error {
        error: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StartMessage {
    #[serde(default)]
    model: String,
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StartBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageDeltaBody {
    stop_reason: Option<String>,
}

/// Feeds one streamed event to the accumulator.
pub(crate) fn event(acc: &mut Accumulator, event: StreamEvent) -> Result<(), LlmError> {
    match event {
        StreamEvent::MessageStart { message } => {
            acc.model = Some(message.model).filter(|m| !m.is_empty());
            let input = message.usage.and_then(|u| u.input_tokens).unwrap_or_default();
            acc.usage = Some(Usage { prompt_tokens: input, completion_tokens: 0 });
        }
        StreamEvent::ContentBlockStart { index, content_block } => match content_block {
            StartBlock::Text { text } => acc.text(&text),
            StartBlock::ToolUse { id, name } => acc.tool_start(index, Some(&id), Some(&name)),
            StartBlock::Other => {}
        },
        StreamEvent::ContentBlockDelta { index, delta } => match delta {
            ContentDelta::TextDelta { text } => acc.text(&text),
            ContentDelta::InputJsonDelta { partial_json } => acc.tool_arguments(index, &partial_json),
            ContentDelta::Other => {}
        },
        StreamEvent::MessageDelta { delta, usage } => {
            if let Some(reason) = delta.stop_reason.as_deref() {
                acc.finish_reason = Some(stop_reason(reason));
            }
            if let Some(output) = usage.and_then(|u| u.output_tokens) {
                let mut total = acc.usage.unwrap_or_default();
                total.completion_tokens = output;
                acc.usage = Some(total);
            }
        }
        StreamEvent::Error { error } => {
            // the error's message is the provider's text: only its type is looked at
            let overloaded = error.get("type").and_then(Value::as_str) == Some("overloaded_error");
            return Err(if overloaded {
                LlmError::Unavailable { status: Some(529) }
            } else {
                LlmError::Unavailable { status: None }
            });
        }
        StreamEvent::Other => {}
    }
    Ok(())
}

/// Parses a raw SSE data payload.
pub(crate) fn parse_event(data: &str) -> Result<StreamEvent, LlmError> {
    serde_json::from_str(data).map_err(|_| LlmError::InvalidResponse("malformed stream event"))
}
