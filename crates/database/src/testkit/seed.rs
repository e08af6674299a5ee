//! Minimal fixture rows for database-level tests, inserted with plain SQL through an owner connection
//! (which bypasses row-level security). API tests use the API itself instead.

use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Ids of a tenant with one WhatsApp channel, one contact and one active conversation.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    /// The tenant.
    pub tenant: Uuid,
    /// A user of the tenant (owner role).
    pub user: Uuid,
    /// A WhatsApp channel.
    pub channel: Uuid,
    /// A contact on that channel.
    pub contact: Uuid,
    /// An active conversation with the contact.
    pub conversation: Uuid,
}

/// Inserts a tenant named `slug` with a user, channel, contact and conversation.
pub async fn tenant_with_conversation(conn: &mut AsyncPgConnection, slug: &str) -> Seeded {
    let ids = Seeded {
        tenant: Uuid::now_v7(),
        user: Uuid::now_v7(),
        channel: Uuid::now_v7(),
        contact: Uuid::now_v7(),
        conversation: Uuid::now_v7(),
    };
    let statements = [
        "INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $2)",
        "INSERT INTO tenant_users (tenant_id, id, email, name, role, password_hash) \
         VALUES ($1, $3, $2 || '@example.com', $2, 'owner', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')",
        "INSERT INTO channels (tenant_id, id, type, name, external_id, config, secrets) \
         VALUES ($1, $4, 'whatsapp', $2, $2 || '-phone', \
                 '{\"phoneNumberId\": \"1\", \"businessAccountId\": \"2\"}', \
                 '{\"accessToken\": \"v1.k.a.b\", \"appSecret\": \"v1.k.a.b\", \"verifyToken\": \"v1.k.a.b\"}')",
        "INSERT INTO contacts (tenant_id, id, channel_id, external_id) VALUES ($1, $5, $4, $2 || '-contact')",
        "INSERT INTO conversations (tenant_id, id, channel_id, contact_id) VALUES ($1, $6, $4, $5)",
    ];
    for sql in statements {
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(ids.tenant)
            .bind::<Text, _>(slug)
            .bind::<SqlUuid, _>(ids.user)
            .bind::<SqlUuid, _>(ids.channel)
            .bind::<SqlUuid, _>(ids.contact)
            .bind::<SqlUuid, _>(ids.conversation)
            .execute(conn)
            .await
            .unwrap_or_else(|e| panic!("seed `{sql}`: {e}"));
    }
    ids
}

/// Inserts an inbound text message into `seeded`'s conversation and returns its id.
pub async fn inbound_message(conn: &mut AsyncPgConnection, seeded: &Seeded, created_at: &str) -> Uuid {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO messages (tenant_id, id, conversation_id, direction, sender, type, text, status, created_at) \
         VALUES ($1, $2, $3, 'inbound', 'contact', 'text', 'hello', 'received', $4::timestamptz)",
    )
    .bind::<SqlUuid, _>(seeded.tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(seeded.conversation)
    .bind::<Text, _>(created_at)
    .execute(conn)
    .await
    .unwrap_or_else(|e| panic!("seed message: {e}"));
    id
}

/// Opens a connection to `url` (one of [`super::TestDb`]'s URLs).
pub async fn connect(url: &str) -> AsyncPgConnection {
    use diesel_async::AsyncConnection as _;
    AsyncPgConnection::establish(url).await.unwrap_or_else(|e| panic!("connect: {e}"))
}

/// Executes one SQL statement (fixtures, seeding defects) and returns the affected row count.
pub async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> usize {
    diesel::sql_query(sql).execute(conn).await.unwrap_or_else(|e| panic!("`{sql}`: {e}"))
}

/// The `value` column of every row `sql` returns, as text: a query like
/// `SELECT token_hash::text AS value FROM email_tokens`. For assertions on stored data.
pub async fn texts(conn: &mut AsyncPgConnection, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        value: String,
    }
    let rows: Vec<Row> = diesel::sql_query(sql).load(conn).await.unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    rows.into_iter().map(|row| row.value).collect()
}

/// Runs `sql`, which may hold several statements (`BEGIN; …; COMMIT;`), as one simple-protocol batch.
pub async fn batch(conn: &mut AsyncPgConnection, sql: &str) {
    diesel_async::SimpleAsyncConnection::batch_execute(conn, sql).await.unwrap_or_else(|e| panic!("batch: {e}"));
}
