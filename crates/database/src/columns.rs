//! Typed reads of plain columns into the shared crate's types, for `#[diesel(deserialize_as = …)]` on row
//! structs: text into a domain enum, `text[]` into a list of them, nullable uuid into an optional id. The orphan
//! rule forbids implementing diesel's traits on the shared types themselves; these wrappers are the way round.
//! A stored value that does not parse (impossible while the CHECK constraints hold) is a deserialization error.

use std::str::FromStr;

use diesel::Queryable;
use diesel::deserialize;
use diesel::pg::Pg;
use diesel::sql_types::{Array, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

/// A text column parsed with `FromStr` (a domain enum).
pub struct Parsed<T>(T);

impl<T> Queryable<Text, Pg> for Parsed<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    type Row = String;
    fn build(row: String) -> deserialize::Result<Self> {
        Ok(Self(row.parse()?))
    }
}

/// A `text[]` column whose elements all parse with `FromStr`; a NULL element is an error.
pub struct ParsedList<T>(Vec<T>);

impl<T> Queryable<Array<Nullable<Text>>, Pg> for ParsedList<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    type Row = Vec<Option<String>>;
    fn build(row: Vec<Option<String>>) -> deserialize::Result<Self> {
        row.into_iter()
            .map(|item| Ok(item.ok_or("unexpected NULL array element")?.parse::<T>()?))
            .collect::<deserialize::Result<Vec<T>>>()
            .map(Self)
    }
}

/// A nullable uuid column as an optional typed id.
pub struct MaybeId<T>(Option<T>);

impl<T: From<Uuid>> Queryable<Nullable<SqlUuid>, Pg> for MaybeId<T> {
    type Row = Option<Uuid>;
    fn build(row: Option<Uuid>) -> deserialize::Result<Self> {
        Ok(Self(row.map(T::from)))
    }
}

macro_rules! unwrap_into {
    (Parsed: $($t:ty),+) => {$(
        impl From<Parsed<$t>> for $t {
            fn from(value: Parsed<$t>) -> Self {
                value.0
            }
        }
    )+};
    (ParsedList: $($t:ty),+) => {$(
        impl From<ParsedList<$t>> for Vec<$t> {
            fn from(value: ParsedList<$t>) -> Self {
                value.0
            }
        }
    )+};
    (MaybeId: $($t:ty),+) => {$(
        impl From<MaybeId<$t>> for Option<$t> {
            fn from(value: MaybeId<$t>) -> Self {
                value.0
            }
        }
    )+};
}

unwrap_into!(Parsed: meta_chat_shared::ChannelType);
unwrap_into!(ParsedList: meta_chat_shared::api_keys::ApiScope);
unwrap_into!(MaybeId: meta_chat_shared::ids::UserId);
