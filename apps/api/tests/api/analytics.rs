//! Analytics routes: query validation (`days` 1–365, `limit` 1–100, nothing else), who may read them, the
//! numbers of a seeded dataset (yesterday aggregated by the job, today live) and tenant isolation.

use chrono::{Days, NaiveDate, Utc};
use meta_chat_database::analytics;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::seed::{self, Seeded};
use meta_chat_shared::UserRole;
use meta_chat_shared::ids::TenantId;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_keys::{Auth, create_key, member_token, seeded_tenant, send};
use crate::helpers::{TestApp, assert_envelope, spawn_app};

const ROUTES: [&str; 5] = [
    "/analytics/overview",
    "/analytics/rag",
    "/analytics/response-times",
    "/analytics/top-questions",
    "/analytics/unanswered",
];

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let res = send(app, Method::GET, path, Auth::Bearer(token), None).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn days_and_limit_outside_their_ranges_are_validation_errors() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let cases = [
        ("days=abc", "days"),
        ("days=0", "days"),
        ("days=366", "days"),
        ("days=2.5", "days"),
        ("limit=-1", "limit"),
        ("limit=1000", "limit"),
        ("limit=0", "limit"),
        ("days=7&days=8", "days"),
        ("since=2026-01-01", "since"),
    ];
    for route in ROUTES {
        for (query, field) in cases {
            let res = send(&app, Method::GET, &format!("{route}?{query}"), Auth::Bearer(&owner), None).await;
            let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
            let fields = body["error"]["details"]["fields"].as_array().unwrap();
            assert_eq!(fields.len(), 1, "{route}?{query}: {body}");
            assert_eq!(fields[0]["path"], field, "{route}?{query}: {body}");
        }
        for query in ["", "?days=1", "?days=365&limit=1", "?limit=100"] {
            let res = send(&app, Method::GET, &format!("{route}{query}"), Auth::Bearer(&owner), None).await;
            assert_eq!(res.status(), 200, "{route}{query}");
        }
    }
}

#[tokio::test]
async fn every_role_reads_analytics_and_keys_need_analytics_read() {
    let app = spawn_app().await;
    let (seeded, owner) = seeded_tenant(&app, "acme").await;
    let admin = member_token(&app, &seeded, UserRole::Admin).await;
    let agent = member_token(&app, &seeded, UserRole::Agent).await;
    let reader = create_key(&app, &owner, &["analytics:read"]).await["key"].as_str().unwrap().to_owned();
    let chat_only = create_key(&app, &owner, &["chat"]).await["key"].as_str().unwrap().to_owned();
    for route in ROUTES {
        for auth in [Auth::Bearer(&owner), Auth::Bearer(&admin), Auth::Bearer(&agent), Auth::Header(&reader)] {
            assert_eq!(send(&app, Method::GET, route, auth, None).await.status(), 200, "{route}");
        }
        let refused = send(&app, Method::GET, route, Auth::Header(&chat_only), None).await;
        assert_envelope(refused, 403, "FORBIDDEN").await;
        let anonymous = send(&app, Method::GET, route, Auth::None, None).await;
        assert_envelope(anonymous, 401, "UNAUTHORIZED").await;
    }
}

/// A new contact with a conversation created at `created_at`.
async fn conversation(app: &TestApp, seeded: &Seeded, created_at: &str) -> Uuid {
    let mut owner = seed::connect(&app.db.owner_url()).await;
    let (contact, conversation) = (Uuid::now_v7(), Uuid::now_v7());
    let (t, c) = (seeded.tenant, seeded.channel);
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO contacts (tenant_id, id, channel_id, external_id) \
             VALUES ('{t}', '{contact}', '{c}', '{contact}')"
        ),
    )
    .await;
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO conversations (tenant_id, id, channel_id, contact_id, created_at) \
             VALUES ('{t}', '{conversation}', '{c}', '{contact}', '{created_at}')"
        ),
    )
    .await;
    conversation
}

/// An inbound text at `at`; with `decision` = `(outcome, decided at, reply status)` also the decision and,
/// for `replied` and `handoff`, the outbound message created with it. Returns the inbound message's id.
async fn inbound(
    app: &TestApp,
    (tenant, conversation): (Uuid, Uuid),
    text: &str,
    at: &str,
    decision: Option<(&str, &str, &str)>,
) -> Uuid {
    let mut owner = seed::connect(&app.db.owner_url()).await;
    let id = Uuid::now_v7();
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO messages (tenant_id, id, conversation_id, direction, sender, type, text, status, created_at) \
             VALUES ('{tenant}', '{id}', '{conversation}', 'inbound', 'contact', 'text', '{text}', 'received', '{at}')"
        ),
    )
    .await;
    if let Some((outcome, decided_at, status)) = decision {
        let reply = Uuid::now_v7();
        let sender = if outcome == "replied" { "assistant" } else { "system" };
        seed::exec(
            &mut owner,
            &format!(
                "INSERT INTO messages (tenant_id, id, conversation_id, direction, sender, type, text, status, \
                 created_at) VALUES ('{tenant}', '{reply}', '{conversation}', 'outbound', '{sender}', 'text', 'ok', \
                 '{status}', '{decided_at}')"
            ),
        )
        .await;
        seed::exec(
            &mut owner,
            &format!(
                "INSERT INTO message_replies (tenant_id, inbound_message_id, conversation_id, outcome, \
                 reply_message_id, created_at) \
                 VALUES ('{tenant}', '{id}', '{conversation}', '{outcome}', '{reply}', '{decided_at}')"
            ),
        )
        .await;
    }
    id
}

fn day_at(day: NaiveDate, time: &str) -> String {
    format!("{day}T{time}Z")
}

struct World {
    app: TestApp,
    acme_owner: String,
    globex_owner: String,
    yesterday: NaiveDate,
    today: NaiveDate,
    /// acme's conversation with the hand-off, and the handed-off message.
    handed_off: (Uuid, Uuid),
    globex_handed_off: Uuid,
}

/// acme: yesterday (aggregated as the job would) two questions, one answered in 1500 ms and one handed off;
/// today (live) two questions, one answered in 2000 ms with a reply that failed. globex: today, five
/// questions and a hand-off.
async fn world() -> World {
    let app = spawn_app().await;
    let (acme, acme_owner) = seeded_tenant(&app, "acme").await;
    let (globex, globex_owner) = seeded_tenant(&app, "globex").await;
    let today = Utc::now().date_naive();
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap();
    let older = conversation(&app, &acme, &day_at(yesterday, "09:00:00")).await;
    let (acme_id, acme_conversation) = (acme.tenant, acme.conversation);
    let (on_yesterday, on_today) = (|time| day_at(yesterday, time), |time| day_at(today, time));
    let answered = on_yesterday("09:00:01.5");
    inbound(
        &app,
        (acme_id, older),
        "What are your prices?",
        &on_yesterday("09:00:00"),
        Some(("replied", &answered, "sent")),
    )
    .await;
    let handoff = on_yesterday("09:10:01");
    let handed_off = inbound(
        &app,
        (acme_id, older),
        "Can I talk to someone?",
        &on_yesterday("09:10:00"),
        Some(("handoff", &handoff, "sent")),
    )
    .await;
    let failed = on_today("00:00:03");
    inbound(
        &app,
        (acme_id, acme_conversation),
        "what are your prices",
        &on_today("00:00:01"),
        Some(("replied", &failed, "failed")),
    )
    .await;
    inbound(&app, (acme_id, older), "What are your prices?", &on_today("00:00:02"), None).await;
    let globex_conversation = (globex.tenant, globex.conversation);
    for _ in 0..4 {
        inbound(&app, globex_conversation, "What are your prices?", &on_today("00:00:01"), None).await;
    }
    let globex_handoff = on_today("00:00:06");
    let globex_handed_off =
        inbound(&app, globex_conversation, "Hello?", &on_today("00:00:05"), Some(("handoff", &globex_handoff, "sent")))
            .await;

    // the job's row for yesterday, and a stale row for today that the live numbers must replace
    let pool = app.db.app_pool();
    let mut conn = pool.get().await.unwrap();
    let tenant = TenantId::from_uuid(acme_id);
    in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(analytics::aggregate_day(conn, tenant, yesterday)))
        .await
        .unwrap();
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut owner,
        &format!("INSERT INTO analytics_daily (tenant_id, day, messages_inbound) VALUES ('{acme_id}', '{today}', 99)"),
    )
    .await;
    World { app, acme_owner, globex_owner, yesterday, today, handed_off: (older, handed_off), globex_handed_off }
}

#[tokio::test]
async fn the_overview_adds_the_stored_days_to_todays_live_numbers() {
    let w = world().await;
    let body = get(&w.app, "/analytics/overview?days=2", &w.acme_owner).await;
    assert_eq!(body["from"], w.yesterday.to_string());
    assert_eq!(body["to"], w.today.to_string());
    assert_eq!(body["days"], 2);
    let activity = |conversations: i64, inbound: i64, outbound: i64, contacts: i64, replies: i64, handoffs, errors| {
        json!({
            "conversationsStarted": conversations, "messagesInbound": inbound, "messagesOutbound": outbound,
            "activeContacts": contacts, "aiReplies": replies, "handoffs": handoffs, "errors": errors,
            "promptTokens": 0, "completionTokens": 0, "costUsd": 0.0
        })
    };
    // yesterday: one conversation, two questions, the reply and the hand-off notice, one contact
    let mut yesterday = activity(1, 2, 2, 1, 1, 1, 0);
    yesterday["day"] = json!(w.yesterday.to_string());
    // today: the seeded conversation, two questions from two contacts, one reply (failed); not the stale 99
    let mut today = activity(1, 2, 1, 2, 1, 0, 1);
    today["day"] = json!(w.today.to_string());
    assert_eq!(body["series"], json!([yesterday, today]));
    // two distinct contacts over both days (the contact who wrote on both counts once)
    assert_eq!(body["totals"], activity(2, 4, 3, 2, 2, 1, 1));

    let month = get(&w.app, "/analytics/overview", &w.acme_owner).await;
    let series = month["series"].as_array().unwrap();
    assert_eq!((month["days"].clone(), series.len()), (json!(30), 30), "30 days by default");
    assert_eq!(series[0], {
        let mut empty = activity(0, 0, 0, 0, 0, 0, 0);
        empty["day"] = json!(w.today.checked_sub_days(Days::new(29)).unwrap().to_string());
        empty
    });
    assert_eq!(month["totals"], body["totals"]);
}

#[tokio::test]
async fn response_times_rag_and_the_question_lists_follow_the_seeded_data() {
    let w = world().await;
    let times = get(&w.app, "/analytics/response-times?days=2", &w.acme_owner).await;
    assert_eq!(times["aiReplies"], 2);
    assert_eq!(times["avgMs"], 1750, "(1500 + 2000) / 2");
    assert_eq!(times["worstDayP95Ms"], 2000);
    assert_eq!(
        times["series"],
        json!([
            {"day": w.yesterday.to_string(), "aiReplies": 1, "avgMs": 1500, "p95Ms": 1500},
            {"day": w.today.to_string(), "aiReplies": 1, "avgMs": 2000, "p95Ms": 2000},
        ])
    );

    let rag = get(&w.app, "/analytics/rag?days=2", &w.acme_owner).await;
    assert_eq!((rag["retrievals"].clone(), rag["hitRate"].clone()), (json!(0), Value::Null), "not recorded yet");
    assert_eq!(rag["series"].as_array().unwrap().len(), 2);

    let top = get(&w.app, "/analytics/top-questions?days=2", &w.acme_owner).await;
    let counted: Vec<(String, i64)> = top["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["question"].as_str().unwrap().to_owned(), q["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(counted, [("what are your prices".to_owned(), 3), ("can i talk to someone".to_owned(), 1)]);
    assert_eq!(top["nextCursor"], Value::Null);
    let first = get(&w.app, "/analytics/top-questions?days=2&limit=1", &w.acme_owner).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    let only_today = get(&w.app, "/analytics/top-questions?days=1", &w.acme_owner).await;
    assert_eq!(only_today["data"][0]["count"], 2);

    let unanswered = get(&w.app, "/analytics/unanswered?days=2", &w.acme_owner).await;
    let (conversation, message) = w.handed_off;
    assert_eq!(
        unanswered["data"],
        json!([{
            "messageId": message, "conversationId": conversation, "question": "Can I talk to someone?",
            "askedAt": unanswered["data"][0]["askedAt"], "reason": "handoff"
        }])
    );
    let asked_at = unanswered["data"][0]["askedAt"].as_str().unwrap();
    assert!(asked_at.starts_with(&format!("{}T09:10:00", w.yesterday)), "{asked_at}");
    let today_only = get(&w.app, "/analytics/unanswered?days=1", &w.acme_owner).await;
    assert_eq!(today_only["data"], json!([]));
}

#[tokio::test]
async fn another_tenants_data_never_appears() {
    let w = world().await;
    let globex = get(&w.app, "/analytics/overview?days=2", &w.globex_owner).await;
    assert_eq!(globex["totals"]["messagesInbound"], 5);
    assert_eq!(globex["totals"]["handoffs"], 1);
    assert_eq!(globex["series"][0]["messagesInbound"], 0, "acme's aggregated yesterday is not globex's");
    let acme = get(&w.app, "/analytics/overview?days=2", &w.acme_owner).await;
    assert_eq!(acme["totals"]["messagesInbound"], 4, "globex's five messages are not acme's");

    let top = get(&w.app, "/analytics/top-questions", &w.globex_owner).await;
    assert_eq!(top["data"][0]["question"], "what are your prices");
    assert_eq!(top["data"][0]["count"], 4);
    let acme_top = get(&w.app, "/analytics/top-questions", &w.acme_owner).await;
    assert_eq!(acme_top["data"][0]["count"], 3);
    assert!(acme_top["data"].as_array().unwrap().iter().all(|q| q["question"] != "hello"));

    let globex_unanswered = get(&w.app, "/analytics/unanswered", &w.globex_owner).await;
    let ids: Vec<&str> =
        globex_unanswered["data"].as_array().unwrap().iter().map(|q| q["messageId"].as_str().unwrap()).collect();
    assert_eq!(ids, [w.globex_handed_off.to_string()]);
    let acme_unanswered = get(&w.app, "/analytics/unanswered", &w.acme_owner).await;
    let ids: Vec<&str> =
        acme_unanswered["data"].as_array().unwrap().iter().map(|q| q["messageId"].as_str().unwrap()).collect();
    assert_eq!(ids, [w.handed_off.1.to_string()]);
    assert_eq!(acme_unanswered["data"][0]["conversationId"], w.handed_off.0.to_string());
}
