//! Helpers shared by the accounts tests.

use chrono::{Duration, Utc};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use meta_chat_database::DbResult;
use meta_chat_database::audit::RequestOrigin;
use meta_chat_database::signup::{self, NewSignup, SignedUp};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.expect("connect")
}

/// `SELECT count(*) AS n ...` through `conn`.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).await.expect(sql).n
}

pub const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

/// Signs up `company` with owner `email`; the verification token hash is derived from the email.
pub async fn sign_up(conn: &mut AsyncPgConnection, company: &str, email: &str) -> DbResult<SignedUp> {
    let mut token_hash = [0_u8; 32];
    for (i, b) in email.bytes().enumerate() {
        token_hash[i % 32] ^= b.wrapping_add(u8::try_from(i % 251).unwrap());
    }
    token_hash[31] = u8::try_from(email.len() % 256).unwrap();
    signup::signup(
        conn,
        &NewSignup {
            company_name: company,
            email,
            name: "Owner",
            password_hash: HASH,
            verification_token_hash: &token_hash,
            verification_expires_at: Utc::now() + Duration::hours(48),
            origin: &RequestOrigin::default(),
        },
    )
    .await
}
