//! Inbound media kept by the platform (`media_blobs`): one file per message, written once (a redelivered
//! download stores nothing new), read back for agents and exports. Runs in tenant transactions.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::TenantId;
use uuid::Uuid;

use crate::error::{DbError, DbResult};
use crate::schema::media_blobs;

/// A file to store for a message.
#[derive(Debug, Clone)]
pub struct NewMedia<'a> {
    /// The message's conversation (erasing it erases the file).
    pub conversation_id: Uuid,
    /// The message it belongs to.
    pub message_id: Uuid,
    /// The message's creation time (its partition key).
    pub message_created_at: DateTime<Utc>,
    /// Content type, e.g. `image/jpeg`.
    pub mime_type: &'a str,
    /// SHA-256 of `data`.
    pub sha256: &'a [u8],
    /// The bytes.
    pub data: &'a [u8],
}

/// A stored file.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = media_blobs, check_for_backend(diesel::pg::Pg))]
pub struct Media {
    /// Id.
    pub id: Uuid,
    /// The message it belongs to.
    pub message_id: Uuid,
    /// Content type.
    pub mime_type: String,
    /// Size in bytes.
    pub size_bytes: i32,
    /// SHA-256 of the bytes.
    pub sha256: Vec<u8>,
    /// The bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("id", &self.id)
            .field("message_id", &self.message_id)
            .field("mime_type", &self.mime_type)
            .field("size_bytes", &self.size_bytes)
            .finish_non_exhaustive()
    }
}

/// Stores `new` and returns its id; the id already stored when the message has a file.
pub async fn store(conn: &mut AsyncPgConnection, tenant: TenantId, new: &NewMedia<'_>) -> DbResult<Uuid> {
    let size = i32::try_from(new.data.len()).map_err(|_| DbError::InvalidInput("media larger than 2 GiB".into()))?;
    let inserted: Option<Uuid> = diesel::insert_into(media_blobs::table)
        .values((
            media_blobs::tenant_id.eq(tenant.as_uuid()),
            media_blobs::id.eq(Uuid::now_v7()),
            media_blobs::conversation_id.eq(new.conversation_id),
            media_blobs::message_id.eq(new.message_id),
            media_blobs::message_created_at.eq(new.message_created_at),
            media_blobs::mime_type.eq(new.mime_type),
            media_blobs::size_bytes.eq(size),
            media_blobs::sha256.eq(new.sha256),
            media_blobs::data.eq(new.data),
        ))
        .on_conflict(media_blobs::message_id)
        .do_nothing()
        .returning(media_blobs::id)
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(id) => Ok(id),
        None => Ok(media_blobs::table
            .filter(media_blobs::tenant_id.eq(tenant.as_uuid()).and(media_blobs::message_id.eq(new.message_id)))
            .select(media_blobs::id)
            .first(conn)
            .await?),
    }
}

/// The file of message `message_id`, if one was stored.
pub async fn for_message(conn: &mut AsyncPgConnection, tenant: TenantId, message_id: Uuid) -> DbResult<Option<Media>> {
    Ok(media_blobs::table
        .filter(media_blobs::tenant_id.eq(tenant.as_uuid()).and(media_blobs::message_id.eq(message_id)))
        .select(Media::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Merges `fields` into the message's `payload` (e.g. `{"blobId": …}`); the caller holds the message id.
pub async fn annotate_message(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    message_id: Uuid,
    fields: &serde_json::Value,
) -> DbResult<()> {
    use crate::schema::messages;
    diesel::update(messages::table)
        .filter(messages::tenant_id.eq(tenant.as_uuid()).and(messages::id.eq(message_id)))
        .set(messages::payload.eq(
            diesel::dsl::sql::<diesel::sql_types::Jsonb>("payload || ").bind::<diesel::sql_types::Jsonb, _>(fields),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
