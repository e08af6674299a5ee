//! Tenant-scoped transactions. Row-level security policies compare `tenant_id` with
//! `app_current_tenant()`, which reads the transaction-local setting `app.tenant_id`. Every query of
//! the runtime role runs inside [`in_tenant_tx`]; outside it, tenant tables show no rows at all.

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::BoxFuture;
use meta_chat_shared::ids::TenantId;

/// Sets `app.tenant_id` for the rest of the current transaction (`set_config(…, true)`).
/// Outside a transaction it would last one statement only, so call it from [`in_tenant_tx`].
pub async fn set_tenant(conn: &mut AsyncPgConnection, tenant: TenantId) -> Result<(), diesel::result::Error> {
    diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
        .bind::<Text, _>(tenant.to_string())
        .execute(conn)
        .await
        .map(drop)
}

/// Runs `f` in a transaction in which row-level security sees only `tenant`'s rows. The setting is
/// transaction-local, so it can never leak to the next user of a pooled connection.
///
/// ```ignore
/// let n = in_tenant_tx(&mut conn, tenant, |conn| Box::pin(async move { count_rows(conn).await })).await?;
/// ```
pub async fn in_tenant_tx<R, E, F>(conn: &mut AsyncPgConnection, tenant: TenantId, f: F) -> Result<R, E>
where
    F: for<'r> FnOnce(&'r mut AsyncPgConnection) -> BoxFuture<'r, Result<R, E>> + Send,
    E: From<diesel::result::Error> + Send,
    R: Send,
{
    conn.transaction(async move |conn| {
        set_tenant(conn, tenant).await?;
        f(conn).await
    })
    .await
}
