//! The window reads: stored days, gaps, the live day, totals, top questions, unanswered questions and
//! active contacts.

use meta_chat_database::analytics::{self, DayStats, Totals, Window};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_shared::ids::TenantId;

use crate::aggregate::aggregate;
use crate::dataset::{self, after, before, day, expected_acme};

fn window(days: u32) -> Window {
    Window::last_days(after(), days).expect("window")
}

#[tokio::test]
async fn a_window_reads_stored_days_fills_gaps_and_computes_the_live_day() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let data = dataset::seed(&mut owner).await;
    let mut app = seed::connect(&db.app_url()).await;
    aggregate(&mut app, data.acme.tenant, before()).await.expect("aggregate D-1");
    // a stale row for D, as if the hourly job had run early in the day: the live computation replaces it
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO analytics_daily (tenant_id, day, messages_inbound) VALUES ('{}', '2026-11-20', 1)",
            data.acme.tenant
        ),
    )
    .await;
    let tenant = TenantId::from_uuid(data.acme.tenant);
    let days = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move { analytics::days(conn, tenant, window(4), Some(day())).await })
    })
    .await
    .expect("read");
    let [before_day, d, _] = expected_acme();
    let gap = before().pred_opt().expect("date");
    assert_eq!(days, [DayStats::empty(gap), before_day, d, DayStats::empty(after())]);
    let stored = seed::texts(
        &mut owner,
        "SELECT day::text || ' ' || messages_inbound AS value FROM analytics_daily ORDER BY day",
    )
    .await;
    assert_eq!(stored, ["2026-11-19 1", "2026-11-20 1"], "reading computes the live day without storing it");

    let totals = Totals::of(&days);
    assert_eq!((totals.messages_inbound, totals.ai_replies, totals.handoffs, totals.errors), (6, 4, 1, 1));
    // days weighted by their AI replies: (1000 * 1 + 2333 * 3) / 4 = 1999.75; exactly (1000 + 2000 + 1000 + 4000) / 4
    assert_eq!(totals.avg_response_ms, Some(2000));
    assert_eq!(totals.worst_day_p95_ms, Some(4000));
    assert_eq!(totals.hit_rate(), None, "no retrieval is recorded yet");
}

#[tokio::test]
async fn top_questions_are_normalised_counted_and_limited_to_the_window_and_tenant() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let data = dataset::seed(&mut owner).await;
    let mut app = seed::connect(&db.app_url()).await;
    let tenant = TenantId::from_uuid(data.acme.tenant);
    let only_d = Window { from: day(), to: day() };
    let (top, top_two, wide) = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move {
            let top = analytics::top_questions(conn, tenant, only_d, 20).await?;
            let top_two = analytics::top_questions(conn, tenant, only_d, 2).await?;
            let wide = analytics::top_questions(conn, tenant, window(3), 20).await?;
            Ok::<_, meta_chat_database::DbError>((top, top_two, wide))
        })
    })
    .await
    .expect("read");
    let counted = |list: &[analytics::TopQuestion]| -> Vec<(String, i64)> {
        list.iter().map(|q| (q.question.clone(), q.asked)).collect()
    };
    // globex asked "what are your opening hours" twice on D too: not counted here
    assert_eq!(
        counted(&top),
        [
            ("what are your opening hours".to_owned(), 3),
            ("do you deliver".to_owned(), 1),
            ("talk to a person".to_owned(), 1)
        ]
    );
    assert_eq!(top[0].last_asked_at.to_rfc3339(), "2026-11-20T23:59:59.999+00:00");
    assert_eq!(counted(&top_two), counted(&top[..2]));
    assert_eq!(
        counted(&wide),
        [
            ("what are your opening hours".to_owned(), 3),
            ("do you deliver".to_owned(), 1),
            ("hello".to_owned(), 1),
            ("price".to_owned(), 1),
            ("talk to a person".to_owned(), 1),
        ]
    );
}

#[tokio::test]
async fn unanswered_questions_and_active_contacts_stay_in_the_window_and_tenant() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let data = dataset::seed(&mut owner).await;
    let mut app = seed::connect(&db.app_url()).await;
    let tenant = TenantId::from_uuid(data.acme.tenant);
    let only_d = Window { from: day(), to: day() };
    let (unanswered, none, active_d, active_wide) = in_tenant_tx(&mut app, tenant, move |conn| {
        Box::pin(async move {
            let unanswered = analytics::unanswered(conn, tenant, window(3), 20).await?;
            let none = analytics::unanswered(conn, tenant, Window { from: after(), to: after() }, 20).await?;
            let active_d = analytics::active_contacts(conn, tenant, only_d).await?;
            let active_wide = analytics::active_contacts(conn, tenant, window(3)).await?;
            Ok::<_, meta_chat_database::DbError>((unanswered, none, active_d, active_wide))
        })
    })
    .await
    .expect("read");
    assert_eq!(unanswered.len(), 1, "{unanswered:?}");
    let question = &unanswered[0];
    assert_eq!(question.message_id, data.handed_off);
    assert_eq!(question.conversation_id, data.conversation_b);
    assert_eq!(question.text.as_deref(), Some("Talk to a person"));
    assert_eq!(question.asked_at.to_rfc3339(), "2026-11-20T10:05:00+00:00");
    assert_eq!(question.reason, "handoff");
    assert!(unanswered.iter().all(|q| q.message_id != data.globex_handed_off));
    assert!(none.is_empty());
    // c1, c2, c3, c5 on D; with D-1 (c1 again) and D+1 (c4): five, not six
    assert_eq!((active_d, active_wide), (4, 5));
}
