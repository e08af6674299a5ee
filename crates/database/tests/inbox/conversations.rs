//! Inbox list, detail, state machine, concurrency and agent replies.

use std::collections::HashSet;
use std::time::Duration;

use meta_chat_database::conversations::{self, ChangeRefused, ConversationChange, InboxFilter};
use meta_chat_database::keyset::{Keyset, PageRequest};
use meta_chat_database::messages;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_shared::ConversationStatus::{Active, AssignedHuman, Closed};
use meta_chat_shared::ids::{ConversationId, TenantId, UserId};

use crate::support::{another_contact, as_tenant};

fn page(limit: u32, cursor: Option<&str>) -> PageRequest {
    PageRequest { limit, after: cursor.map(|c| Keyset::decode(c).expect("cursor")) }
}

#[tokio::test]
async fn inbox_pages_are_stable_complete_and_filtered() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    let globex = seed::tenant_with_conversation(&mut owner, "globex").await;
    // 44 more conversations; ten share one timestamp so the id tie-breaker matters
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO contacts (tenant_id, id, channel_id, external_id, display_name) \
             SELECT '{t}', gen_random_uuid(), '{c}', 'ext-' || g, CASE WHEN g = 7 THEN 'Ana 50%' ELSE 'Bob ' || g END \
             FROM generate_series(1, 44) g",
            t = acme.tenant,
            c = acme.channel
        ),
    )
    .await;
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO conversations (tenant_id, id, channel_id, contact_id, last_message_at) \
             SELECT '{t}', gen_random_uuid(), '{c}', id, \
                    CASE WHEN external_id IN ('ext-1','ext-2','ext-3','ext-4','ext-5','ext-6','ext-7','ext-8','ext-9','ext-10') \
                         THEN '2026-11-01T00:00:00Z'::timestamptz ELSE now() - (random() * interval '30 days') END \
             FROM contacts WHERE tenant_id = '{t}' AND external_id LIKE 'ext-%'",
            t = acme.tenant,
            c = acme.channel
        ),
    )
    .await;

    let mut app = seed::connect(&db.app_url()).await;
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut sizes = Vec::new();
    let mut last: Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)> = None;
    loop {
        let request = page(20, cursor.as_deref());
        let (items, next) = as_tenant(&mut app, acme.tenant, move |conn| {
            Box::pin(async move {
                conversations::list(conn, TenantId::from_uuid(acme.tenant), &InboxFilter::default(), &request).await
            })
        })
        .await;
        sizes.push(items.len());
        for item in &items {
            let key = (item.conversation.last_message_at, item.conversation.id);
            if let Some(previous) = last {
                assert!(key < previous, "strictly descending order");
            }
            last = Some(key);
            assert!(seen.insert(item.conversation.id), "no conversation twice");
            assert_eq!(item.conversation.tenant_id, acme.tenant, "only acme's conversations");
        }
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(sizes, vec![20, 20, 5]);
    assert!(!seen.contains(&globex.conversation));

    let search = InboxFilter { query: Some("ana 50%".into()), ..InboxFilter::default() };
    let (found, _) = as_tenant(&mut app, acme.tenant, move |conn| {
        Box::pin(
            async move { conversations::list(conn, TenantId::from_uuid(acme.tenant), &search, &page(50, None)).await },
        )
    })
    .await;
    assert_eq!(found.len(), 1, "the search matches the contact name literally");
    assert_eq!(found[0].contact.display_name.as_deref(), Some("Ana 50%"));

    let closed = InboxFilter { status: Some(Closed), ..InboxFilter::default() };
    let (none, next) = as_tenant(&mut app, acme.tenant, move |conn| {
        Box::pin(
            async move { conversations::list(conn, TenantId::from_uuid(acme.tenant), &closed, &page(50, None)).await },
        )
    })
    .await;
    assert!(none.is_empty() && next.is_none());
}

#[tokio::test]
async fn another_tenants_conversation_is_not_found_and_unchanged() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    let globex = seed::tenant_with_conversation(&mut owner, "globex").await;
    let mut app = seed::connect(&db.app_url()).await;
    let foreign = ConversationId::from_uuid(globex.conversation);
    let (found, changed, replied) = as_tenant(&mut app, acme.tenant, move |conn| {
        Box::pin(async move {
            let tenant = TenantId::from_uuid(acme.tenant);
            let found = conversations::find(conn, tenant, foreign).await?;
            let change = ConversationChange { status: Some(Closed), ..ConversationChange::default() };
            let changed = conversations::change(conn, tenant, foreign, &change).await?;
            let replied =
                messages::insert_agent_reply(conn, tenant, foreign, Some(UserId::from_uuid(acme.user)), "hi").await?;
            Ok((found.is_some(), changed.err(), replied.is_some()))
        })
    })
    .await;
    assert!(!found);
    assert_eq!(changed, Some(ChangeRefused::NotFound));
    assert!(!replied);
    assert_eq!(seed::exec(&mut owner, "SELECT 1 FROM conversations WHERE status = 'active'").await, 2);
    assert_eq!(seed::exec(&mut owner, "SELECT 1 FROM messages").await, 0);
}

#[tokio::test]
async fn status_changes_follow_the_state_machine() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    let globex = seed::tenant_with_conversation(&mut owner, "globex").await;
    let mut app = seed::connect(&db.app_url()).await;
    let id = ConversationId::from_uuid(acme.conversation);
    let steps = [
        (
            ConversationChange { assignee: Some(Some(UserId::from_uuid(acme.user))), ..Default::default() },
            Ok(AssignedHuman),
        ),
        (ConversationChange { status: Some(Active), ..Default::default() }, Ok(Active)),
        (ConversationChange { status: Some(Closed), ..Default::default() }, Ok(Closed)),
        (
            ConversationChange { status: Some(AssignedHuman), ..Default::default() },
            Err(ChangeRefused::InvalidTransition { from: Closed, to: AssignedHuman }),
        ),
        (ConversationChange { status: Some(Active), ..Default::default() }, Ok(Active)),
        (
            ConversationChange { assignee: Some(Some(UserId::from_uuid(globex.user))), ..Default::default() },
            Err(ChangeRefused::UnknownAssignee),
        ),
    ];
    for (change, expected) in steps {
        let expected_text = format!("{expected:?}");
        let outcome = as_tenant(&mut app, acme.tenant, move |conn| {
            Box::pin(async move { conversations::change(conn, TenantId::from_uuid(acme.tenant), id, &change).await })
        })
        .await;
        match (outcome, expected) {
            (Ok(conversation), Ok(status)) => {
                assert_eq!(conversation.status().unwrap(), status);
                assert_eq!(conversation.closed_at.is_some(), status == Closed);
                assert_eq!(conversation.assignee_id.is_some(), status == AssignedHuman, "assignee follows ownership");
            }
            (Err(refused), Err(expected)) => assert_eq!(refused, expected),
            (outcome, _) => panic!("expected {expected_text}, got {outcome:?}"),
        }
    }
}

/// A change that was valid when read but not when written must be refused: the row lock makes the second
/// transaction re-read the state the first one committed.
#[tokio::test]
async fn concurrent_changes_cannot_produce_an_invalid_transition() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    let id = ConversationId::from_uuid(acme.conversation);
    let tenant = TenantId::from_uuid(acme.tenant);
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    let (commit_tx, commit_rx) = tokio::sync::oneshot::channel::<()>();

    let mut first_conn = seed::connect(&db.app_url()).await;
    let first = tokio::spawn(async move {
        in_tenant_tx(&mut first_conn, tenant, move |conn| {
            Box::pin(async move {
                let close = ConversationChange { status: Some(Closed), ..ConversationChange::default() };
                let result = conversations::change(conn, tenant, id, &close).await?;
                let _ = closed_tx.send(());
                let _ = commit_rx.await; // hold the lock until told to commit
                Ok::<_, meta_chat_database::DbError>(result)
            })
        })
        .await
    });
    closed_rx.await.expect("first transaction closed the conversation");
    let mut second_conn = seed::connect(&db.app_url()).await;
    let second = tokio::spawn(async move {
        in_tenant_tx(&mut second_conn, tenant, move |conn| {
            Box::pin(async move {
                let handoff = ConversationChange { status: Some(AssignedHuman), ..ConversationChange::default() };
                conversations::change(conn, tenant, id, &handoff).await
            })
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await; // let the second transaction reach the lock
    commit_tx.send(()).expect("release the first transaction");
    assert!(first.await.unwrap().unwrap().is_ok());
    let second = second.await.unwrap().unwrap();
    assert_eq!(second.err(), Some(ChangeRefused::InvalidTransition { from: Closed, to: AssignedHuman }));
    assert_eq!(seed::exec(&mut owner, "SELECT 1 FROM conversations WHERE status = 'closed'").await, 1);
}

#[tokio::test]
async fn an_agent_reply_hands_the_conversation_to_humans_and_is_queued() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    seed::inbound_message(&mut owner, &acme, "2026-11-20T10:00:00Z").await;
    let (_, _) = another_contact(&mut owner, &acme, "other", "Other").await;
    seed::exec(
        &mut owner,
        &format!("UPDATE conversations SET status = 'closed', closed_at = now() WHERE id = '{}'", acme.conversation),
    )
    .await;
    let mut app = seed::connect(&db.app_url()).await;
    let id = ConversationId::from_uuid(acme.conversation);
    let (message, conversation) = as_tenant(&mut app, acme.tenant, move |conn| {
        Box::pin(async move {
            let reply = messages::insert_agent_reply(
                conn,
                TenantId::from_uuid(acme.tenant),
                id,
                Some(UserId::from_uuid(acme.user)),
                "On it",
            )
            .await?;
            Ok(reply.expect("the conversation exists"))
        })
    })
    .await;
    assert_eq!(
        (message.direction.as_str(), message.sender.as_str(), message.status.as_str()),
        ("outbound", "agent", "queued")
    );
    assert_eq!(message.sender_user_id, Some(acme.user));
    assert_eq!(conversation.status().unwrap(), AssignedHuman, "reopened and owned by humans");
    assert_eq!(conversation.assignee_id, Some(acme.user));
    assert_eq!(conversation.last_message_at, message.created_at);

    let (history, next) = as_tenant(&mut app, acme.tenant, move |conn| {
        Box::pin(async move { messages::list(conn, TenantId::from_uuid(acme.tenant), id, &page(10, None)).await })
    })
    .await;
    assert_eq!(history.len(), 2);
    assert!(next.is_none());
    assert_eq!(history[0].id, message.id, "newest first");
    assert_eq!(history[1].direction, "inbound");
}
