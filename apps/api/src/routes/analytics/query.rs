//! The query string every analytics route takes: `days` (1–365, default 30) and `limit` (1–100, default 20;
//! it bounds the lists of `/analytics/top-questions` and `/analytics/unanswered` and is checked on every
//! analytics route, since API.md gives the pair to the whole group). Anything else — a value that is not an
//! integer in range, a parameter given twice, an unknown parameter — is 400 `VALIDATION_ERROR` with one
//! `details.fields` entry per problem, all reported at once.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::NaiveDate;
use meta_chat_database::analytics::Window;
use utoipa::IntoParams;

use crate::accounts::internal;
use crate::error::{ApiError, FieldError};

/// Days when `days` is not given.
pub const DEFAULT_DAYS: u32 = 30;
/// Most days a request may ask for.
pub const MAX_DAYS: u32 = 365;
/// List length when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 20;
/// Longest list a request may ask for.
pub const MAX_LIMIT: u32 = 100;
/// Longest unknown parameter name echoed back in `details.fields[].path`.
const MAX_ECHOED_NAME: usize = 64;

/// The query string of the analytics routes (documentation; [`AnalyticsQuery`] reads it).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsParams {
    /// How many UTC days, ending today, the answer covers: 1–365, default 30.
    #[param(minimum = 1, maximum = 365)]
    pub days: Option<u32>,
    /// Longest list returned (top questions, unanswered questions): 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The validated query of an analytics route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsQuery {
    /// Days of the window, 1–365.
    pub days: u32,
    /// List length, 1–100.
    pub limit: u32,
}

impl AnalyticsQuery {
    /// Reads `query` (the raw query string), reporting every problem.
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|err| ApiError::InvalidQuery(err.to_string()))?
            .into_inner();
        let mut days = None;
        let mut limit = None;
        let mut fields = Vec::new();
        for (name, value) in pairs {
            let (slot, max) = match name.as_str() {
                "days" => (&mut days, MAX_DAYS),
                "limit" => (&mut limit, MAX_LIMIT),
                _ => {
                    let path: String = name.chars().take(MAX_ECHOED_NAME).collect();
                    fields.push(FieldError::new(path, "is not a parameter of this route (use `days` and `limit`)"));
                    continue;
                }
            };
            if slot.is_some() {
                fields.push(FieldError::new(name, "is given more than once"));
                continue;
            }
            match value.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => *slot = Some(n),
                _ => {
                    *slot = Some(0);
                    fields.push(FieldError::new(name, format!("must be an integer from 1 to {max}")));
                }
            }
        }
        if !fields.is_empty() {
            return Err(ApiError::Validation(fields));
        }
        Ok(Self { days: days.unwrap_or(DEFAULT_DAYS), limit: limit.unwrap_or(DEFAULT_LIMIT) })
    }

    /// The `days` UTC days ending `today`.
    pub fn window(self, today: NaiveDate) -> Result<Window, ApiError> {
        Window::last_days(today, self.days).map_err(internal)
    }

    /// The list length.
    pub fn limit(self) -> i64 {
        i64::from(self.limit)
    }
}

impl FromRequest for AnalyticsQuery {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req.query_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(query: &str) -> Vec<(String, String)> {
        match AnalyticsQuery::parse(query) {
            Err(ApiError::Validation(fields)) => fields.into_iter().map(|f| (f.path, f.message)).collect(),
            other => panic!("{query}: expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_bounds_are_accepted() {
        assert_eq!(AnalyticsQuery::parse("").unwrap(), AnalyticsQuery { days: 30, limit: 20 });
        assert_eq!(AnalyticsQuery::parse("days=1&limit=100").unwrap(), AnalyticsQuery { days: 1, limit: 100 });
        assert_eq!(AnalyticsQuery::parse("limit=1&days=365").unwrap(), AnalyticsQuery { days: 365, limit: 1 });
    }

    #[test]
    fn anything_else_names_each_offending_parameter() {
        for query in ["days=abc", "days=0", "days=366", "days=", "days=1.5", "days=-1"] {
            assert_eq!(fields(query), [("days".to_owned(), "must be an integer from 1 to 365".to_owned())], "{query}");
        }
        for query in ["limit=-1", "limit=1000", "limit=0", "limit=ten"] {
            assert_eq!(fields(query), [("limit".to_owned(), "must be an integer from 1 to 100".to_owned())], "{query}");
        }
        let all = fields("days=0&limit=101&since=2026-01-01&days=7");
        let paths: Vec<&str> = all.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(paths, ["days", "limit", "since", "days"]);
        assert_eq!(all[3].1, "is given more than once");
    }
}
