//! The only inputs partition DDL is ever built from: a fixed allowlist of tables and a validated month.
//! Both are constructed only through checked constructors, so a value of either type is proof that it
//! produces a safe identifier and a safe date literal.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike as _, NaiveDate};
use serde::Serialize;

use crate::error::{DbError, DbResult};

/// A range-partitioned table (monthly, by `created_at`, with a DEFAULT partition). The only tables the
/// partition manager ever touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionedTable {
    /// `messages`: kept forever, partitions are only ever created.
    Messages,
    /// `api_logs`: partitions older than the retention are detached and dropped.
    ApiLogs,
}

impl PartitionedTable {
    /// Every partitioned table.
    pub const ALL: [Self; 2] = [Self::Messages, Self::ApiLogs];

    /// The parent table's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::ApiLogs => "api_logs",
        }
    }

    /// The DEFAULT partition's name (`<table>_default`), created by the migrations.
    pub const fn default_partition(self) -> &'static str {
        match self {
            Self::Messages => "messages_default",
            Self::ApiLogs => "api_logs_default",
        }
    }

    /// The name of the partition holding `month`: `<table>_pYYYYMM`.
    pub fn partition_name(self, month: Month) -> String {
        format!("{}_p{:04}{:02}", self.name(), month.year, month.month)
    }

    /// The month of a partition named by [`Self::partition_name`]; `None` for any other name (the DEFAULT
    /// partition, or a partition somebody created by hand).
    pub fn month_of_partition(self, partition: &str) -> Option<Month> {
        let digits = partition.strip_prefix(self.name())?.strip_prefix("_p")?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year = digits[..4].parse().ok()?;
        let month = digits[4..].parse().ok()?;
        Month::new(year, month).ok()
    }
}

impl fmt::Display for PartitionedTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PartitionedTable {
    type Err = DbError;

    /// Accepts exactly `messages` or `api_logs`: no case folding, trimming or quoting.
    fn from_str(s: &str) -> DbResult<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| {
            // the refused text is not echoed: it may be anything a caller typed
            DbError::InvalidInput("unknown partitioned table (expected `messages` or `api_logs`)".into())
        })
    }
}

/// A calendar month in 2000..=2999, the range partition names and date literals are built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    // field order gives chronological `Ord`
    year: u16,
    month: u8,
}

impl Month {
    /// Earliest year accepted.
    pub const MIN_YEAR: i32 = 2000;
    /// Latest year accepted.
    pub const MAX_YEAR: i32 = 2999;

    /// Validates a year (2000..=2999) and month (1..=12); anything else is [`DbError::InvalidInput`].
    pub fn new(year: i32, month: u32) -> DbResult<Self> {
        if !(Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year) {
            return Err(DbError::InvalidInput(format!("year {year} outside {}..={}", Self::MIN_YEAR, Self::MAX_YEAR)));
        }
        if !(1..=12).contains(&month) {
            return Err(DbError::InvalidInput(format!("month {month} outside 1..=12")));
        }
        let year = u16::try_from(year).map_err(|_| DbError::InvalidInput(format!("year {year}")))?;
        let month = u8::try_from(month).map_err(|_| DbError::InvalidInput(format!("month {month}")))?;
        Ok(Self { year, month })
    }

    /// The month containing `date`; an error outside 2000..=2999.
    pub fn containing(date: NaiveDate) -> DbResult<Self> {
        Self::new(date.year(), date.month())
    }

    /// The year.
    pub fn year(self) -> i32 {
        i32::from(self.year)
    }

    /// The month, 1..=12.
    pub fn month(self) -> u32 {
        u32::from(self.month)
    }

    /// The month `delta` months later (earlier when negative); an error when that leaves 2000..=2999.
    pub fn plus(self, delta: i64) -> DbResult<Self> {
        let (year, month) = from_index(self.index().saturating_add(delta));
        let year = i32::try_from(year).map_err(|_| DbError::InvalidInput("month offset out of range".into()))?;
        Self::new(year, month)
    }

    /// Number of months from `self` to `later` (negative when `later` is earlier).
    pub fn months_until(self, later: Self) -> i64 {
        later.index() - self.index()
    }

    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        // valid by construction: year 2000..=2999, month 1..=12, day 1
        NaiveDate::from_ymd_opt(self.year(), self.month(), 1).unwrap_or(NaiveDate::MIN)
    }

    /// The inclusive lower bound as a `timestamptz` literal body, always UTC: `2026-11-01 00:00:00+00`.
    /// Writing the offset makes the bound independent of the session's `TimeZone`.
    pub(crate) fn start_bound(self) -> String {
        bound(self.index())
    }

    /// The exclusive upper bound (the next month's first instant, UTC); 2999-12 ends at 3000-01-01.
    pub(crate) fn end_bound(self) -> String {
        bound(self.index() + 1)
    }

    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// (year, month 1..=12) of a month index `year * 12 + month - 1`.
fn from_index(index: i64) -> (i64, u32) {
    let month = u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1;
    (index.div_euclid(12), month)
}

fn bound(index: i64) -> String {
    let (year, month) = from_index(index);
    format!("{year:04}-{month:02}-01 00:00:00+00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_years_2000_to_2999_and_months_1_to_12() {
        assert!(Month::new(2000, 1).is_ok());
        assert!(Month::new(2999, 12).is_ok());
        for (year, month) in [(1999, 12), (3000, 1), (9999, 1), (-1, 1), (2026, 0), (2026, 13), (2026, u32::MAX)] {
            assert!(matches!(Month::new(year, month), Err(DbError::InvalidInput(_))), "{year}-{month}");
        }
    }

    #[test]
    fn parses_table_names_strictly() {
        assert_eq!("messages".parse::<PartitionedTable>().unwrap(), PartitionedTable::Messages);
        assert_eq!("api_logs".parse::<PartitionedTable>().unwrap(), PartitionedTable::ApiLogs);
        for bad in [
            "",
            "Messages",
            " messages",
            "messages ",
            "\"messages\"",
            "messages;",
            "messages; DROP TABLE tenants",
            "api_logs'--",
            "public.messages",
            "messages_default",
            "tenants",
        ] {
            assert!(matches!(bad.parse::<PartitionedTable>(), Err(DbError::InvalidInput(_))), "{bad:?}");
        }
    }

    #[test]
    fn names_partitions_with_zero_padded_year_and_month() {
        let month = Month::new(2026, 3).unwrap();
        assert_eq!(PartitionedTable::Messages.partition_name(month), "messages_p202603");
        assert_eq!(PartitionedTable::ApiLogs.partition_name(month), "api_logs_p202603");
        assert_eq!(PartitionedTable::ApiLogs.month_of_partition("api_logs_p202603"), Some(month));
        assert_eq!(PartitionedTable::Messages.month_of_partition("api_logs_p202603"), None);
        assert_eq!(PartitionedTable::Messages.month_of_partition("messages_default"), None);
        assert_eq!(PartitionedTable::Messages.month_of_partition("messages_p202613"), None);
        assert_eq!(PartitionedTable::Messages.month_of_partition("messages_p20260"), None);
        assert_eq!(PartitionedTable::Messages.month_of_partition("messages_p2026031"), None);
    }

    #[test]
    fn steps_across_year_boundaries_and_refuses_to_leave_the_range() {
        let nov = Month::new(2026, 11).unwrap();
        assert_eq!(nov.plus(2).unwrap(), Month::new(2027, 1).unwrap());
        assert_eq!(nov.plus(-11).unwrap(), Month::new(2025, 12).unwrap());
        assert_eq!(nov.months_until(Month::new(2027, 2).unwrap()), 3);
        assert!(Month::new(2999, 12).unwrap().plus(1).is_err());
        assert!(Month::new(2000, 1).unwrap().plus(-1).is_err());
        assert!(nov.plus(i64::MAX).is_err());
        assert!(nov.plus(i64::MIN).is_err());
    }

    #[test]
    fn bounds_are_utc_literals_and_the_last_month_ends_in_3000() {
        let dec = Month::new(2026, 12).unwrap();
        assert_eq!(dec.start_bound(), "2026-12-01 00:00:00+00");
        assert_eq!(dec.end_bound(), "2027-01-01 00:00:00+00");
        assert_eq!(Month::new(2999, 12).unwrap().end_bound(), "3000-01-01 00:00:00+00");
        assert_eq!(dec.first_day(), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!(dec.to_string(), "2026-12");
    }
}
