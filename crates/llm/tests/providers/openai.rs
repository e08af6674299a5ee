//! The OpenAI-compatible provider against a fake `/v1/chat/completions`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use meta_chat_llm::{
    CompletionRequest, FinishReason, LlmError, Provider, Role, StreamEvent, ToolCall, ToolSpec, Turn, Usage,
};
use meta_chat_shared::config::LlmConfig;
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::settings::{LlmProvider, LlmSettings};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{BODY_SECRET, bodies, config, passages, providers, request_count};

fn provider(server: &MockServer, config: &LlmConfig) -> (Arc<dyn Provider>, crate::support::Notices) {
    let (providers, notices) = providers(config);
    let settings = LlmSettings {
        provider: LlmProvider::OpenaiCompatible,
        model: "test-model".into(),
        base_url: Some(format!("{}/v1", server.uri())),
    };
    (providers.for_tenant(TenantId::new(), &settings, Some("sk-test")).unwrap(), notices)
}

fn reply(message: &Value, finish_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "test-model-2025",
        "choices": [{ "index": 0, "message": message, "finish_reason": finish_reason }],
        "usage": { "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120 },
    }))
}

fn text_reply(text: &str) -> ResponseTemplate {
    reply(&json!({ "role": "assistant", "content": text }), "stop")
}

fn request() -> CompletionRequest {
    CompletionRequest {
        system: "You are Acme's assistant.".into(),
        history: vec![Turn { role: Role::Assistant, content: "Hi! How can I help?".into() }],
        message: "How long do I have to return an item?".into(),
        context: passages(),
        tools: vec![ToolSpec::handoff(), ToolSpec::search_knowledge_base()],
        max_tokens: Some(300),
        temperature: Some(0.2),
        ..CompletionRequest::default()
    }
}

async fn mount(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(response).mount(server).await;
}

#[tokio::test]
async fn sends_system_prompt_with_numbered_sources_history_and_tools_and_reads_the_reply() {
    let server = MockServer::start().await;
    mount(&server, text_reply("You have 30 days [1].")).await;
    let (provider, _) = provider(&server, &config());
    let request = request();

    let completion = provider.complete(&request).await.unwrap();

    assert_eq!(completion.text, "You have 30 days [1].");
    assert_eq!(completion.citations, [request.context[0].id]);
    assert_eq!(completion.usage, Usage { prompt_tokens: 100, completion_tokens: 20 });
    assert_eq!(completion.cost_micro_usd, 140, "100 × 1 + 20 × 2 micro-USD");
    assert_eq!(completion.model, "test-model-2025");
    assert_eq!(completion.finish_reason, FinishReason::Stop);
    assert!(completion.confidence >= 0.9 && !completion.handoff_requested);

    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("authorization").unwrap(), "Bearer sk-test");
    let body = &bodies(&server).await[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["max_tokens"], 300);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(
        messages.iter().map(|m| m["role"].as_str().unwrap()).collect::<Vec<_>>(),
        ["system", "assistant", "user"]
    );
    let system = messages[0]["content"].as_str().unwrap();
    assert!(system.starts_with("You are Acme's assistant."), "{system}");
    assert!(system.contains("[1] (faq.md) Returns are accepted within 30 days."), "{system}");
    assert!(system.contains("[2] (terms.pdf) Shipping is free over 50 EUR."), "{system}");
    assert_eq!(messages[2]["content"], "How long do I have to return an item?");
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "handoff_to_human");
    assert_eq!(body["tools"][1]["function"]["parameters"]["required"], json!(["query"]));
}

#[tokio::test]
async fn tool_calls_are_parsed_and_a_handoff_call_requests_a_handoff() {
    let server = MockServer::start().await;
    let message = json!({
        "role": "assistant", "content": null,
        "tool_calls": [{ "id": "call_1", "type": "function",
                         "function": { "name": "handoff_to_human", "arguments": "{\"reason\":\"wants a refund\"}" } }],
    });
    mount(&server, reply(&message, "tool_calls")).await;
    let (provider, _) = provider(&server, &config());

    let completion = provider.complete(&request()).await.unwrap();

    let call = ToolCall {
        id: "call_1".into(),
        name: "handoff_to_human".into(),
        arguments: json!({ "reason": "wants a refund" }),
    };
    assert_eq!(completion.tool_calls, [call]);
    assert!(completion.handoff_requested);
    assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
    assert_eq!(completion.text, "");
}

fn sse(chunks: &[Value]) -> ResponseTemplate {
    let mut body = chunks.iter().map(|chunk| format!("data: {chunk}\n\n")).collect::<Vec<_>>().concat();
    body.push_str("data: [DONE]\n\n");
    ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body)
}

fn chunk(delta: &Value, finish_reason: Option<&str>) -> Value {
    json!({ "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }] })
}

#[tokio::test]
async fn a_streamed_reply_is_assembled_from_text_deltas_and_tool_call_fragments() {
    let server = MockServer::start().await;
    let tool = |value: Value| json!({ "tool_calls": [value] });
    mount(
        &server,
        sse(&[
            chunk(&json!({ "role": "assistant", "content": "Let me " }), None),
            chunk(&json!({ "content": "check [2]." }), None),
            chunk(
                &tool(json!({ "index": 0, "id": "call_9", "type": "function",
                             "function": { "name": "search_knowledge_base", "arguments": "{\"qu" } })),
                None,
            ),
            chunk(&tool(json!({ "index": 0, "function": { "arguments": "ery\": \"refund policy\"}" } })), None),
            chunk(&json!({}), Some("tool_calls")),
            json!({ "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "test-model", "choices": [],
                    "usage": { "prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52 } }),
        ]),
    )
    .await;
    let (provider, _) = provider(&server, &config());
    let request = request();

    let events: Vec<StreamEvent> = provider.stream(&request).map(Result::unwrap).collect().await;

    let call = ToolCall {
        id: "call_9".into(),
        name: "search_knowledge_base".into(),
        arguments: json!({ "query": "refund policy" }),
    };
    assert_eq!(events[0], StreamEvent::TextDelta("Let me ".into()));
    assert_eq!(events[1], StreamEvent::TextDelta("check [2].".into()));
    assert_eq!(events[2], StreamEvent::ToolCall(call.clone()));
    let StreamEvent::Done(completion) = &events[3] else { panic!("expected Done, got {:?}", events[3]) };
    assert_eq!(events.len(), 4);
    assert_eq!(completion.text, "Let me check [2].");
    assert_eq!(completion.tool_calls, [call]);
    assert_eq!(completion.citations, [request.context[1].id]);
    assert_eq!(completion.usage, Usage { prompt_tokens: 40, completion_tokens: 12 });
    assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
    let body = &bodies(&server).await[0];
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_it_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_string(BODY_SECRET))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount(&server, text_reply("ok")).await;
    let (provider, notices) = provider(&server, &config());

    let completion = provider.complete(&request()).await.unwrap();

    assert_eq!(completion.text, "ok");
    assert_eq!(request_count(&server).await, 2);
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].error_kind, "rate_limited");
    assert_eq!(notices[0].retry_after, Some(Duration::from_secs(1)));
    assert_eq!(notices[0].delay, Duration::from_secs(1), "the wait is the provider's Retry-After");
}

#[tokio::test]
async fn a_retry_after_beyond_the_longest_delay_fails_at_once() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(429).insert_header("retry-after", "120")).await;
    let (provider, notices) = provider(&server, &config());

    let error = provider.complete(&request()).await.unwrap_err();

    assert_eq!(error, LlmError::RateLimited { retry_after: Some(Duration::from_secs(120)) });
    assert_eq!(request_count(&server).await, 1);
    assert!(notices.lock().unwrap().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    mount(&server, text_reply("ok")).await;
    let (provider, notices) = provider(&server, &config());

    assert_eq!(provider.complete(&request()).await.unwrap().text, "ok");
    assert_eq!(request_count(&server).await, 3);
    let notices = notices.lock().unwrap();
    assert_eq!(notices.iter().map(|n| n.error_kind).collect::<Vec<_>>(), ["unavailable", "unavailable"]);
    assert!(notices.iter().all(|n| n.retry_after.is_none() && n.delay <= Duration::from_millis(20)));
}

#[tokio::test]
async fn refused_requests_and_bad_keys_are_not_retried_and_errors_carry_no_body() {
    for (status, expected) in [(400, LlmError::InvalidRequest { status: 400 }), (401, LlmError::Auth)] {
        let server = MockServer::start().await;
        let body = json!({ "error": { "message": BODY_SECRET, "type": "invalid_request_error" } });
        mount(&server, ResponseTemplate::new(status).set_body_json(body)).await;
        let (provider, notices) = provider(&server, &config());

        let error = provider.complete(&request()).await.unwrap_err();

        assert_eq!(error, expected);
        assert!(!format!("{error} {error:?}").contains(BODY_SECRET));
        assert_eq!(request_count(&server).await, 1, "HTTP {status} is not retried");
        assert!(notices.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_server_error_body_never_reaches_the_error() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(500).set_body_string(BODY_SECRET)).await;
    let config =
        LlmConfig { retry: meta_chat_shared::config::LlmRetryConfig { max_attempts: 1, ..config().retry }, ..config() };
    let (provider, _) = provider(&server, &config);

    let error = provider.complete(&request()).await.unwrap_err();

    assert_eq!(error, LlmError::Unavailable { status: Some(500) });
    assert!(!format!("{error} {error:?}").contains(BODY_SECRET));
}

#[tokio::test]
async fn the_circuit_opens_after_consecutive_failures_and_closes_after_the_cool_down() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    mount(&server, text_reply("back")).await;
    let config =
        LlmConfig { retry: meta_chat_shared::config::LlmRetryConfig { max_attempts: 1, ..config().retry }, ..config() };
    let (provider, _) = provider(&server, &config);
    let request = request();

    for _ in 0..3 {
        assert_eq!(provider.complete(&request).await.unwrap_err(), LlmError::Unavailable { status: Some(500) });
    }
    assert_eq!(provider.complete(&request).await.unwrap_err(), LlmError::CircuitOpen);
    assert_eq!(request_count(&server).await, 3, "an open circuit makes no request");

    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(provider.complete(&request).await.unwrap().text, "back", "the trial call goes through");
    assert_eq!(provider.complete(&request).await.unwrap().text, "back", "and the circuit is closed again");
    assert_eq!(request_count(&server).await, 5);
}
