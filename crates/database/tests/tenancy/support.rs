//! Fixtures shared by the tenancy tests.

use base64::Engine as _;
use diesel::QueryableByName;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::BoxFuture;
use meta_chat_database::DbResult;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_shared::Secret;
use meta_chat_shared::config::SecretsConfig;
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::secrets::Keyring;
use uuid::Uuid;

/// A keyring with one fixed test key.
pub fn keyring() -> Keyring {
    let key = base64::engine::general_purpose::STANDARD.encode([42_u8; 32]);
    let config =
        SecretsConfig { current_key_id: "test1".into(), keys: [("test1".to_owned(), Secret::new(key))].into() };
    Keyring::from_config(&config).expect("test keyring")
}

/// Runs `f` as the runtime role inside a tenant transaction and returns the database's verdict.
pub async fn as_tenant<R, F>(app: &mut AsyncPgConnection, tenant: TenantId, f: F) -> DbResult<R>
where
    R: Send,
    F: for<'r> FnOnce(&'r mut AsyncPgConnection) -> BoxFuture<'r, DbResult<R>> + Send,
{
    in_tenant_tx(app, tenant, f).await
}

#[derive(QueryableByName)]
struct TextValue {
    #[diesel(sql_type = Text)]
    value: String,
}

/// One text value of the row with `id` in `table`, read as the owner (row-level security bypassed):
/// `expression` is SQL over that row, for example `secrets::text`.
pub async fn owner_read(owner: &mut AsyncPgConnection, table: &str, expression: &str, id: Uuid) -> String {
    diesel::sql_query(format!("SELECT ({expression})::text AS value FROM {table} WHERE id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result::<TextValue>(owner)
        .await
        .expect("owner read")
        .value
}
