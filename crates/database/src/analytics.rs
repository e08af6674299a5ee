//! Daily analytics per tenant: [`aggregate_day`] computes one tenant's UTC day from `messages`,
//! `conversations` and `message_replies` and replaces its `analytics_daily` row (re-running a day never
//! adds to it); [`days`] reads a window of days for the analytics endpoints, with today computed live, and
//! [`Totals`] adds them up; [`top_questions`], [`unanswered`] and [`active_contacts`] read the window's
//! messages themselves.
//!
//! Definitions (a day is `[D 00:00 UTC, D+1 00:00 UTC)`; `messages` is partitioned by month on `created_at`,
//! so every query bounds `created_at` and only the partitions of the window are read):
//! - `conversations_started`: conversations created that day;
//! - `messages_inbound` / `messages_outbound`: messages created that day, by direction (every sender);
//! - `active_contacts`: distinct contacts with an inbound message that day;
//! - `ai_replies` / `handoffs`: the day's inbound messages whose decision (`message_replies`) was `replied` /
//!   `handoff`, whenever that decision was taken (a message at 23:59:59 answered after midnight counts for
//!   the day it arrived); `silent` decisions (a human owns the conversation) count as neither;
//! - response time: from an inbound message's `created_at` to its `replied` decision's `created_at`. The
//!   decision and the reply message are written in one transaction, whose `now()` both take, so this is
//!   also the reply message's `created_at`. Average (rounded to whole milliseconds) and 95th percentile
//!   (`percentile_disc`: an observed value) over the day's AI replies; `NULL` when there were none;
//! - `errors`: outbound messages created that day whose status is `failed`;
//! - `rag_queries`: decisions that consulted the knowledge base; `rag_empty`: those that found nothing
//!   relevant or could not search (`message_replies.retrieval` `empty` / `failed`);
//! - `prompt_tokens`, `completion_tokens`, `cost_micro_usd`: summed over the day's decisions.
//!
//! Every function runs inside [`crate::tenant::in_tenant_tx`] (row-level security), except [`tenant_ids`],
//! a platform path for the worker ([`crate::platform::in_platform_tx`]).

mod questions;
mod totals;

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Date, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::TenantId;
use uuid::Uuid;

pub use self::questions::{
    QUESTION_MAX_CHARS, TopQuestion, UnansweredQuestion, active_contacts, top_questions, unanswered,
};
pub use self::totals::{Totals, hit_rate};
use crate::error::{DbError, DbResult};
use crate::schema::{analytics_daily, tenants};

/// The longest window the reads accept, in days.
pub const MAX_WINDOW_DAYS: u32 = 366;

/// One tenant's day, as stored in `analytics_daily` (see the module documentation for each definition).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = analytics_daily, check_for_backend(diesel::pg::Pg))]
pub struct DayStats {
    /// The UTC day.
    pub day: NaiveDate,
    /// Conversations created.
    pub conversations_started: i32,
    /// Inbound messages.
    pub messages_inbound: i32,
    /// Outbound messages (assistant, agents, platform notices).
    pub messages_outbound: i32,
    /// Inbound messages the assistant answered.
    pub ai_replies: i32,
    /// Inbound messages handed to a human.
    pub handoffs: i32,
    /// Retrievals run (0 until the pipeline records them).
    pub rag_queries: i32,
    /// Retrievals that found no context (0 until the pipeline records them).
    pub rag_empty: i32,
    /// Average response time of the AI replies, milliseconds; `None` without AI replies.
    pub avg_first_response_ms: Option<i32>,
    /// Prompt tokens (0 until the pipeline records them).
    pub prompt_tokens: i64,
    /// Completion tokens (0 until the pipeline records them).
    pub completion_tokens: i64,
    /// Model cost in millionths of a US dollar (0 until the pipeline records it).
    pub cost_micro_usd: i64,
    /// Distinct contacts who wrote.
    pub active_contacts: i32,
    /// 95th percentile response time of the AI replies, milliseconds; `None` without AI replies.
    pub p95_first_response_ms: Option<i32>,
    /// Outbound messages that failed.
    pub errors: i32,
}

impl DayStats {
    /// A day without activity (what a day nobody aggregated reads as).
    #[must_use]
    pub fn empty(day: NaiveDate) -> Self {
        Self {
            day,
            conversations_started: 0,
            messages_inbound: 0,
            messages_outbound: 0,
            ai_replies: 0,
            handoffs: 0,
            rag_queries: 0,
            rag_empty: 0,
            avg_first_response_ms: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            cost_micro_usd: 0,
            active_contacts: 0,
            p95_first_response_ms: None,
            errors: 0,
        }
    }
}

/// A range of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Window {
    /// The `days` days ending with `today`; [`DbError::InvalidInput`] unless `days` is 1 to
    /// [`MAX_WINDOW_DAYS`].
    pub fn last_days(today: NaiveDate, days: u32) -> DbResult<Self> {
        if !(1..=MAX_WINDOW_DAYS).contains(&days) {
            return Err(DbError::InvalidInput(format!("a window is 1 to {MAX_WINDOW_DAYS} days, not {days}")));
        }
        let from = today
            .checked_sub_days(Days::new(u64::from(days - 1)))
            .ok_or_else(|| DbError::InvalidInput("the window starts before the calendar does".into()))?;
        Ok(Self { from, to: today })
    }

    /// The first instant of the window.
    #[must_use]
    pub fn start(&self) -> DateTime<Utc> {
        midnight(self.from)
    }

    /// The first instant after the window.
    #[must_use]
    pub fn end(&self) -> DateTime<Utc> {
        self.to.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, midnight)
    }

    /// Every day of the window, oldest first.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        self.from.iter_days().take_while(move |day| *day <= to)
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The stored columns, in the order [`COMPUTE`] selects them.
const COLUMNS: &str = "day, conversations_started, messages_inbound, messages_outbound, ai_replies, handoffs, \
                       rag_queries, rag_empty, avg_first_response_ms, prompt_tokens, completion_tokens, \
                       cost_micro_usd, active_contacts, p95_first_response_ms, errors";

/// One tenant-day ($1 tenant, $2 and $3 the day's bounds, $4 the day). The day's messages are read once
/// (bounded by `created_at`, so only their partition is scanned); decisions are found by primary key.
const COMPUTE: &str = "\
WITH day_messages AS MATERIALIZED (
    SELECT id, conversation_id, direction, status, created_at FROM messages
    WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
), decisions AS MATERIALIZED (
    SELECT r.outcome, r.retrieval, r.prompt_tokens, r.completion_tokens, r.cost_micro_usd,
           least(greatest(round(extract(epoch FROM r.created_at - m.created_at) * 1000), 0), 2147483647)::int4 AS ms
    FROM day_messages m JOIN message_replies r ON r.tenant_id = $1 AND r.inbound_message_id = m.id
    WHERE m.direction = 'inbound'
)
SELECT $4 AS day,
    (SELECT count(*) FROM conversations WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3)::int4
        AS conversations_started,
    (SELECT count(*) FROM day_messages WHERE direction = 'inbound')::int4 AS messages_inbound,
    (SELECT count(*) FROM day_messages WHERE direction = 'outbound')::int4 AS messages_outbound,
    (SELECT count(*) FROM decisions WHERE outcome = 'replied')::int4 AS ai_replies,
    (SELECT count(*) FROM decisions WHERE outcome = 'handoff')::int4 AS handoffs,
    (SELECT count(*) FROM decisions WHERE retrieval IN ('hits', 'empty', 'failed'))::int4 AS rag_queries,
    (SELECT count(*) FROM decisions WHERE retrieval IN ('empty', 'failed'))::int4 AS rag_empty,
    (SELECT round(avg(ms))::int4 FROM decisions WHERE outcome = 'replied') AS avg_first_response_ms,
    (SELECT coalesce(sum(prompt_tokens), 0) FROM decisions)::int8 AS prompt_tokens,
    (SELECT coalesce(sum(completion_tokens), 0) FROM decisions)::int8 AS completion_tokens,
    (SELECT coalesce(sum(cost_micro_usd), 0) FROM decisions)::int8 AS cost_micro_usd,
    (SELECT count(DISTINCT c.contact_id) FROM day_messages m
        JOIN conversations c ON c.tenant_id = $1 AND c.id = m.conversation_id
        WHERE m.direction = 'inbound')::int4 AS active_contacts,
    (SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY ms) FROM decisions WHERE outcome = 'replied')
        AS p95_first_response_ms,
    (SELECT count(*) FROM day_messages WHERE direction = 'outbound' AND status = 'failed')::int4 AS errors";

/// Computes `tenant`'s `day` without storing it (today's live numbers).
pub async fn compute_day(conn: &mut AsyncPgConnection, tenant: TenantId, day: NaiveDate) -> DbResult<DayStats> {
    let window = Window { from: day, to: day };
    Ok(diesel::sql_query(COMPUTE)
        .bind::<SqlUuid, _>(tenant.as_uuid())
        .bind::<Timestamptz, _>(window.start())
        .bind::<Timestamptz, _>(window.end())
        .bind::<Date, _>(day)
        .get_result(conn)
        .await?)
}

/// Computes `tenant`'s `day` and stores it, replacing what was stored for that day before; returns the row.
/// Idempotent: aggregating a day twice over the same data stores the same row.
pub async fn aggregate_day(conn: &mut AsyncPgConnection, tenant: TenantId, day: NaiveDate) -> DbResult<DayStats> {
    let window = Window { from: day, to: day };
    let sql = format!(
        "INSERT INTO analytics_daily (tenant_id, {COLUMNS}) SELECT $1, d.* FROM ({COMPUTE}) d \
         ON CONFLICT (tenant_id, day) DO UPDATE SET \
         conversations_started = EXCLUDED.conversations_started, messages_inbound = EXCLUDED.messages_inbound, \
         messages_outbound = EXCLUDED.messages_outbound, ai_replies = EXCLUDED.ai_replies, \
         handoffs = EXCLUDED.handoffs, rag_queries = EXCLUDED.rag_queries, rag_empty = EXCLUDED.rag_empty, \
         avg_first_response_ms = EXCLUDED.avg_first_response_ms, prompt_tokens = EXCLUDED.prompt_tokens, \
         completion_tokens = EXCLUDED.completion_tokens, cost_micro_usd = EXCLUDED.cost_micro_usd, \
         active_contacts = EXCLUDED.active_contacts, p95_first_response_ms = EXCLUDED.p95_first_response_ms, \
         errors = EXCLUDED.errors \
         RETURNING {COLUMNS}"
    );
    Ok(diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant.as_uuid())
        .bind::<Timestamptz, _>(window.start())
        .bind::<Timestamptz, _>(window.end())
        .bind::<Date, _>(day)
        .get_result(conn)
        .await?)
}

/// One entry per day of `window`, oldest first: the stored row, or an empty day where none is stored; the
/// day `live` (today), if inside the window, is computed now instead of read.
pub async fn days(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    window: Window,
    live: Option<NaiveDate>,
) -> DbResult<Vec<DayStats>> {
    let stored: Vec<DayStats> = analytics_daily::table
        .filter(analytics_daily::tenant_id.eq(tenant.as_uuid()))
        .filter(analytics_daily::day.between(window.from, window.to))
        .select(DayStats::as_select())
        .load(conn)
        .await?;
    let mut stored: BTreeMap<NaiveDate, DayStats> = stored.into_iter().map(|row| (row.day, row)).collect();
    let mut out = Vec::new();
    for day in window.days() {
        if live == Some(day) {
            out.push(compute_day(conn, tenant, day).await?);
        } else {
            out.push(stored.remove(&day).unwrap_or_else(|| DayStats::empty(day)));
        }
    }
    Ok(out)
}

/// Every tenant's id, oldest tenant first. A platform path: call it inside
/// [`crate::platform::in_platform_tx`] (on the runtime role it would see no tenant).
pub async fn tenant_ids(conn: &mut AsyncPgConnection) -> DbResult<Vec<TenantId>> {
    let ids: Vec<Uuid> =
        tenants::table.order((tenants::created_at.asc(), tenants::id.asc())).select(tenants::id).load(conn).await?;
    Ok(ids.into_iter().map(TenantId::from_uuid).collect())
}

/// Whether `tenant` exists. A platform path, like [`tenant_ids`].
pub async fn tenant_exists(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<bool> {
    let found: Option<Uuid> =
        tenants::table.filter(tenants::id.eq(tenant.as_uuid())).select(tenants::id).first(conn).await.optional()?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn windows_end_today_and_cover_whole_utc_days() {
        let window = Window::last_days(date("2026-03-01"), 3).unwrap();
        assert_eq!(window, Window { from: date("2026-02-27"), to: date("2026-03-01") });
        assert_eq!(window.start().to_rfc3339(), "2026-02-27T00:00:00+00:00");
        assert_eq!(window.end().to_rfc3339(), "2026-03-02T00:00:00+00:00");
        assert_eq!(window.days().count(), 3);
        let one = Window::last_days(date("2026-03-01"), 1).unwrap();
        assert_eq!(one.days().collect::<Vec<_>>(), [date("2026-03-01")]);
    }

    #[test]
    fn windows_are_one_to_366_days() {
        assert!(Window::last_days(date("2026-03-01"), 0).is_err());
        assert!(Window::last_days(date("2026-03-01"), MAX_WINDOW_DAYS + 1).is_err());
        assert_eq!(Window::last_days(date("2026-03-01"), MAX_WINDOW_DAYS).unwrap().days().count(), 366);
    }
}
