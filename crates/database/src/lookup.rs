//! The routing lookups of migration `000700`: SECURITY DEFINER functions that map a key known before the
//! tenant is (a login email, a token hash) to the tenant and row id, and nothing else. The caller then opens
//! [`crate::tenant::in_tenant_tx`] for that tenant and reads the row under row-level security.

use diesel::QueryableByName;
use diesel::sql_types::Uuid as SqlUuid;
use uuid::Uuid;

/// One `(tenant_id, row id)` answer of a lookup function.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub(crate) struct Routed {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) tenant_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(crate) row_id: Uuid,
}
