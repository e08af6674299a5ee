//! Our request and answer types to and from `async-openai`'s chat types.

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestAssistantMessageContent, ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage, ChatCompletionRequestUserMessageContent,
    ChatCompletionStreamOptions, ChatCompletionTool, ChatCompletionTools, CompletionUsage, CreateChatCompletionRequest,
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse, FinishReason as Wire, FunctionCall,
    FunctionObject,
};

use crate::assemble::Accumulator;
use crate::prompt::{Meta, parse_arguments, system_prompt};
use crate::{Completion, CompletionRequest, FinishReason, LlmError, Role, ToolCall, Usage};

fn system(text: String) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
        content: ChatCompletionRequestSystemMessageContent::Text(text),
        name: None,
    })
}

fn user(text: &str) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
        content: ChatCompletionRequestUserMessageContent::Text(text.to_owned()),
        name: None,
    })
}

fn assistant(text: Option<&str>, calls: Option<Vec<ChatCompletionMessageToolCalls>>) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
        content: text.map(|t| ChatCompletionRequestAssistantMessageContent::Text(t.to_owned())),
        tool_calls: calls,
        ..ChatCompletionRequestAssistantMessage::default()
    })
}

/// The chat request for `request`. `legacy_max_tokens`: send `max_tokens` (what most OpenAI-compatible
/// servers read) instead of OpenAI's `max_completion_tokens`.
pub(crate) fn request(
    model: &str,
    request: &CompletionRequest,
    stream: bool,
    legacy_max_tokens: bool,
) -> CreateChatCompletionRequest {
    let mut messages = vec![system(system_prompt(request))];
    for turn in &request.history {
        messages.push(match turn.role {
            Role::User => user(&turn.content),
            Role::Assistant => assistant(Some(&turn.content), None),
        });
    }
    messages.push(user(&request.message));
    for exchange in &request.tool_exchanges {
        let call = ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
            id: exchange.call.id.clone(),
            function: FunctionCall { name: exchange.call.name.clone(), arguments: exchange.call.arguments.to_string() },
        });
        messages.push(assistant(None, Some(vec![call])));
        messages.push(ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
            content: ChatCompletionRequestToolMessageContent::Text(exchange.result.clone()),
            tool_call_id: exchange.call.id.clone(),
        }));
    }
    let tools = request
        .tools
        .iter()
        .map(|tool| {
            ChatCompletionTools::Function(ChatCompletionTool {
                function: FunctionObject {
                    name: tool.name.clone(),
                    description: Some(tool.description.clone()),
                    parameters: Some(tool.parameters.clone()),
                    strict: None,
                },
            })
        })
        .collect::<Vec<_>>();
    let mut wire = CreateChatCompletionRequest {
        model: model.to_owned(),
        messages,
        temperature: request.temperature,
        tools: (!tools.is_empty()).then_some(tools),
        stream: stream.then_some(true),
        stream_options: stream
            .then_some(ChatCompletionStreamOptions { include_usage: Some(true), include_obfuscation: None }),
        ..CreateChatCompletionRequest::default()
    };
    if legacy_max_tokens {
        #[expect(deprecated, reason = "OpenAI-compatible servers (Ollama, vLLM) read max_tokens")]
        {
            wire.max_tokens = request.max_tokens;
        }
    } else {
        wire.max_completion_tokens = request.max_tokens;
    }
    wire
}

fn finish_reason(reason: Option<Wire>) -> Option<FinishReason> {
    reason.map(|reason| match reason {
        Wire::Stop => FinishReason::Stop,
        Wire::Length => FinishReason::Length,
        Wire::ToolCalls | Wire::FunctionCall => FinishReason::ToolCalls,
        Wire::ContentFilter => FinishReason::ContentFilter,
    })
}

fn usage(usage: Option<&CompletionUsage>) -> Option<Usage> {
    usage.map(|u| Usage { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens })
}

/// The [`Completion`] for a non-streamed answer.
pub(crate) fn completion(meta: &Meta, response: CreateChatCompletionResponse) -> Result<Completion, LlmError> {
    let usage = usage(response.usage.as_ref());
    let choice = response.choices.into_iter().next().ok_or(LlmError::InvalidResponse("no choices"))?;
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .filter_map(|call| match call {
            ChatCompletionMessageToolCalls::Function(call) => Some(ToolCall {
                id: call.id,
                name: call.function.name,
                arguments: parse_arguments(&call.function.arguments),
            }),
            ChatCompletionMessageToolCalls::Custom(_) => None,
        })
        .collect::<Vec<_>>();
    let reason = finish_reason(choice.finish_reason).unwrap_or(if tool_calls.is_empty() {
        FinishReason::Stop
    } else {
        FinishReason::ToolCalls
    });
    let text = choice.message.content.unwrap_or_default();
    Ok(meta.finish(text, tool_calls, usage, reason, Some(&response.model)))
}

/// Feeds one streamed chunk to the accumulator.
#[expect(clippy::unnecessary_wraps, reason = "the decoder signature `assemble` takes")]
pub(crate) fn chunk(acc: &mut Accumulator, chunk: CreateChatCompletionStreamResponse) -> Result<(), LlmError> {
    if acc.model.is_none() && !chunk.model.is_empty() {
        acc.model = Some(chunk.model.clone());
    }
    if let Some(reported) = usage(chunk.usage.as_ref()) {
        acc.usage = Some(reported);
    }
    for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
        if let Some(text) = choice.delta.content.as_deref() {
            acc.text(text);
        }
        for call in choice.delta.tool_calls.unwrap_or_default() {
            let function = call.function.unwrap_or_default();
            acc.tool_start(call.index, call.id.as_deref(), function.name.as_deref());
            if let Some(fragment) = function.arguments.as_deref() {
                acc.tool_arguments(call.index, fragment);
            }
        }
        if let Some(reason) = finish_reason(choice.finish_reason) {
            acc.finish_reason = Some(reason);
        }
    }
    Ok(())
}
