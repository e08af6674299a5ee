//! GDPR export and erase of one contact.

use meta_chat_database::contacts;
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_shared::ids::{ContactId, TenantId};

use crate::support::{another_contact, as_tenant};

#[tokio::test]
async fn export_contains_exactly_that_contacts_data_and_erase_removes_it() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    let mine = seed::inbound_message(&mut owner, &acme, "2026-11-20T10:00:00Z").await;
    let (other_contact, other_conversation) = another_contact(&mut owner, &acme, "someone-else", "Else").await;
    let other = seed::inbound_message(
        &mut owner,
        &seed::Seeded { contact: other_contact, conversation: other_conversation, ..acme },
        "2026-11-20T11:00:00Z",
    )
    .await;
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO inbound_receipts (tenant_id, channel_id, external_id, message_id, message_created_at) \
             VALUES ('{}', '{}', 'wamid.1', '{mine}', '2026-11-20T10:00:00Z')",
            acme.tenant, acme.channel
        ),
    )
    .await;

    let mut app = seed::connect(&db.app_url()).await;
    let id = ContactId::from_uuid(acme.contact);
    let export = as_tenant(&mut app, acme.tenant, move |conn| {
        Box::pin(async move { contacts::export(conn, TenantId::from_uuid(acme.tenant), id).await })
    })
    .await
    .expect("the contact exists");
    assert_eq!(export.contact.id, acme.contact);
    assert_eq!(export.conversations.len(), 1);
    let (conversation, messages) = &export.conversations[0];
    assert_eq!(conversation.id, acme.conversation);
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), vec![mine]);
    assert!(!messages.iter().any(|m| m.id == other));

    let erased = as_tenant(&mut app, acme.tenant, move |conn| {
        Box::pin(async move { contacts::erase(conn, TenantId::from_uuid(acme.tenant), id).await })
    })
    .await;
    assert!(erased);
    assert_eq!(seed::exec(&mut owner, &format!("SELECT 1 FROM contacts WHERE id = '{}'", acme.contact)).await, 0);
    assert_eq!(seed::exec(&mut owner, &format!("SELECT 1 FROM messages WHERE id = '{mine}'")).await, 0);
    assert_eq!(
        seed::exec(&mut owner, &format!("SELECT 1 FROM messages WHERE id = '{other}'")).await,
        1,
        "others untouched"
    );
    assert_eq!(
        seed::exec(&mut owner, "SELECT 1 FROM inbound_receipts WHERE external_id = 'wamid.1'").await,
        1,
        "receipt kept"
    );

    let again = as_tenant(&mut app, acme.tenant, move |conn| {
        Box::pin(async move { contacts::erase(conn, TenantId::from_uuid(acme.tenant), id).await })
    })
    .await;
    assert!(!again, "erasing twice finds nothing");
}
