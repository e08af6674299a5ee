//! The seeded dataset and its hand-computed numbers.
//!
//! acme, around D = 2026-11-20 (UTC), conversation (contact) created at → its messages:
//! - A (c1) 2026-11-19 23:59:59 →
//!   m0 in 23:59:59.999 (D-1) "Hello", replied 00:00:00.999 (1000 ms), reply sent;
//!   m1 in 00:00:00.000 "What are your opening hours?", replied 00:00:02 (2000 ms), reply sent
//! - B (c2) 2026-11-20 00:00:00 (D) →
//!   m2 in 10:00:00 "what are your  opening hours", replied 10:00:01 (1000 ms), reply delivered;
//!   m3 in 10:05:00 "Talk to a person", handed off 10:05:00.5, notice sent; an agent's reply 10:10:00, failed
//! - C (c3) 2026-11-20 11:00:00 → m6 in 12:00:00 "Do you deliver?", silent
//! - F (c5) 2026-11-20 23:59:59.999 →
//!   m4 in 23:59:59.999 "WHAT ARE YOUR OPENING HOURS?!", replied 2026-11-21 00:00:03.999 (4000 ms), reply failed
//! - E (c4) 2026-11-21 00:00:00 (D+1) → m5 in 00:00:00 "Price?", no decision yet
//!
//! globex, on D: one conversation, two inbound "What are your opening hours?", the second handed off.

use chrono::NaiveDate;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_database::analytics::DayStats;
use meta_chat_database::testkit::seed::{self, Seeded};
use uuid::Uuid;

/// D.
pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).expect("date")
}

pub fn before() -> NaiveDate {
    day().pred_opt().expect("date")
}

pub fn after() -> NaiveDate {
    day().succ_opt().expect("date")
}

/// The ids the assertions need.
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    pub acme: Seeded,
    pub globex: Seeded,
    /// acme's conversation B, where the hand-off happened.
    pub conversation_b: Uuid,
    /// acme's handed-off message.
    pub handed_off: Uuid,
    /// globex's handed-off message.
    pub globex_handed_off: Uuid,
}

/// A new contact and a conversation with it created at `created_at`.
pub async fn conversation(owner: &mut AsyncPgConnection, seeded: &Seeded, created_at: &str) -> Uuid {
    let (contact, conversation) = (Uuid::now_v7(), Uuid::now_v7());
    diesel::sql_query("INSERT INTO contacts (tenant_id, id, channel_id, external_id) VALUES ($1, $2, $3, $2::text)")
        .bind::<SqlUuid, _>(seeded.tenant)
        .bind::<SqlUuid, _>(contact)
        .bind::<SqlUuid, _>(seeded.channel)
        .execute(owner)
        .await
        .expect("insert contact");
    diesel::sql_query(
        "INSERT INTO conversations (tenant_id, id, channel_id, contact_id, created_at) \
         VALUES ($1, $2, $3, $4, $5::timestamptz)",
    )
    .bind::<SqlUuid, _>(seeded.tenant)
    .bind::<SqlUuid, _>(conversation)
    .bind::<SqlUuid, _>(seeded.channel)
    .bind::<SqlUuid, _>(contact)
    .bind::<Text, _>(created_at)
    .execute(owner)
    .await
    .expect("insert conversation");
    conversation
}

/// An inbound text message.
pub async fn inbound(owner: &mut AsyncPgConnection, tenant: Uuid, conversation: Uuid, text: &str, at: &str) -> Uuid {
    message(owner, tenant, conversation, ("inbound", "contact", "received"), Some(text), at).await
}

/// An outbound text message from `sender` with `status`.
pub async fn outbound(
    owner: &mut AsyncPgConnection,
    tenant: Uuid,
    conversation: Uuid,
    sender: &str,
    status: &str,
    at: &str,
) -> Uuid {
    message(owner, tenant, conversation, ("outbound", sender, status), Some("an answer"), at).await
}

async fn message(
    owner: &mut AsyncPgConnection,
    tenant: Uuid,
    conversation: Uuid,
    (direction, sender, status): (&str, &str, &str),
    text: Option<&str>,
    at: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO messages (tenant_id, id, conversation_id, direction, sender, type, text, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'text', $6, $7, $8::timestamptz)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(conversation)
    .bind::<Text, _>(direction)
    .bind::<Text, _>(sender)
    .bind::<Nullable<Text>, _>(text)
    .bind::<Text, _>(status)
    .bind::<Text, _>(at)
    .execute(owner)
    .await
    .expect("insert message");
    id
}

/// The pipeline's decision for `inbound`, taken at `at`.
pub async fn decision(
    owner: &mut AsyncPgConnection,
    (tenant, conversation): (Uuid, Uuid),
    inbound: Uuid,
    outcome: &str,
    reply: Option<Uuid>,
    at: &str,
) {
    diesel::sql_query(
        "INSERT INTO message_replies (tenant_id, inbound_message_id, conversation_id, outcome, reply_message_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(inbound)
    .bind::<SqlUuid, _>(conversation)
    .bind::<Text, _>(outcome)
    .bind::<Nullable<SqlUuid>, _>(reply)
    .bind::<Text, _>(at)
    .execute(owner)
    .await
    .expect("insert decision");
}

/// An inbound message answered by the assistant `at` (the reply message is created then, with `status`).
pub async fn answered(
    owner: &mut AsyncPgConnection,
    (tenant, conversation): (Uuid, Uuid),
    (text, asked_at): (&str, &str),
    (status, at): (&str, &str),
) -> Uuid {
    let asked = inbound(owner, tenant, conversation, text, asked_at).await;
    let reply = outbound(owner, tenant, conversation, "assistant", status, at).await;
    decision(owner, (tenant, conversation), asked, "replied", Some(reply), at).await;
    asked
}

/// Seeds both tenants as the module documentation describes.
pub async fn seed(owner: &mut AsyncPgConnection) -> Dataset {
    let acme = seed::tenant_with_conversation(owner, "acme").await;
    let globex = seed::tenant_with_conversation(owner, "globex").await;
    let acme_id = acme.tenant;
    let conv_a = acme.conversation;
    seed::exec(owner, &format!("UPDATE conversations SET created_at = '2026-11-19T23:59:59Z' WHERE id = '{conv_a}'"))
        .await;
    let conv_b = conversation(owner, &acme, "2026-11-20T00:00:00Z").await;
    let conv_c = conversation(owner, &acme, "2026-11-20T11:00:00Z").await;
    let conv_f = conversation(owner, &acme, "2026-11-20T23:59:59.999Z").await;
    let conv_e = conversation(owner, &acme, "2026-11-21T00:00:00Z").await;

    answered(owner, (acme_id, conv_a), ("Hello", "2026-11-19T23:59:59.999Z"), ("sent", "2026-11-20T00:00:00.999Z"))
        .await;
    answered(
        owner,
        (acme_id, conv_a),
        ("What are your opening hours?", "2026-11-20T00:00:00Z"),
        ("sent", "2026-11-20T00:00:02Z"),
    )
    .await;
    answered(
        owner,
        (acme_id, conv_b),
        ("what are your  opening hours", "2026-11-20T10:00:00Z"),
        ("delivered", "2026-11-20T10:00:01Z"),
    )
    .await;
    let handed_off = inbound(owner, acme_id, conv_b, "Talk to a person", "2026-11-20T10:05:00Z").await;
    let notice = outbound(owner, acme_id, conv_b, "system", "sent", "2026-11-20T10:05:00.5Z").await;
    decision(owner, (acme_id, conv_b), handed_off, "handoff", Some(notice), "2026-11-20T10:05:00.5Z").await;
    outbound(owner, acme_id, conv_b, "agent", "failed", "2026-11-20T10:10:00Z").await;
    let silent = inbound(owner, acme_id, conv_c, "Do you deliver?", "2026-11-20T12:00:00Z").await;
    decision(owner, (acme_id, conv_c), silent, "silent", None, "2026-11-20T12:00:00.1Z").await;
    answered(
        owner,
        (acme_id, conv_f),
        ("WHAT ARE YOUR OPENING HOURS?!", "2026-11-20T23:59:59.999Z"),
        ("failed", "2026-11-21T00:00:03.999Z"),
    )
    .await;
    inbound(owner, acme_id, conv_e, "Price?", "2026-11-21T00:00:00Z").await;

    let conv_g = conversation(owner, &globex, "2026-11-20T09:00:00Z").await;
    let globex_id = globex.tenant;
    answered(
        owner,
        (globex_id, conv_g),
        ("What are your opening hours?", "2026-11-20T09:00:00Z"),
        ("sent", "2026-11-20T09:00:09Z"),
    )
    .await;
    let globex_handed_off =
        inbound(owner, globex_id, conv_g, "What are your opening hours?", "2026-11-20T09:01:00Z").await;
    decision(owner, (globex_id, conv_g), globex_handed_off, "handoff", None, "2026-11-20T09:01:01Z").await;

    Dataset { acme, globex, conversation_b: conv_b, handed_off, globex_handed_off }
}

/// acme's D-1, D and D+1, computed by hand from the table above.
pub fn expected_acme() -> [DayStats; 3] {
    [
        DayStats {
            conversations_started: 1,
            messages_inbound: 1,
            active_contacts: 1,
            ai_replies: 1,
            avg_first_response_ms: Some(1000),
            p95_first_response_ms: Some(1000),
            ..DayStats::empty(before())
        },
        DayStats {
            // B, C, F (F at 23:59:59.999; A the second before midnight, E at midnight are the neighbours')
            conversations_started: 3,
            // m1, m2, m3, m6, m4
            messages_inbound: 5,
            // m0's reply (00:00:00.999), m1's and m2's replies, the hand-off notice, the failed agent reply
            messages_outbound: 5,
            // c1, c2, c3, c5
            active_contacts: 4,
            // m1, m2, m4 (answered after midnight, counted for the day it arrived); m6 was silent
            ai_replies: 3,
            handoffs: 1,
            // (2000 + 1000 + 4000) / 3 = 2333.3
            avg_first_response_ms: Some(2333),
            // percentile_disc(0.95) of [1000, 2000, 4000]
            p95_first_response_ms: Some(4000),
            errors: 1,
            ..DayStats::empty(day())
        },
        DayStats {
            conversations_started: 1,
            messages_inbound: 1,
            // m4's reply, which failed
            messages_outbound: 1,
            active_contacts: 1,
            errors: 1,
            ..DayStats::empty(after())
        },
    ]
}

/// globex's D.
pub fn expected_globex() -> DayStats {
    DayStats {
        conversations_started: 1,
        messages_inbound: 2,
        messages_outbound: 1,
        active_contacts: 1,
        ai_replies: 1,
        handoffs: 1,
        avg_first_response_ms: Some(9000),
        p95_first_response_ms: Some(9000),
        ..DayStats::empty(day())
    }
}
