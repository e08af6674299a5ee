//! Messenger Send API: `POST /me/messages?access_token=…` for messages and sender actions. The page access token
//! goes in the query string, as Meta's Send API reference documents, so these URLs must never be logged.

use serde_json::{Value, json};
use url::Url;

use super::content::check_quick_replies;
use super::{
    GraphClient, MESSENGER_MAX_QUICK_REPLIES, MessageTag, OutboundContent, SendError, SenderAction, SentMessage,
    check_id,
};

impl GraphClient {
    /// Sends `content` to the person `psid` (page-scoped id) from the page the token belongs to. Without a tag the
    /// send is a `RESPONSE` inside the 24 hour window; with [`MessageTag::HumanAgent`] it may be up to 7 days late.
    /// Templates are not supported on Messenger ([`Permanent`](super::SendErrorKind::Permanent), no request made);
    /// media captions and file names are dropped.
    #[tracing::instrument(skip_all, fields(message.kind = content.kind_name(), message.tagged = tag.is_some()))]
    pub async fn messenger_send(
        &self,
        page_access_token: &str,
        psid: &str,
        content: &OutboundContent,
        tag: Option<MessageTag>,
    ) -> Result<SentMessage, SendError> {
        check_id("recipient id", psid)?;
        let message = message_object(content)?;
        let mut body = json!({
            "recipient": { "id": psid },
            "messaging_type": if tag.is_some() { "MESSAGE_TAG" } else { "RESPONSE" },
            "message": message,
        });
        if let Some(tag) = tag {
            body["tag"] = json!(tag.as_str());
        }
        let request = self.http.post(self.messenger_url(page_access_token)?).json(&body);
        let answer = self.execute("messenger.send", request, page_access_token).await?;
        match answer.get("message_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(SentMessage { external_id: id.to_owned() }),
            _ => Err(super::unexpected_response("messenger.send")),
        }
    }

    /// Shows or hides the typing bubble, or marks the conversation seen, for the person `psid`.
    #[tracing::instrument(skip_all, fields(messenger.action = action.as_str()))]
    pub async fn messenger_sender_action(
        &self,
        page_access_token: &str,
        psid: &str,
        action: SenderAction,
    ) -> Result<(), SendError> {
        check_id("recipient id", psid)?;
        let body = json!({ "recipient": { "id": psid }, "sender_action": action.as_str() });
        let request = self.http.post(self.messenger_url(page_access_token)?).json(&body);
        self.execute("messenger.sender_action", request, page_access_token).await.map(drop)
    }

    /// `{root}/me/messages?access_token=…`, with the token form-encoded.
    fn messenger_url(&self, page_access_token: &str) -> Result<Url, SendError> {
        if page_access_token.is_empty() {
            return Err(SendError::permanent("page access token is empty"));
        }
        let mut url = Url::parse(&self.endpoint(&["me", "messages"]))
            .map_err(|_| SendError::permanent("Send API URL could not be built"))?;
        url.query_pairs_mut().append_pair("access_token", page_access_token);
        Ok(url)
    }
}

/// The Send API `message` object.
fn message_object(content: &OutboundContent) -> Result<Value, SendError> {
    match content {
        OutboundContent::Text { body, .. } => Ok(json!({ "text": body })),
        OutboundContent::Media { kind, link, caption, filename } => {
            if caption.is_some() || filename.is_some() {
                tracing::debug!("Messenger attachments take no caption or file name; dropped");
            }
            Ok(json!({
                "attachment": {
                    "type": kind.messenger_type(),
                    "payload": { "url": link, "is_reusable": true },
                },
            }))
        }
        OutboundContent::Template { .. } => {
            Err(SendError::permanent("message templates are not supported on Messenger"))
        }
        OutboundContent::QuickReplies { body, options } => {
            check_quick_replies(options, MESSENGER_MAX_QUICK_REPLIES)?;
            let replies: Vec<Value> = options
                .iter()
                .map(|option| json!({ "content_type": "text", "title": option.title, "payload": option.id }))
                .collect();
            Ok(json!({ "text": body, "quick_replies": replies }))
        }
    }
}
