//! Response bodies of the analytics routes, built from the database's day rows and totals.

use chrono::{DateTime, NaiveDate, Utc};
use meta_chat_database::analytics::{DayStats, TopQuestion, Totals, UnansweredQuestion, Window, hit_rate};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Millionths of a dollar as dollars.
#[expect(clippy::cast_precision_loss, reason = "amounts far below 2^52 micro-dollars")]
fn usd(micro: i64) -> f64 {
    micro as f64 / 1_000_000.0
}

/// Activity of one UTC day, or the window's sums.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityDto {
    /// Conversations started.
    pub conversations_started: i64,
    /// Messages from contacts.
    pub messages_inbound: i64,
    /// Messages to contacts (assistant, agents, platform notices).
    pub messages_outbound: i64,
    /// Distinct contacts who wrote (for the window: distinct over the whole window).
    pub active_contacts: i64,
    /// Messages the assistant answered.
    pub ai_replies: i64,
    /// Messages handed to a human.
    pub handoffs: i64,
    /// Outbound messages that failed.
    pub errors: i64,
    /// Prompt tokens (0 until the pipeline records model usage).
    pub prompt_tokens: i64,
    /// Completion tokens (0 until the pipeline records model usage).
    pub completion_tokens: i64,
    /// Model cost in US dollars (0 until the pipeline records model usage).
    pub cost_usd: f64,
}

/// One day of the overview.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverviewDay {
    /// The UTC day.
    pub day: NaiveDate,
    /// Its activity.
    #[serde(flatten)]
    pub activity: ActivityDto,
}

impl From<&DayStats> for OverviewDay {
    fn from(day: &DayStats) -> Self {
        Self {
            day: day.day,
            activity: ActivityDto {
                conversations_started: day.conversations_started.into(),
                messages_inbound: day.messages_inbound.into(),
                messages_outbound: day.messages_outbound.into(),
                active_contacts: day.active_contacts.into(),
                ai_replies: day.ai_replies.into(),
                handoffs: day.handoffs.into(),
                errors: day.errors.into(),
                prompt_tokens: day.prompt_tokens,
                completion_tokens: day.completion_tokens,
                cost_usd: usd(day.cost_micro_usd),
            },
        }
    }
}

/// `GET /analytics/overview`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverviewResponse {
    /// First day of the window (UTC).
    pub from: NaiveDate,
    /// Last day of the window: today, computed live.
    pub to: NaiveDate,
    /// Days in the window.
    pub days: u32,
    /// The window's sums.
    pub totals: ActivityDto,
    /// Every day of the window, oldest first; days nobody aggregated read as zeros.
    pub series: Vec<OverviewDay>,
    /// When the answer was computed.
    pub generated_at: DateTime<Utc>,
}

impl OverviewResponse {
    /// The overview of `window` from its days and its distinct active contacts.
    pub fn new(window: Window, days: u32, series: &[DayStats], active_contacts: i64) -> Self {
        let totals = Totals::of(series);
        Self {
            from: window.from,
            to: window.to,
            days,
            totals: ActivityDto {
                conversations_started: totals.conversations_started,
                messages_inbound: totals.messages_inbound,
                messages_outbound: totals.messages_outbound,
                active_contacts,
                ai_replies: totals.ai_replies,
                handoffs: totals.handoffs,
                errors: totals.errors,
                prompt_tokens: totals.prompt_tokens,
                completion_tokens: totals.completion_tokens,
                cost_usd: usd(totals.cost_micro_usd),
            },
            series: series.iter().map(OverviewDay::from).collect(),
            generated_at: Utc::now(),
        }
    }
}

/// Retrieval of one day.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RagDay {
    /// The UTC day.
    pub day: NaiveDate,
    /// Retrievals run.
    pub retrievals: i64,
    /// Retrievals that found no context.
    pub without_context: i64,
    /// Share of retrievals that found context, 0–1; `null` without retrievals.
    pub hit_rate: Option<f64>,
}

/// `GET /analytics/rag`. Retrieval is not recorded by the pipeline yet: until it is, every count is 0 and
/// every hit rate `null`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RagResponse {
    /// First day of the window (UTC).
    pub from: NaiveDate,
    /// Last day of the window: today, computed live.
    pub to: NaiveDate,
    /// Days in the window.
    pub days: u32,
    /// Retrievals in the window.
    pub retrievals: i64,
    /// Retrievals without context in the window.
    pub without_context: i64,
    /// The window's hit rate, 0–1; `null` without retrievals.
    pub hit_rate: Option<f64>,
    /// Every day of the window, oldest first.
    pub series: Vec<RagDay>,
}

impl RagResponse {
    /// Retrieval of `window` from its days.
    pub fn new(window: Window, days: u32, series: &[DayStats]) -> Self {
        let totals = Totals::of(series);
        Self {
            from: window.from,
            to: window.to,
            days,
            retrievals: totals.rag_queries,
            without_context: totals.rag_empty,
            hit_rate: totals.hit_rate(),
            series: series
                .iter()
                .map(|day| RagDay {
                    day: day.day,
                    retrievals: day.rag_queries.into(),
                    without_context: day.rag_empty.into(),
                    hit_rate: hit_rate(day.rag_queries.into(), day.rag_empty.into()),
                })
                .collect(),
        }
    }
}

/// Response times of one day.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseTimesDay {
    /// The UTC day.
    pub day: NaiveDate,
    /// AI replies measured.
    pub ai_replies: i64,
    /// Average, milliseconds; `null` without AI replies.
    pub avg_ms: Option<i64>,
    /// 95th percentile (an observed value), milliseconds; `null` without AI replies.
    pub p95_ms: Option<i64>,
}

/// `GET /analytics/response-times`: from each inbound message to the assistant's reply decided for it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseTimesResponse {
    /// First day of the window (UTC).
    pub from: NaiveDate,
    /// Last day of the window: today, computed live.
    pub to: NaiveDate,
    /// Days in the window.
    pub days: u32,
    /// AI replies measured in the window.
    pub ai_replies: i64,
    /// Average over every AI reply of the window, milliseconds; `null` without AI replies.
    pub avg_ms: Option<i64>,
    /// The highest daily 95th percentile of the window (daily percentiles cannot be combined into the
    /// window's), milliseconds; `null` without AI replies.
    pub worst_day_p95_ms: Option<i64>,
    /// Every day of the window, oldest first.
    pub series: Vec<ResponseTimesDay>,
}

impl ResponseTimesResponse {
    /// Response times of `window` from its days.
    pub fn new(window: Window, days: u32, series: &[DayStats]) -> Self {
        let totals = Totals::of(series);
        Self {
            from: window.from,
            to: window.to,
            days,
            ai_replies: totals.ai_replies,
            avg_ms: totals.avg_response_ms,
            worst_day_p95_ms: totals.worst_day_p95_ms.map(i64::from),
            series: series
                .iter()
                .map(|day| ResponseTimesDay {
                    day: day.day,
                    ai_replies: day.ai_replies.into(),
                    avg_ms: day.avg_first_response_ms.map(i64::from),
                    p95_ms: day.p95_first_response_ms.map(i64::from),
                })
                .collect(),
        }
    }
}

/// A frequent question.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopQuestionDto {
    /// The normalised text: lower case, single spaces, no trailing `?`, `!` or `.`, at most 300 characters.
    pub question: String,
    /// How often it was asked in the window.
    pub count: i64,
    /// When it was last asked.
    pub last_asked_at: DateTime<Utc>,
}

impl From<TopQuestion> for TopQuestionDto {
    fn from(question: TopQuestion) -> Self {
        Self { question: question.question, count: question.asked, last_asked_at: question.last_asked_at }
    }
}

/// `GET /analytics/top-questions`: most asked first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopQuestionList {
    /// At most `limit` questions.
    pub data: Vec<TopQuestionDto>,
    /// Always `null`: the list is the top `limit`.
    pub next_cursor: Option<String>,
}

/// A question the assistant did not answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnansweredDto {
    /// The inbound message.
    pub message_id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// What the contact wrote; `null` for media without a caption.
    pub question: Option<String>,
    /// When it arrived.
    pub asked_at: DateTime<Utc>,
    /// Why it is listed: `handoff` (a human took over).
    pub reason: String,
}

impl From<UnansweredQuestion> for UnansweredDto {
    fn from(question: UnansweredQuestion) -> Self {
        Self {
            message_id: question.message_id,
            conversation_id: question.conversation_id,
            question: question.text,
            asked_at: question.asked_at,
            reason: question.reason,
        }
    }
}

/// `GET /analytics/unanswered`: newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnansweredList {
    /// At most `limit` questions.
    pub data: Vec<UnansweredDto>,
    /// Always `null`: the list is the newest `limit`.
    pub next_cursor: Option<String>,
}
