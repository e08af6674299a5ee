//! WhatsApp Cloud API sends: `POST /{phone_number_id}/messages` with a bearer token, for messages, read
//! receipts and typing indicators. See Meta's Cloud API reference, "Messages".

use serde_json::{Map, Value, json};

use super::content::check_quick_replies;
use super::{GraphClient, MediaKind, OutboundContent, SendError, SentMessage, WHATSAPP_MAX_BUTTONS, check_id};

impl GraphClient {
    /// Sends `content` to the WhatsApp user `to` (their `wa_id`: digits, a leading `+` is tolerated) from the
    /// business number `phone_number_id`, optionally as a reply to the inbound message `reply_to` (a wamid).
    /// Invalid input (bad ids, too many buttons) fails as [`Permanent`](super::SendErrorKind::Permanent) before any
    /// request.
    #[tracing::instrument(skip_all, fields(graph.phone_number_id = %phone_number_id, message.kind = content.kind_name()))]
    pub async fn whatsapp_send(
        &self,
        phone_number_id: &str,
        access_token: &str,
        to: &str,
        content: &OutboundContent,
        reply_to: Option<&str>,
    ) -> Result<SentMessage, SendError> {
        check_id("phone number id", phone_number_id)?;
        let body = message_body(to, content, reply_to)?;
        let request =
            self.http.post(self.endpoint(&[phone_number_id, "messages"])).bearer_auth(access_token).json(&body);
        let answer = self.execute("whatsapp.send", request, access_token).await?;
        match answer.pointer("/messages/0/id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(SentMessage { external_id: id.to_owned() }),
            _ => Err(super::unexpected_response("whatsapp.send")),
        }
    }

    /// Marks the inbound message `message_id` (a wamid) as read, showing blue ticks; with `typing`, also shows the
    /// typing indicator until the next reply or about 25 s.
    #[tracing::instrument(skip_all, fields(graph.phone_number_id = %phone_number_id, typing))]
    pub async fn whatsapp_mark_read(
        &self,
        phone_number_id: &str,
        access_token: &str,
        message_id: &str,
        typing: bool,
    ) -> Result<(), SendError> {
        check_id("phone number id", phone_number_id)?;
        if message_id.trim().is_empty() {
            return Err(SendError::permanent("message id is empty"));
        }
        let mut body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": message_id });
        if typing {
            body["typing_indicator"] = json!({ "type": "text" });
        }
        let request =
            self.http.post(self.endpoint(&[phone_number_id, "messages"])).bearer_auth(access_token).json(&body);
        self.execute("whatsapp.mark_read", request, access_token).await.map(drop)
    }
}

/// The Cloud API body for one message.
fn message_body(to: &str, content: &OutboundContent, reply_to: Option<&str>) -> Result<Value, SendError> {
    let to = to.strip_prefix('+').unwrap_or(to);
    if to.is_empty() || to.len() > 20 || !to.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SendError::permanent("recipient is not a WhatsApp id (digits only)"));
    }
    let (message_type, payload) = content_payload(content)?;
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": message_type,
    });
    body[message_type] = payload;
    if let Some(reply_to) = reply_to {
        if reply_to.trim().is_empty() {
            return Err(SendError::permanent("reply-to message id is empty"));
        }
        body["context"] = json!({ "message_id": reply_to });
    }
    Ok(body)
}

/// The message `type` and the object stored under that key.
fn content_payload(content: &OutboundContent) -> Result<(&'static str, Value), SendError> {
    Ok(match content {
        OutboundContent::Text { body, preview_url } => ("text", json!({ "body": body, "preview_url": preview_url })),
        OutboundContent::Media { kind, link, caption, filename } => {
            let mut media = Map::new();
            media.insert("link".into(), json!(link));
            // The Cloud API rejects captions on audio and stickers and file names on anything but documents.
            let takes_caption = matches!(kind, MediaKind::Image | MediaKind::Video | MediaKind::Document);
            if let Some(caption) = caption.as_ref().filter(|_| takes_caption) {
                media.insert("caption".into(), json!(caption));
            }
            if let Some(filename) = filename.as_ref().filter(|_| *kind == MediaKind::Document) {
                media.insert("filename".into(), json!(filename));
            }
            (kind.whatsapp_type(), Value::Object(media))
        }
        OutboundContent::Template { name, language, body_parameters } => {
            let mut template = json!({ "name": name, "language": { "code": language } });
            if !body_parameters.is_empty() {
                let parameters: Vec<Value> =
                    body_parameters.iter().map(|text| json!({ "type": "text", "text": text })).collect();
                template["components"] = json!([{ "type": "body", "parameters": parameters }]);
            }
            ("template", template)
        }
        OutboundContent::QuickReplies { body, options } => {
            check_quick_replies(options, WHATSAPP_MAX_BUTTONS)?;
            let buttons: Vec<Value> = options
                .iter()
                .map(|option| json!({ "type": "reply", "reply": { "id": option.id, "title": option.title } }))
                .collect();
            let interactive = json!({
                "type": "button",
                "body": { "text": body },
                "action": { "buttons": buttons },
            });
            ("interactive", interactive)
        }
    })
}
