//! Extractor configuration: body limits from `http.*_limit_bytes` and the envelope errors that a bad
//! body, query string or path parameter produces. Registered once on the `App`, so every route gets it.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, web};

use crate::error::{ApiError, FieldError};

/// Where a request input came from, for `details.fields[].path`.
const PATH_LOCATION: &str = "path";

/// `web::Json` configuration: at most `limit` bytes, `application/json` required.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .error_handler(move |err, _req: &HttpRequest| json_error(err, limit).into())
}

/// `web::Query` configuration.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req: &HttpRequest| query_error(&err).into())
}

/// `web::Path` configuration.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req: &HttpRequest| path_error(&err).into())
}

/// Configuration of raw body extractors (`Bytes`, `String`, uploads): at most `limit` bytes.
pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

/// Parses an optional JSON body (routes where the body may be left out): an empty body is `None`;
/// anything else must be valid for `T`, with the same errors `web::Json` gives. Take the body as
/// `web::Bytes` (bounded by [`payload_config`]).
pub fn optional_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|err| json_error(JsonPayloadError::Deserialize(err), body.len()))
}

fn json_error(err: JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { limit, .. } | JsonPayloadError::Overflow { limit } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => ApiError::PayloadTooLarge { limit },
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType { expected: "application/json" },
        // Well-formed JSON of the wrong shape (missing or unknown field, wrong type) is a validation
        // error; anything the parser chokes on is INVALID_JSON.
        JsonPayloadError::Deserialize(err) if err.is_data() => {
            let message = err.to_string();
            ApiError::Validation(vec![FieldError::new(field_in_serde_message(&message).unwrap_or_default(), message)])
        }
        JsonPayloadError::Deserialize(err) => ApiError::InvalidJson(err.to_string()),
        JsonPayloadError::Payload(err) => ApiError::InvalidJson(format!("the body could not be read ({err})")),
        other => ApiError::Internal(anyhow::anyhow!("JSON extractor failed: {other}")),
    }
}

fn query_error(err: &QueryPayloadError) -> ApiError {
    ApiError::InvalidQuery(err.to_string().trim_start_matches("Query deserialize error: ").to_owned())
}

fn path_error(err: &PathError) -> ApiError {
    let message = err.to_string().trim_start_matches("Path deserialize error: ").to_owned();
    ApiError::Validation(vec![FieldError::new(PATH_LOCATION, message)])
}

/// The field a serde "missing field `x`" / "unknown field `x`" message names.
fn field_in_serde_message(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `").or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split_once('`').map(|(field, _)| field.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_of_missing_and_unknown_field_errors() {
        assert_eq!(field_in_serde_message("missing field `name` at line 1 column 2").as_deref(), Some("name"));
        assert_eq!(
            field_in_serde_message("unknown field `nmae`, expected `name` at line 1 column 7").as_deref(),
            Some("nmae")
        );
        assert_eq!(field_in_serde_message("invalid type: string \"x\", expected u32"), None);
    }
}
