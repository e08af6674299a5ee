//! UUIDv7 id newtypes. Each entity has its own type so a tenant id can never be passed where a
//! conversation id is expected; all serialize as a plain UUID string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a UUID was given where an id was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid id")]
pub struct ParseIdError(pub String);

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an existing UUID (from the database or a trusted source).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s).map(Self).map_err(|_| ParseIdError(s.chars().take(64).collect()))
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    )+};
}

id_type!(
    /// A tenant (one customer organisation).
    TenantId,
    /// A user of a tenant (owner, admin or agent).
    UserId,
    /// A platform administrator.
    AdminId,
    /// A refresh session.
    SessionId,
    /// An API key.
    ApiKeyId,
    /// A connected channel (a WhatsApp number, a Messenger page, a web chat widget).
    ChannelId,
    /// An end user reached through a channel.
    ContactId,
    /// A conversation between a contact and the tenant.
    ConversationId,
    /// A message in a conversation.
    MessageId,
    /// A knowledge-base document.
    DocumentId,
    /// A chunk of a document.
    ChunkId,
    /// An outbox event.
    EventId,
    /// A tenant's outbound webhook subscription.
    WebhookId,
    /// An integrity report.
    ReportId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_version_7_and_time_ordered() {
        let a = TenantId::new();
        let b = TenantId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn parses_and_displays_round_trip() {
        let id = ConversationId::new();
        let parsed: ConversationId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
    }

    #[test]
    fn rejects_garbage() {
        assert!("not-a-uuid".parse::<MessageId>().is_err());
        assert!(serde_json::from_str::<MessageId>("\"x\"").is_err());
    }
}
