//! Typed reads of this module's columns for `#[diesel(deserialize_as = …)]`: `text[]` event lists and the
//! delivery status. `pub` inside a private module, as row structs of a public module need them.

use diesel::deserialize;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};

use super::deliveries::DeliveryStatus;

/// A `text[]` column read as a list of strings; a NULL element (impossible under the CHECK) is an error.
pub struct TextList(Vec<String>);

impl Queryable<Array<Nullable<Text>>, Pg> for TextList {
    type Row = Vec<Option<String>>;
    fn build(row: Vec<Option<String>>) -> deserialize::Result<Self> {
        row.into_iter()
            .map(|item| item.ok_or_else(|| "unexpected NULL array element".into()))
            .collect::<deserialize::Result<Vec<String>>>()
            .map(Self)
    }
}

impl From<TextList> for Vec<String> {
    fn from(list: TextList) -> Self {
        list.0
    }
}

/// The `status` column of `webhook_deliveries`.
pub struct StatusText(DeliveryStatus);

impl Queryable<Text, Pg> for StatusText {
    type Row = String;
    fn build(row: String) -> deserialize::Result<Self> {
        match row.as_str() {
            "pending" => Ok(Self(DeliveryStatus::Pending)),
            "delivered" => Ok(Self(DeliveryStatus::Delivered)),
            "failed" => Ok(Self(DeliveryStatus::Failed)),
            other => Err(format!("unknown webhook delivery status `{other}`").into()),
        }
    }
}

impl From<StatusText> for DeliveryStatus {
    fn from(status: StatusText) -> Self {
        status.0
    }
}
