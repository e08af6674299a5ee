//! Downloading inbound WhatsApp media: `GET /{media_id}` gives a short-lived URL plus metadata, then that URL is
//! fetched with the same bearer token. The size cap is enforced twice (declared size, then the bytes actually
//! streamed) because a declared `file_size` or `Content-Length` is only a claim.

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::{DownloadedMedia, GraphClient, ReadError, SendError, check_id, read_capped, transport_error};

/// Used when neither Meta's metadata nor the download names a type.
const FALLBACK_MIME_TYPE: &str = "application/octet-stream";

impl GraphClient {
    /// Downloads the inbound media `media_id`, refusing it ([`Permanent`](super::SendErrorKind::Permanent),
    /// "larger than the limit") when its declared size exceeds `max_bytes` or once more than `max_bytes` arrive.
    /// A download whose SHA-256 differs from the one Meta declared fails as
    /// [`Transient`](super::SendErrorKind::Transient).
    #[tracing::instrument(skip_all, fields(media.max_bytes = max_bytes))]
    pub async fn whatsapp_media(
        &self,
        access_token: &str,
        media_id: &str,
        max_bytes: u64,
    ) -> Result<DownloadedMedia, SendError> {
        check_id("media id", media_id)?;
        let request = self.http.get(self.endpoint(&[media_id])).bearer_auth(access_token);
        let info = MediaInfo::from_answer(&self.execute("whatsapp.media_info", request, access_token).await?)?;
        if info.file_size.is_some_and(|size| size > max_bytes) {
            tracing::info!(media.file_size = info.file_size, "inbound media refused: declared size over the limit");
            return Err(SendError::too_large(max_bytes));
        }

        let request = self.http.get(info.url).bearer_auth(access_token);
        let mut response = self.send("whatsapp.media_download", request, access_token).await?;
        let header_type = response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let bytes = read_capped(&mut response, max_bytes).await.map_err(|err| match err {
            ReadError::TooLarge => {
                tracing::info!("inbound media refused: body over the limit");
                SendError::too_large(max_bytes)
            }
            ReadError::Transport(err) => transport_error("whatsapp.media_download", &err),
        })?;

        let sha256_hex = hex::encode(<[u8; 32]>::from(Sha256::digest(&bytes)));
        // Meta documents `sha256` without fixing its encoding; only a hex digest can be compared here.
        if let Some(declared) =
            info.sha256.as_deref().filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
            && !declared.eq_ignore_ascii_case(&sha256_hex)
        {
            tracing::warn!(media.len = bytes.len(), "inbound media checksum mismatch");
            return Err(SendError::transient("downloaded media does not match its declared SHA-256"));
        }
        let mime_type = info.mime_type.or(header_type).unwrap_or_else(|| FALLBACK_MIME_TYPE.to_owned());
        tracing::debug!(media.len = bytes.len(), media.mime_type = %mime_type, "inbound media downloaded");
        Ok(DownloadedMedia { bytes, mime_type, sha256_hex })
    }
}

/// The metadata answer `{url, mime_type, sha256, file_size, id, messaging_product}`.
#[derive(Debug)]
struct MediaInfo {
    url: Url,
    mime_type: Option<String>,
    sha256: Option<String>,
    file_size: Option<u64>,
}

impl MediaInfo {
    fn from_answer(answer: &Value) -> Result<Self, SendError> {
        let url = answer
            .get("url")
            .and_then(Value::as_str)
            .and_then(|url| Url::parse(url).ok())
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| super::unexpected_response("whatsapp.media_info"))?;
        let text = |key: &str| answer.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        // Examples in Meta's docs show `file_size` both as a number and as a string.
        let file_size = match answer.get("file_size") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        Ok(Self { url, mime_type: text("mime_type"), sha256: text("sha256"), file_size })
    }
}
