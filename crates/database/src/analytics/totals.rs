//! A window's totals, added up from its days.

use super::DayStats;

/// The sums of a window's days, and the response times and retrieval hit rate derived from them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Conversations created.
    pub conversations_started: i64,
    /// Inbound messages.
    pub messages_inbound: i64,
    /// Outbound messages.
    pub messages_outbound: i64,
    /// AI replies.
    pub ai_replies: i64,
    /// Hand-offs.
    pub handoffs: i64,
    /// Failed outbound messages.
    pub errors: i64,
    /// Retrievals run.
    pub rag_queries: i64,
    /// Retrievals without context.
    pub rag_empty: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Model cost, millionths of a US dollar.
    pub cost_micro_usd: i64,
    /// Average response time over every AI reply of the window (each day's average weighted by its AI
    /// replies), milliseconds; `None` without AI replies.
    pub avg_response_ms: Option<i64>,
    /// The highest daily 95th percentile: percentiles of days cannot be combined into the window's, so the
    /// window reports its worst day. `None` without AI replies.
    pub worst_day_p95_ms: Option<i32>,
}

impl Totals {
    /// Adds up `days`.
    #[must_use]
    pub fn of(days: &[DayStats]) -> Self {
        let mut totals = Self::default();
        let mut weighted_ms: i64 = 0;
        for day in days {
            totals.conversations_started += i64::from(day.conversations_started);
            totals.messages_inbound += i64::from(day.messages_inbound);
            totals.messages_outbound += i64::from(day.messages_outbound);
            totals.ai_replies += i64::from(day.ai_replies);
            totals.handoffs += i64::from(day.handoffs);
            totals.errors += i64::from(day.errors);
            totals.rag_queries += i64::from(day.rag_queries);
            totals.rag_empty += i64::from(day.rag_empty);
            totals.prompt_tokens += day.prompt_tokens;
            totals.completion_tokens += day.completion_tokens;
            totals.cost_micro_usd += day.cost_micro_usd;
            if let Some(avg) = day.avg_first_response_ms {
                weighted_ms += i64::from(avg) * i64::from(day.ai_replies);
            }
            totals.worst_day_p95_ms = totals.worst_day_p95_ms.max(day.p95_first_response_ms);
        }
        if totals.ai_replies > 0 {
            // rounded half up, like the daily averages
            totals.avg_response_ms = Some((2 * weighted_ms + totals.ai_replies) / (2 * totals.ai_replies));
        }
        totals
    }

    /// Share of retrievals that found context (0–1); `None` without retrievals.
    #[must_use]
    pub fn hit_rate(&self) -> Option<f64> {
        hit_rate(self.rag_queries, self.rag_empty)
    }
}

/// Share of `queries` that found context (0–1); `None` when `queries` is 0.
#[must_use]
#[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
pub fn hit_rate(queries: i64, empty: i64) -> Option<f64> {
    (queries > 0).then(|| (queries - empty) as f64 / queries as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32, ai_replies: i32, avg: Option<i32>, p95: Option<i32>) -> DayStats {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        DayStats {
            ai_replies,
            messages_inbound: ai_replies + 1,
            avg_first_response_ms: avg,
            p95_first_response_ms: p95,
            ..DayStats::empty(date)
        }
    }

    #[test]
    fn averages_are_weighted_by_replies_and_the_worst_p95_wins() {
        let totals =
            Totals::of(&[day(1, 3, Some(1000), Some(3000)), day(2, 0, None, None), day(3, 1, Some(5000), Some(5000))]);
        assert_eq!(totals.ai_replies, 4);
        assert_eq!(totals.messages_inbound, 7);
        assert_eq!(totals.avg_response_ms, Some(2000));
        assert_eq!(totals.worst_day_p95_ms, Some(5000));
        let none = Totals::of(&[day(2, 0, None, None)]);
        assert_eq!((none.avg_response_ms, none.worst_day_p95_ms), (None, None));
    }

    #[test]
    fn hit_rate_is_undefined_without_retrievals() {
        assert_eq!(hit_rate(0, 0), None);
        assert_eq!(hit_rate(4, 1), Some(0.75));
    }
}
