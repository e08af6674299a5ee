//! Field bounds and cleaning shared by the channel parsers. Ids that do not fit are refused (a truncated id
//! would name another message); free text is cut on a character boundary. The lengths are characters, as
//! PostgreSQL's `length()` in the CHECK constraints counts them.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// `channels.external_id`: the phone number id or page id a delivery is routed by.
pub(crate) const ACCOUNT_ID_MAX: usize = 64;
/// `contacts.external_id`.
pub(crate) const CONTACT_ID_MAX: usize = 128;
/// `messages.external_id` and `messages.reply_to_external_id`.
pub(crate) const MESSAGE_ID_MAX: usize = 256;
/// `contacts.display_name`.
pub(crate) const DISPLAY_NAME_MAX: usize = 200;
/// `messages.text`.
pub(crate) const TEXT_MAX: usize = 65_536;
/// Button, list and postback payloads (Meta allows up to 1000 characters).
pub(crate) const ACTION_MAX: usize = 1_000;
/// Short descriptive payload fields: names, titles, file names, MIME types, addresses.
pub(crate) const FIELD_MAX: usize = 1_024;
/// Media and link URLs; longer ones are dropped rather than cut, which would break them.
pub(crate) const URL_MAX: usize = 4_096;
/// A provider error's title.
pub(crate) const ERROR_TITLE_MAX: usize = 256;
/// A provider error's detail (`messages.error_message` holds 1000).
pub(crate) const ERROR_DETAIL_MAX: usize = 1_000;
/// Most list items (contact cards, phones, attachments, errors) kept in one payload.
pub(crate) const LIST_MAX: usize = 20;

/// An identifier of 1..=`max` characters without whitespace or control characters. Accepts a JSON string
/// or a non-negative integer (some Meta ids arrive as numbers). `None` when missing or out of bounds.
pub(crate) fn id(value: Option<&Value>, max: usize) -> Option<String> {
    let id = match value? {
        Value::String(text) => text.clone(),
        Value::Number(number) if number.is_u64() => number.to_string(),
        _ => return None,
    };
    let length = id.chars().count();
    let clean = !id.chars().any(|c| c.is_whitespace() || c.is_control());
    ((1..=max).contains(&length) && clean).then_some(id)
}

/// A URL of at most [`URL_MAX`] characters without whitespace.
pub(crate) fn url(value: Option<&Value>) -> Option<String> {
    id(value, URL_MAX)
}

/// Free text: a JSON string without NUL characters, cut to `max` characters. `None` when missing or empty.
pub(crate) fn text(value: Option<&Value>, max: usize) -> Option<String> {
    let text = value?.as_str()?;
    let cleaned: String = text.chars().filter(|&c| c != '\0').take(max).collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// A person's name: [`text`] trimmed, at most [`DISPLAY_NAME_MAX`] characters, `None` when blank.
pub(crate) fn name(value: Option<&Value>) -> Option<String> {
    let name = text(value, TEXT_MAX)?;
    let trimmed = name.trim();
    (!trimmed.is_empty()).then(|| trimmed.chars().take(DISPLAY_NAME_MAX).collect())
}

/// `+` and the digits, when `digits` is 5–20 ASCII digits (the `contacts.phone` CHECK).
pub(crate) fn phone(digits: &str) -> Option<String> {
    ((5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())).then(|| format!("+{digits}"))
}

/// A positive Unix time in seconds, given as a decimal string (WhatsApp) or a JSON integer.
pub(crate) fn unix_seconds(value: Option<&Value>) -> Option<DateTime<Utc>> {
    positive_integer(value?).and_then(|seconds| DateTime::from_timestamp(seconds, 0))
}

/// A positive Unix time in milliseconds, given as a JSON integer (Messenger) or a decimal string.
pub(crate) fn unix_millis(value: Option<&Value>) -> Option<DateTime<Utc>> {
    positive_integer(value?).and_then(DateTime::from_timestamp_millis)
}

fn positive_integer(value: &Value) -> Option<i64> {
    let integer = match value {
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        Value::Number(number) => number.as_i64(),
        _ => None,
    };
    integer.filter(|&integer| integer > 0)
}

/// A latitude and longitude in degrees, when both are finite numbers within range.
pub(crate) fn coordinates(latitude: Option<&Value>, longitude: Option<&Value>) -> Option<(f64, f64)> {
    let latitude = latitude?.as_f64().filter(|lat| (-90.0..=90.0).contains(lat))?;
    let longitude = longitude?.as_f64().filter(|lon| (-180.0..=180.0).contains(lon))?;
    Some((latitude, longitude))
}

/// A JSON object of the fields that are present: `None` values are left out, so optional fields are absent
/// rather than `null`.
pub(crate) fn object<const N: usize>(fields: [(&str, Option<Value>); N]) -> Value {
    let map: Map<String, Value> =
        fields.into_iter().filter_map(|(key, value)| value.map(|value| (key.to_owned(), value))).collect();
    Value::Object(map)
}
