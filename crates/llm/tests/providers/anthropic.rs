//! The Anthropic provider against a fake `/v1/messages`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use meta_chat_llm::{
    CompletionRequest, FinishReason, LlmError, Provider, StreamEvent, ToolCall, ToolExchange, ToolSpec, Usage,
};
use meta_chat_shared::config::LlmConfig;
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::settings::{LlmProvider, LlmSettings};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{BODY_SECRET, Notices, bodies, config, passages, providers, request_count};

fn provider(server: &MockServer, config: &LlmConfig) -> (Arc<dyn Provider>, Notices) {
    let (providers, notices) = providers(config);
    let settings =
        LlmSettings { provider: LlmProvider::Anthropic, model: "test-model".into(), base_url: Some(server.uri()) };
    (providers.for_tenant(TenantId::new(), &settings, Some("sk-ant-test")).unwrap(), notices)
}

fn request() -> CompletionRequest {
    CompletionRequest {
        system: "You are Acme's assistant.".into(),
        message: "Is shipping free?".into(),
        context: passages(),
        tools: vec![ToolSpec::handoff()],
        ..CompletionRequest::default()
    }
}

fn message(content: &Value, stop_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "test-model",
        "content": content, "stop_reason": stop_reason,
        "usage": { "input_tokens": 200, "output_tokens": 50 },
    }))
}

async fn mount(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST")).and(path("/v1/messages")).respond_with(response).mount(server).await;
}

#[tokio::test]
async fn sends_headers_system_messages_and_tools_and_reads_text_and_tool_use() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-test"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(message(
            &json!([
                { "type": "text", "text": "Over 50 EUR it is [2]. " },
                { "type": "tool_use", "id": "toolu_1", "name": "handoff_to_human", "input": { "reason": "asked" } },
            ]),
            "tool_use",
        ))
        .mount(&server)
        .await;
    let (provider, _) = provider(&server, &config());
    let mut request = request();
    request.tool_exchanges.push(ToolExchange {
        call: ToolCall {
            id: "toolu_0".into(),
            name: "search_knowledge_base".into(),
            arguments: json!({ "query": "shipping" }),
        },
        result: "Shipping is free over 50 EUR.".into(),
    });

    let completion = provider.complete(&request).await.unwrap();

    assert_eq!(completion.text, "Over 50 EUR it is [2]. ");
    assert_eq!(completion.citations, [request.context[1].id]);
    let call =
        ToolCall { id: "toolu_1".into(), name: "handoff_to_human".into(), arguments: json!({ "reason": "asked" }) };
    assert_eq!(completion.tool_calls, [call]);
    assert!(completion.handoff_requested);
    assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
    assert_eq!(completion.usage, Usage { prompt_tokens: 200, completion_tokens: 50 });
    assert_eq!(completion.cost_micro_usd, 300);

    let body = &bodies(&server).await[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["max_tokens"], 1024);
    let system = body["system"].as_str().unwrap();
    assert!(system.contains("[1] (faq.md) Returns are accepted within 30 days."), "{system}");
    assert_eq!(body["tools"][0]["name"], "handoff_to_human");
    assert_eq!(body["tools"][0]["input_schema"]["required"], json!(["reason"]));
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({ "role": "user", "content": "Is shipping free?" }));
    assert_eq!(messages[1]["content"][0]["type"], "tool_use");
    assert_eq!(messages[1]["content"][0]["input"], json!({ "query": "shipping" }));
    assert_eq!(
        messages[2]["content"][0],
        json!({ "type": "tool_result", "tool_use_id": "toolu_0", "content": "Shipping is free over 50 EUR." })
    );
}

fn sse(events: &[(&str, Value)]) -> ResponseTemplate {
    let body =
        events.iter().map(|(name, data)| format!("event: {name}\ndata: {data}\n\n")).collect::<Vec<_>>().concat();
    ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body)
}

#[tokio::test]
async fn a_streamed_reply_is_assembled_from_text_and_input_json_deltas() {
    let server = MockServer::start().await;
    let delta = |index: u32, delta: Value| {
        ("content_block_delta", json!({ "type": "content_block_delta", "index": index, "delta": delta }))
    };
    mount(
        &server,
        sse(&[
            ("message_start", json!({ "type": "message_start", "message": { "model": "test-model", "usage": { "input_tokens": 30, "output_tokens": 1 } } })),
            ("content_block_start", json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } })),
            ("ping", json!({ "type": "ping" })),
            delta(0, json!({ "type": "text_delta", "text": "Yes, " })),
            delta(0, json!({ "type": "text_delta", "text": "over 50 EUR [2]." })),
            ("content_block_stop", json!({ "type": "content_block_stop", "index": 0 })),
            ("content_block_start", json!({ "type": "content_block_start", "index": 1,
                "content_block": { "type": "tool_use", "id": "toolu_7", "name": "search_knowledge_base", "input": {} } })),
            delta(1, json!({ "type": "input_json_delta", "partial_json": "{\"query\": \"ship" })),
            delta(1, json!({ "type": "input_json_delta", "partial_json": "ping costs\"}" })),
            ("content_block_stop", json!({ "type": "content_block_stop", "index": 1 })),
            ("message_delta", json!({ "type": "message_delta", "delta": { "stop_reason": "tool_use" }, "usage": { "output_tokens": 25 } })),
            ("message_stop", json!({ "type": "message_stop" })),
        ]),
    )
    .await;
    let (provider, _) = provider(&server, &config());
    let request = request();

    let events: Vec<StreamEvent> = provider.stream(&request).map(Result::unwrap).collect().await;

    let call = ToolCall {
        id: "toolu_7".into(),
        name: "search_knowledge_base".into(),
        arguments: json!({ "query": "shipping costs" }),
    };
    assert_eq!(
        events[..3],
        [
            StreamEvent::TextDelta("Yes, ".into()),
            StreamEvent::TextDelta("over 50 EUR [2].".into()),
            StreamEvent::ToolCall(call.clone()),
        ]
    );
    let StreamEvent::Done(completion) = &events[3] else { panic!("expected Done, got {:?}", events[3]) };
    assert_eq!(completion.text, "Yes, over 50 EUR [2].");
    assert_eq!(completion.tool_calls, [call]);
    assert_eq!(completion.usage, Usage { prompt_tokens: 30, completion_tokens: 25 });
    assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
    assert_eq!(bodies(&server).await[0]["stream"], true);
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
    mount(&server, message(&json!([{ "type": "text", "text": "ok" }]), "end_turn")).await;
    let (provider, notices) = provider(&server, &config());

    assert_eq!(provider.complete(&request()).await.unwrap().text, "ok");
    assert_eq!(request_count(&server).await, 2);
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!((notices[0].retry_after, notices[0].delay), (Some(Duration::from_secs(1)), Duration::from_secs(1)));
}

#[tokio::test]
async fn a_bad_key_is_not_retried_and_the_error_carries_no_body() {
    let server = MockServer::start().await;
    let body = json!({ "type": "error", "error": { "type": "authentication_error", "message": BODY_SECRET } });
    mount(&server, ResponseTemplate::new(401).set_body_json(body)).await;
    let (provider, _) = provider(&server, &config());

    let error = provider.complete(&request()).await.unwrap_err();

    assert_eq!(error, LlmError::Auth);
    assert!(!format!("{error} {error:?}").contains(BODY_SECRET));
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn the_circuit_opens_after_overloaded_answers_and_closes_after_the_cool_down() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(529).set_body_string(BODY_SECRET))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    mount(&server, message(&json!([{ "type": "text", "text": "back" }]), "end_turn")).await;
    // three attempts in one call: each failure counts, the third opens the circuit
    let (provider, notices) = provider(&server, &config());
    let request = request();

    let error = provider.complete(&request).await.unwrap_err();
    assert_eq!(error, LlmError::Unavailable { status: Some(529) });
    assert!(!error.to_string().contains(BODY_SECRET));
    assert_eq!(notices.lock().unwrap().len(), 2);
    assert_eq!(provider.complete(&request).await.unwrap_err(), LlmError::CircuitOpen);
    assert_eq!(request_count(&server).await, 3);

    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(provider.complete(&request).await.unwrap().text, "back");
}
