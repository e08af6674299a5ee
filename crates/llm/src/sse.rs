//! A small server-sent events reader over a `reqwest` body stream (for the Anthropic provider; the
//! OpenAI-compatible one gets its events from `async-openai`).

use futures_util::stream::{self, BoxStream};
use futures_util::{Stream, StreamExt as _};

use crate::LlmError;

/// One event: its `event:` name (empty when absent) and its `data:` lines joined by newlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub event: String,
    pub data: String,
}

/// Splits `body` into events. A transport failure ends the stream with an error.
pub(crate) fn events<'a, B, E>(body: B) -> BoxStream<'a, Result<Event, LlmError>>
where
    B: Stream<Item = Result<E, reqwest::Error>> + Send + 'a,
    E: AsRef<[u8]> + Send + 'a,
{
    let state = (body.boxed(), Vec::<u8>::new(), false);
    stream::unfold(state, |(mut body, mut buffer, mut ended)| async move {
        loop {
            if let Some(block) = take_block(&mut buffer, ended) {
                match parse_block(&block) {
                    Some(event) => return Some((Ok(event), (body, buffer, ended))),
                    None => continue,
                }
            }
            if ended {
                return None;
            }
            match body.next().await {
                Some(Ok(bytes)) => buffer.extend_from_slice(bytes.as_ref()),
                Some(Err(error)) => return Some((Err(LlmError::from_reqwest(&error)), (body, Vec::new(), true))),
                None => ended = true,
            }
        }
    })
    .boxed()
}

/// The next complete block (up to a blank line), or at the end whatever is left.
fn take_block(buffer: &mut Vec<u8>, ended: bool) -> Option<Vec<u8>> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let crlf = buffer.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let boundary = [lf, crlf].into_iter().flatten().min();
    match boundary {
        Some((at, len)) => {
            let block = buffer[..at].to_vec();
            buffer.drain(..at + len);
            Some(block)
        }
        None if ended && !buffer.is_empty() => Some(std::mem::take(buffer)),
        None => None,
    }
}

fn parse_block(block: &[u8]) -> Option<Event> {
    let text = String::from_utf8_lossy(block);
    let mut event = String::new();
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => value.clone_into(&mut event),
            "data" => data.push(value),
            _ => {}
        }
    }
    (!data.is_empty() || !event.is_empty()).then(|| Event { event, data: data.join("\n") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_split_across_chunks_and_comments_are_read() {
        let chunks: Vec<Result<&[u8], reqwest::Error>> = vec![
            Ok(b": ping\n\nevent: message_start\ndata: {\"a\":"),
            Ok(b"1}\n\nevent: message_stop\r\ndata: {}\r\n\r\ndata: tail"),
        ];
        let got: Vec<_> = events(stream::iter(chunks)).collect().await;
        let got: Vec<Event> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            got,
            [
                Event { event: "message_start".into(), data: "{\"a\":1}".into() },
                Event { event: "message_stop".into(), data: "{}".into() },
                Event { event: String::new(), data: "tail".into() },
            ]
        );
    }
}
