//! The outbound content model shared by WhatsApp and Messenger sends, and the small value types the Graph calls
//! take or return. `Debug` output never shows message text, so a stray `?content` in a log leaks nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::SendError;

/// WhatsApp interactive reply buttons allowed in one message.
pub const WHATSAPP_MAX_BUTTONS: usize = 3;
/// Messenger quick replies allowed in one message.
pub const MESSENGER_MAX_QUICK_REPLIES: usize = 13;
/// Longest quick reply or button title on both products, in characters.
pub const QUICK_REPLY_TITLE_MAX_CHARS: usize = 20;
/// Longest button id (WhatsApp) or payload (Messenger allows 1000; the stricter limit applies to both).
const QUICK_REPLY_ID_MAX_CHARS: usize = 256;

/// A message to send, independent of the product; each send maps it to the product's shape.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum OutboundContent {
    /// Plain text. `preview_url` asks WhatsApp to render a link preview (Messenger ignores it).
    Text {
        /// The text.
        body: String,
        /// Whether WhatsApp should render a preview of the first URL.
        preview_url: bool,
    },
    /// A media file fetched by Meta from a public `link`. Messenger has no captions or file names: they are
    /// dropped there, so send a caption as its own [`OutboundContent::Text`] when it matters.
    Media {
        /// What kind of media.
        kind: MediaKind,
        /// A public HTTPS URL Meta can fetch.
        link: String,
        /// Caption (WhatsApp image, video and document only).
        caption: Option<String>,
        /// File name shown to the recipient (WhatsApp documents only).
        filename: Option<String>,
    },
    /// An approved WhatsApp message template; the only content allowed outside the 24 hour window. Not supported
    /// on Messenger (a permanent error).
    Template {
        /// The template's name as approved.
        name: String,
        /// The template's language code, for example `en_US`.
        language: String,
        /// Values for the body's `{{1}}`, `{{2}}`, … placeholders, in order.
        body_parameters: Vec<String>,
    },
    /// Text with tappable replies: WhatsApp interactive reply buttons (at most [`WHATSAPP_MAX_BUTTONS`]),
    /// Messenger quick replies (at most [`MESSENGER_MAX_QUICK_REPLIES`]); titles at most
    /// [`QUICK_REPLY_TITLE_MAX_CHARS`] characters.
    QuickReplies {
        /// The text shown above the replies.
        body: String,
        /// The replies, in display order.
        options: Vec<QuickReply>,
    },
}

impl OutboundContent {
    /// A short name of the variant, safe for logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Media { .. } => "media",
            Self::Template { .. } => "template",
            Self::QuickReplies { .. } => "quick_replies",
        }
    }
}

impl fmt::Debug for OutboundContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text { body, preview_url } => f
                .debug_struct("Text")
                .field("body_chars", &body.chars().count())
                .field("preview_url", preview_url)
                .finish(),
            Self::Media { kind, caption, filename, .. } => f
                .debug_struct("Media")
                .field("kind", kind)
                .field("has_caption", &caption.is_some())
                .field("has_filename", &filename.is_some())
                .finish_non_exhaustive(),
            Self::Template { name, language, body_parameters } => f
                .debug_struct("Template")
                .field("name", name)
                .field("language", language)
                .field("body_parameters", &body_parameters.len())
                .finish(),
            Self::QuickReplies { body, options } => f
                .debug_struct("QuickReplies")
                .field("body_chars", &body.chars().count())
                .field("options", &options.len())
                .finish(),
        }
    }
}

/// The media kinds both products can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// JPEG or PNG image.
    Image,
    /// Audio clip or voice note.
    Audio,
    /// Video clip.
    Video,
    /// Any other file (PDF, spreadsheet, …).
    Document,
    /// WebP sticker (sent as an image on Messenger).
    Sticker,
}

impl MediaKind {
    /// The WhatsApp message `type` and object key.
    pub(super) fn whatsapp_type(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }

    /// The Messenger attachment `type`.
    pub(super) fn messenger_type(self) -> &'static str {
        match self {
            Self::Image | Self::Sticker => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "file",
        }
    }
}

/// One tappable reply: `id` comes back in the inbound reply, `title` is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    /// Returned in the inbound message when tapped (WhatsApp button id, Messenger payload).
    pub id: String,
    /// The label, at most [`QUICK_REPLY_TITLE_MAX_CHARS`] characters.
    pub title: String,
}

/// Refuses reply lists the product would reject, before any request is made.
pub(super) fn check_quick_replies(options: &[QuickReply], max: usize) -> Result<(), SendError> {
    if options.is_empty() || options.len() > max {
        return Err(SendError::permanent(format!("quick replies need between 1 and {max} options")));
    }
    for option in options {
        let title_chars = option.title.chars().count();
        if title_chars == 0 || title_chars > QUICK_REPLY_TITLE_MAX_CHARS {
            return Err(SendError::permanent(format!(
                "quick reply titles need between 1 and {QUICK_REPLY_TITLE_MAX_CHARS} characters"
            )));
        }
        if option.id.is_empty() || option.id.chars().count() > QUICK_REPLY_ID_MAX_CHARS {
            return Err(SendError::permanent(format!(
                "quick reply ids need between 1 and {QUICK_REPLY_ID_MAX_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// A message Graph accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The product's message id: a `wamid.…` on WhatsApp, an `m_…` on Messenger.
    pub external_id: String,
}

/// A Messenger message tag, allowing a send outside the 24 hour window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageTag {
    /// A human agent answering within 7 days of the person's last message (`HUMAN_AGENT`).
    HumanAgent,
}

impl MessageTag {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::HumanAgent => "HUMAN_AGENT",
        }
    }
}

/// A Messenger sender action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderAction {
    /// Show the typing bubble (Messenger hides it after about 20 s or at the next message).
    TypingOn,
    /// Hide the typing bubble.
    TypingOff,
    /// Mark the person's last message as seen.
    MarkSeen,
}

impl SenderAction {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::TypingOn => "typing_on",
            Self::TypingOff => "typing_off",
            Self::MarkSeen => "mark_seen",
        }
    }
}

/// An inbound WhatsApp media file, downloaded under a size cap.
#[derive(Clone, PartialEq, Eq)]
pub struct DownloadedMedia {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The MIME type Meta recorded for the file (or the download's `Content-Type`).
    pub mime_type: String,
    /// Lowercase hex SHA-256 of `bytes`, computed here.
    pub sha256_hex: String,
}

impl fmt::Debug for DownloadedMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadedMedia")
            .field("len", &self.bytes.len())
            .field("mime_type", &self.mime_type)
            .field("sha256_hex", &self.sha256_hex)
            .finish()
    }
}
