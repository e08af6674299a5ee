//! Opaque keyset cursors for lists ordered by `(timestamp DESC, id DESC)`: the cursor names the last row
//! of a page, and the next page starts strictly after it, so pages are stable while rows are added.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{DbError, DbResult};

/// Position after which the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    /// Sort timestamp of the last row seen.
    pub at: DateTime<Utc>,
    /// Id of the last row seen (tie-breaker).
    pub id: Uuid,
}

impl Keyset {
    /// The opaque text handed to clients as `nextCursor`.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.at.timestamp_micros(), self.id.simple()))
    }

    /// Parses a cursor produced by [`Keyset::encode`]; anything else is `InvalidInput`.
    pub fn decode(cursor: &str) -> DbResult<Self> {
        let invalid = || DbError::InvalidInput("cursor is not valid".into());
        if cursor.len() > 128 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (micros, id) = text.split_once(':').ok_or_else(invalid)?;
        let at = micros.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(invalid)?;
        let id = Uuid::try_parse(id).map_err(|_| invalid())?;
        Ok(Self { at, id })
    }
}

/// A page request: 1–100 rows (checked by the caller's validation; clamped here) after an optional cursor.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Rows wanted.
    pub limit: u32,
    /// Start after this position.
    pub after: Option<Keyset>,
}

impl PageRequest {
    /// The limit as SQL wants it, one more than asked so the caller can tell whether a next page exists.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit.clamp(1, 100)) + 1
    }

    /// Cuts `rows` to the limit and returns the cursor of the last row kept when more rows exist.
    pub(crate) fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> Keyset) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(self.limit.clamp(1, 100)).unwrap_or(100);
        let next = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            rows.last().map(|row| key(row).encode())
        });
        (rows, next.flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let keyset = Keyset { at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(), id: Uuid::now_v7() };
        assert_eq!(Keyset::decode(&keyset.encode()).unwrap(), keyset);
        for bad in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode("1:notauuid"), &"a".repeat(200)] {
            assert!(Keyset::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finish_cuts_and_points_at_the_last_row_kept() {
        let at = Utc::now();
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let page = PageRequest { limit: 3, after: None };
        let (rows, next) = page.finish(ids.clone(), |id| Keyset { at, id: *id });
        assert_eq!(rows, ids[..3]);
        assert_eq!(Keyset::decode(&next.unwrap()).unwrap().id, ids[2]);
        let (rows, next) = PageRequest { limit: 10, after: None }.finish(ids.clone(), |id| Keyset { at, id: *id });
        assert_eq!(rows.len(), 5);
        assert!(next.is_none());
    }
}
