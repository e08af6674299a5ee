//! Turning a provider's streamed chunks into [`StreamEvent`]s: text deltas pass straight through, tool-call
//! fragments (name first, argument JSON in pieces) are collected per index and emitted whole at the end,
//! followed by `Done` with the assembled [`crate::Completion`].

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;

use futures_util::stream::{self, BoxStream};
use futures_util::{Stream, StreamExt as _};

use crate::prompt::{Meta, parse_arguments};
use crate::{FinishReason, LlmError, StreamEvent, ToolCall, Usage};

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// The answer so far.
#[derive(Debug)]
pub(crate) struct Accumulator {
    meta: Meta,
    text: String,
    calls: BTreeMap<u32, PartialCall>,
    pub usage: Option<Usage>,
    pub finish_reason: Option<FinishReason>,
    pub model: Option<String>,
    out: Vec<StreamEvent>,
}

impl Accumulator {
    pub(crate) fn new(meta: Meta) -> Self {
        Self {
            meta,
            text: String::new(),
            calls: BTreeMap::new(),
            usage: None,
            finish_reason: None,
            model: None,
            out: Vec::new(),
        }
    }

    pub(crate) fn text(&mut self, delta: &str) {
        if !delta.is_empty() {
            self.text.push_str(delta);
            self.out.push(StreamEvent::TextDelta(delta.to_owned()));
        }
    }

    /// A tool call's id or name arrived (either may come alone; empty values are ignored).
    pub(crate) fn tool_start(&mut self, index: u32, id: Option<&str>, name: Option<&str>) {
        let call = self.calls.entry(index).or_default();
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            id.clone_into(&mut call.id);
        }
        if let Some(name) = name.filter(|s| !s.is_empty()) {
            call.name.push_str(name);
        }
    }

    pub(crate) fn tool_arguments(&mut self, index: u32, fragment: &str) {
        self.calls.entry(index).or_default().arguments.push_str(fragment);
    }

    fn drain(&mut self) -> Vec<StreamEvent> {
        std::mem::take(&mut self.out)
    }

    fn finish(self) -> Vec<StreamEvent> {
        let calls: Vec<ToolCall> = self
            .calls
            .into_values()
            .map(|call| ToolCall { id: call.id, name: call.name, arguments: parse_arguments(&call.arguments) })
            .collect();
        let finish_reason =
            self.finish_reason.unwrap_or(if calls.is_empty() { FinishReason::Stop } else { FinishReason::ToolCalls });
        let mut events: Vec<StreamEvent> = calls.iter().cloned().map(StreamEvent::ToolCall).collect();
        events.push(StreamEvent::Done(self.meta.finish(
            self.text,
            calls,
            self.usage,
            finish_reason,
            self.model.as_deref(),
        )));
        events
    }
}

/// The event stream of a call: `open` establishes the chunk stream (retries and breaker happen there);
/// `decode` feeds each chunk to the accumulator.
pub(crate) fn assemble<'a, Open, Chunks, C>(
    open: Open,
    accumulator: Accumulator,
    decode: fn(&mut Accumulator, C) -> Result<(), LlmError>,
) -> BoxStream<'a, Result<StreamEvent, LlmError>>
where
    Open: Future<Output = Result<Chunks, LlmError>> + Send + 'a,
    Chunks: Stream<Item = Result<C, LlmError>> + Send + 'a,
    C: Send + 'a,
{
    stream::once(async move {
        match open.await {
            Err(error) => stream::iter([Err(error)]).boxed(),
            Ok(chunks) => events(chunks.boxed(), accumulator, decode).boxed(),
        }
    })
    .flatten()
    .boxed()
}

fn events<'a, C: Send + 'a>(
    chunks: BoxStream<'a, Result<C, LlmError>>,
    accumulator: Accumulator,
    decode: fn(&mut Accumulator, C) -> Result<(), LlmError>,
) -> impl Stream<Item = Result<StreamEvent, LlmError>> + Send + 'a {
    let state = (chunks, Some(accumulator), VecDeque::new());
    stream::unfold(state, move |(mut chunks, mut accumulator, mut queue)| async move {
        loop {
            if let Some(event) = queue.pop_front() {
                return Some((event, (chunks, accumulator, queue)));
            }
            let acc = accumulator.as_mut()?;
            match chunks.next().await {
                Some(Ok(chunk)) => match decode(acc, chunk) {
                    Ok(()) => queue.extend(acc.drain().into_iter().map(Ok)),
                    Err(error) => {
                        accumulator = None;
                        queue.push_back(Err(error));
                    }
                },
                Some(Err(error)) => {
                    accumulator = None;
                    queue.push_back(Err(error));
                }
                None => {
                    let acc = accumulator.take()?;
                    queue.extend(acc.finish().into_iter().map(Ok));
                }
            }
        }
    })
}
