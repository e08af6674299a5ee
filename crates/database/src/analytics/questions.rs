//! What contacts asked in a window, read from the messages themselves (nothing is pre-aggregated): the most
//! frequent questions, the questions the assistant did not answer, and how many contacts wrote. Each query
//! bounds `created_at` by the window, so only the window's partitions are read, and is limited.

use chrono::{DateTime, Utc};
use diesel::dsl::count;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::TenantId;
use uuid::Uuid;

use super::Window;
use crate::error::DbResult;
use crate::schema::{conversations, message_replies, messages};

/// Longest question text grouped and returned by [`top_questions`], in characters.
pub const QUESTION_MAX_CHARS: i32 = 300;

/// A question and how often it was asked.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct TopQuestion {
    /// The normalised text: lower case, runs of white space as one space, no trailing `?`, `!` or `.`, at
    /// most [`QUESTION_MAX_CHARS`] characters.
    #[diesel(sql_type = Text)]
    pub question: String,
    /// Inbound text messages with this normalised text.
    #[diesel(sql_type = BigInt)]
    pub asked: i64,
    /// When it was last asked.
    #[diesel(sql_type = Timestamptz)]
    pub last_asked_at: DateTime<Utc>,
}

/// The most frequent inbound text messages of `window` after normalisation (see [`TopQuestion::question`]),
/// most frequent first (ties alphabetically), at most `limit`.
pub async fn top_questions(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    window: Window,
    limit: i64,
) -> DbResult<Vec<TopQuestion>> {
    Ok(diesel::sql_query(
        "SELECT q.question, count(*) AS asked, max(q.created_at) AS last_asked_at FROM ( \
             SELECT left(btrim(regexp_replace(regexp_replace(lower(text), '\\s+', ' ', 'g'), '[\\s?!.]+$', '')), $4) \
                    AS question, created_at \
             FROM messages \
             WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 \
               AND direction = 'inbound' AND type = 'text' AND text IS NOT NULL \
         ) q WHERE q.question <> '' \
         GROUP BY q.question ORDER BY asked DESC, q.question ASC LIMIT $5",
    )
    .bind::<SqlUuid, _>(tenant.as_uuid())
    .bind::<Timestamptz, _>(window.start())
    .bind::<Timestamptz, _>(window.end())
    .bind::<diesel::sql_types::Integer, _>(QUESTION_MAX_CHARS)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// An inbound message the assistant did not answer.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct UnansweredQuestion {
    /// The inbound message.
    pub message_id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// What the contact wrote (`None` for media without a caption).
    pub text: Option<String>,
    /// When it arrived.
    pub asked_at: DateTime<Utc>,
    /// Why it counts: `handoff` (a human took over). Answers given without context and refusals join when
    /// the pipeline records them.
    pub reason: String,
}

/// Inbound messages of `window` whose decision was a hand-off: the tenant's knowledge gaps. Newest first,
/// at most `limit`.
pub async fn unanswered(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    window: Window,
    limit: i64,
) -> DbResult<Vec<UnansweredQuestion>> {
    Ok(messages::table
        .inner_join(
            message_replies::table.on(message_replies::tenant_id
                .eq(messages::tenant_id)
                .and(message_replies::inbound_message_id.eq(messages::id))),
        )
        .filter(messages::tenant_id.eq(tenant.as_uuid()))
        .filter(messages::created_at.ge(window.start()).and(messages::created_at.lt(window.end())))
        .filter(messages::direction.eq("inbound"))
        .filter(message_replies::outcome.eq("handoff"))
        .order((messages::created_at.desc(), messages::id.desc()))
        .limit(limit)
        .select((
            messages::id,
            messages::conversation_id,
            messages::text,
            messages::created_at,
            message_replies::outcome,
        ))
        .load(conn)
        .await?)
}

/// Distinct contacts with an inbound message in `window` (the days' `active_contacts` cannot be added up:
/// a contact who wrote on two days is one contact).
pub async fn active_contacts(conn: &mut AsyncPgConnection, tenant: TenantId, window: Window) -> DbResult<i64> {
    Ok(messages::table
        .inner_join(
            conversations::table.on(conversations::tenant_id
                .eq(messages::tenant_id)
                .and(conversations::id.eq(messages::conversation_id))),
        )
        .filter(messages::tenant_id.eq(tenant.as_uuid()))
        .filter(messages::created_at.ge(window.start()).and(messages::created_at.lt(window.end())))
        .filter(messages::direction.eq("inbound"))
        .select(count(conversations::contact_id).aggregate_distinct())
        .get_result(conn)
        .await?)
}
