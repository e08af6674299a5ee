//! Reading a document from a request: `multipart/form-data` (part `file`, optional part `metadata` holding a
//! JSON object) or `application/json` ([`TextDocumentRequest`]). The size is measured from the bytes that
//! arrive — never from a header the client sends — and the type is detected from the content by
//! `meta-chat-rag`, against the declared content type and filename: 413 beyond the limit, 415 for a type
//! outside the allowlist or one that is not what it claims to be.

use actix_multipart::Multipart;
use actix_web::HttpRequest;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Payload;
use futures_util::TryStreamExt;
use garde::Validate;
use meta_chat_rag::{Declared, DocumentError, DocumentKind, upload};
use serde_json::Value;

use super::dto::TextDocumentRequest;
use crate::error::{ApiError, FieldError};

/// Largest `metadata` object, as JSON bytes.
const METADATA_LIMIT: usize = 16 * 1024;

/// A document read from a request, checked.
pub struct Upload {
    /// The name given.
    pub filename: String,
    /// The detected type.
    pub kind: DocumentKind,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes.
    pub checksum: [u8; 32],
    /// The client's metadata object (`{}` when none).
    pub metadata: Value,
}

/// Reads and checks a document, at most `limit` bytes.
pub async fn read(req: &HttpRequest, payload: Payload, limit: u64) -> Result<Upload, ApiError> {
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let (filename, declared_type, bytes, metadata) = match essence.as_str() {
        "multipart/form-data" => read_multipart(req, payload, limit).await?,
        "application/json" => read_json(payload, limit).await?,
        _ => return Err(ApiError::UnsupportedMediaType { expected: "multipart/form-data or application/json" }),
    };
    check_filename(&filename)?;
    upload::check_size(&bytes, limit).map_err(document_error)?;
    let kind =
        upload::detect(&bytes, &Declared::new(Some(&filename), declared_type.as_deref())).map_err(document_error)?;
    let checksum = upload::checksum(&bytes);
    Ok(Upload {
        filename,
        kind,
        bytes,
        checksum,
        metadata: metadata.unwrap_or_else(|| Value::Object(serde_json::Map::default())),
    })
}

type Parts = (String, Option<String>, Vec<u8>, Option<Value>);

async fn read_multipart(req: &HttpRequest, payload: Payload, limit: u64) -> Result<Parts, ApiError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut file: Option<(String, Option<String>, Vec<u8>)> = None;
    let mut metadata = None;
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    while let Some(mut field) = multipart.try_next().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") if file.is_none() => {
                let filename = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(str::to_owned)
                    .ok_or_else(|| field_error("file", "the file part needs a filename"))?;
                let declared = field.content_type().map(ToString::to_string);
                let bytes = field
                    .bytes(cap)
                    .await
                    .map_err(|_| ApiError::PayloadTooLarge { limit: cap })?
                    .map_err(multipart_error)?;
                file = Some((filename, declared, bytes.to_vec()));
            }
            Some("metadata") if metadata.is_none() => {
                let bytes = field
                    .bytes(METADATA_LIMIT)
                    .await
                    .map_err(|_| field_error("metadata", "must be at most 16 KB"))?
                    .map_err(multipart_error)?;
                metadata = Some(parse_metadata(&bytes)?);
            }
            Some(name @ ("file" | "metadata")) => return Err(field_error(name, "must be sent once")),
            _ => return Err(field_error("multipart", "only the parts `file` and `metadata` are accepted")),
        }
    }
    let (filename, declared, bytes) = file.ok_or_else(|| field_error("file", "is required"))?;
    Ok((filename, declared, bytes, metadata))
}

async fn read_json(payload: Payload, limit: u64) -> Result<Parts, ApiError> {
    // JSON escapes can double the text; allow for them, then measure the content itself.
    let cap = usize::try_from(limit.saturating_mul(2).saturating_add(64 * 1024)).unwrap_or(usize::MAX);
    let body = payload
        .to_bytes_limited(cap)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: cap })?
        .map_err(|err| ApiError::InvalidJson(format!("the body could not be read ({err})")))?;
    let request: TextDocumentRequest =
        crate::payload::optional_json(&body)?.ok_or_else(|| ApiError::InvalidJson("the body is empty".into()))?;
    request.validate()?;
    if let Some(mime) = request.mime_type.as_deref()
        && !matches!(DocumentKind::from_mime(mime), Some(kind) if kind.is_text())
    {
        return Err(field_error("mimeType", "must be text/plain, text/markdown, text/csv or text/html"));
    }
    let metadata = match request.metadata {
        Some(value) => Some(parse_metadata(value.to_string().as_bytes())?),
        None => None,
    };
    Ok((request.filename, request.mime_type, request.content.into_bytes(), metadata))
}

fn parse_metadata(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.len() > METADATA_LIMIT {
        return Err(field_error("metadata", "must be at most 16 KB"));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(field_error("metadata", "must be a JSON object")),
    }
}

fn check_filename(filename: &str) -> Result<(), ApiError> {
    let length = filename.trim().chars().count();
    if length == 0 || filename.chars().count() > 255 || filename.chars().any(char::is_control) {
        return Err(field_error("filename", "must be 1-255 characters without control characters"));
    }
    Ok(())
}

fn field_error(path: &str, message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new(path, message)])
}

#[expect(clippy::needless_pass_by_value, reason = "called as map_err(multipart_error)")]
fn multipart_error(err: actix_multipart::MultipartError) -> ApiError {
    ApiError::Validation(vec![FieldError::new("multipart", format!("the multipart body is not valid: {err}"))])
}

/// The API error of a document that cannot be accepted.
#[expect(clippy::needless_pass_by_value, reason = "called as map_err(document_error)")]
pub fn document_error(err: DocumentError) -> ApiError {
    match err {
        DocumentError::TooLarge { limit } | DocumentError::LimitExceeded { limit, .. } => {
            ApiError::PayloadTooLarge { limit: usize::try_from(limit).unwrap_or(usize::MAX) }
        }
        DocumentError::UnsupportedType | DocumentError::TypeMismatch { .. } => {
            ApiError::UnsupportedDocument(capitalized(&err.to_string()))
        }
        DocumentError::Malformed(_) | DocumentError::Empty => field_error("file", &err.to_string()),
        DocumentError::Internal => ApiError::Internal(anyhow::anyhow!("document check failed")),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>() + ".").unwrap_or_default()
}
