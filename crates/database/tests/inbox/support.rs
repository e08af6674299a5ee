//! Fixtures for the inbox tests.

use diesel_async::AsyncPgConnection;
use meta_chat_database::testkit::seed::{self, Seeded};
use meta_chat_database::{DbError, tenant::in_tenant_tx};
use meta_chat_shared::ids::TenantId;
use uuid::Uuid;

/// A second contact with its own conversation in `seeded`'s tenant and channel; returns (contact, conversation).
pub async fn another_contact(
    owner: &mut AsyncPgConnection,
    seeded: &Seeded,
    external_id: &str,
    name: &str,
) -> (Uuid, Uuid) {
    let (contact, conversation) = (Uuid::now_v7(), Uuid::now_v7());
    seed::exec(
        owner,
        &format!(
            "INSERT INTO contacts (tenant_id, id, channel_id, external_id, display_name) \
             VALUES ('{}', '{contact}', '{}', '{external_id}', '{name}')",
            seeded.tenant, seeded.channel
        ),
    )
    .await;
    seed::exec(
        owner,
        &format!(
            "INSERT INTO conversations (tenant_id, id, channel_id, contact_id, last_message_at) \
             VALUES ('{}', '{conversation}', '{}', '{contact}', now() - interval '1 hour')",
            seeded.tenant, seeded.channel
        ),
    )
    .await;
    (contact, conversation)
}

/// Runs `f` as the runtime role inside a tenant transaction.
pub async fn as_tenant<R, F>(app: &mut AsyncPgConnection, tenant: Uuid, f: F) -> R
where
    R: Send,
    F: for<'r> FnOnce(&'r mut AsyncPgConnection) -> futures_util::future::BoxFuture<'r, Result<R, DbError>> + Send,
{
    in_tenant_tx(app, TenantId::from_uuid(tenant), f).await.expect("tenant transaction")
}
