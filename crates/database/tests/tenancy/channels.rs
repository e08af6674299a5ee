//! Channels: CRUD under row-level security, isolation between tenants, uniqueness of connected accounts,
//! sealed secrets at rest, keyset pagination, and the routing lookups.

use std::collections::HashSet;

use diesel_async::AsyncPgConnection;
use meta_chat_channels::{CreateChannel, NewChannelRecord, SecretField, open_secret, prepare_create, validate_create};
use meta_chat_database::DbError;
use meta_chat_database::channels::{self, Channel, ChannelChangeset, EXTERNAL_ID_UNIQUE, NewChannel};
use meta_chat_database::keyset::{Keyset, PageRequest};
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_shared::ChannelType;
use meta_chat_shared::ids::{ChannelId, TenantId};
use meta_chat_shared::secrets::Keyring;
use serde_json::json;

use crate::support::{as_tenant, keyring, owner_read};

const ACCESS_TOKEN: &str = "EAAGtenancyTestAccessToken0001";
const APP_SECRET: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const VERIFY_TOKEN: &str = "verify-tenancy-token";

async fn tenant(owner: &mut AsyncPgConnection, slug: &str) -> TenantId {
    TenantId::from_uuid(seed::tenant_with_conversation(owner, slug).await.tenant)
}

fn whatsapp(keyring: &Keyring, tenant: TenantId, phone_number_id: &str) -> NewChannelRecord {
    let input: CreateChannel = serde_json::from_value(json!({
        "type": "whatsapp",
        "name": "Support",
        "config": {
            "phoneNumberId": phone_number_id,
            "businessAccountId": "102290129340398",
            "accessToken": ACCESS_TOKEN,
            "appSecret": APP_SECRET,
            "verifyToken": VERIFY_TOKEN,
        }
    }))
    .expect("create body");
    let valid = validate_create(&input).expect("valid WhatsApp config");
    prepare_create(keyring, tenant, ChannelId::new(), &valid).expect("prepare")
}

fn webchat(keyring: &Keyring, tenant: TenantId, name: &str) -> NewChannelRecord {
    let input: CreateChannel = serde_json::from_value(json!({
        "type": "webchat",
        "name": name,
        "config": { "allowedOrigins": ["https://shop.example.com"], "identitySecret": "identity-secret-for-tests" }
    }))
    .expect("create body");
    let valid = validate_create(&input).expect("valid web chat config");
    prepare_create(keyring, tenant, ChannelId::new(), &valid).expect("prepare")
}

fn new_channel(record: &NewChannelRecord) -> NewChannel<'_> {
    NewChannel {
        id: record.id,
        channel_type: record.channel_type,
        name: &record.name,
        enabled: record.enabled,
        config: &record.sealed.config,
        secrets: &record.sealed.secrets,
        external_id: record.sealed.external_id.as_deref(),
        widget_key: record.widget_key.as_deref(),
    }
}

async fn insert(app: &mut AsyncPgConnection, tenant: TenantId, record: &NewChannelRecord) -> Result<Channel, DbError> {
    let record = record.clone();
    as_tenant(app, tenant, move |conn| {
        Box::pin(async move { channels::insert(conn, tenant, &new_channel(&record)).await })
    })
    .await
}

async fn find(app: &mut AsyncPgConnection, tenant: TenantId, id: ChannelId) -> Option<Channel> {
    as_tenant(app, tenant, move |conn| Box::pin(async move { channels::find(conn, tenant, id).await }))
        .await
        .expect("find")
}

async fn list_page(
    app: &mut AsyncPgConnection,
    tenant: TenantId,
    channel_type: Option<ChannelType>,
    limit: u32,
    cursor: Option<String>,
) -> (Vec<Channel>, Option<String>) {
    as_tenant(app, tenant, move |conn| {
        Box::pin(async move {
            let after = cursor.as_deref().map(Keyset::decode).transpose()?;
            channels::list(conn, tenant, channel_type, &PageRequest { limit, after }).await
        })
    })
    .await
    .expect("list")
}

#[tokio::test]
async fn channel_crud_round_trip() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = tenant(&mut owner, "acme").await;
    let mut app = seed::connect(&db.app_url()).await;
    let ring = keyring();

    let record = whatsapp(&ring, acme, "106540352242922");
    let inserted = insert(&mut app, acme, &record).await.expect("insert");
    assert_eq!((inserted.id, inserted.tenant_id, inserted.channel_type), (record.id, acme, ChannelType::WhatsApp));
    assert_eq!(inserted.external_id.as_deref(), Some("106540352242922"));
    assert_eq!(inserted.config, json!({ "phoneNumberId": "106540352242922", "businessAccountId": "102290129340398" }));
    assert!(inserted.enabled);
    assert!(!format!("{inserted:?}").contains("v1."), "Debug leaves the envelopes out");

    let found = find(&mut app, acme, record.id).await.expect("found");
    assert_eq!(found.secrets, record.sealed.secrets);
    let opened = open_secret(&ring, acme, found.id, &found.secrets, SecretField::AppSecret).expect("open");
    assert_eq!(opened.expose(), APP_SECRET);

    let web = webchat(&ring, acme, "Site");
    let web_row = insert(&mut app, acme, &web).await.expect("insert web chat");
    assert_eq!(web_row.external_id, None);
    assert_eq!(web_row.widget_key, web.widget_key);

    let (all, next) = list_page(&mut app, acme, None, 20, None).await;
    assert_eq!(all.len(), 3, "seeded WhatsApp channel + 2");
    assert!(next.is_none());
    assert_eq!(all[0].id, web.id, "newest first");
    let (only_web, _) = list_page(&mut app, acme, Some(ChannelType::WebChat), 20, None).await;
    assert_eq!(only_web.iter().map(|c| c.id).collect::<Vec<_>>(), [web.id]);

    let id = record.id;
    let updated = as_tenant(&mut app, acme, move |conn| {
        Box::pin(async move {
            let changes = ChannelChangeset {
                name: Some("Sales line".into()),
                enabled: Some(false),
                config: Some(json!({ "phoneNumberId": "555000111", "businessAccountId": "102290129340398" })),
                external_id: Some(Some("555000111".into())),
                ..ChannelChangeset::default()
            };
            channels::update(conn, acme, id, &changes).await
        })
    })
    .await
    .expect("update")
    .expect("row");
    assert_eq!((updated.name.as_str(), updated.enabled), ("Sales line", false));
    assert_eq!(updated.external_id.as_deref(), Some("555000111"));
    assert!(updated.updated_at > inserted.updated_at);
    assert_eq!(updated.secrets, record.sealed.secrets, "secrets untouched");

    let unchanged = as_tenant(&mut app, acme, move |conn| {
        Box::pin(async move { channels::update(conn, acme, id, &ChannelChangeset::default()).await })
    })
    .await
    .expect("empty update")
    .expect("row");
    assert_eq!(unchanged.updated_at, updated.updated_at, "an empty changeset writes nothing");

    let deleted =
        as_tenant(&mut app, acme, move |conn| Box::pin(async move { channels::delete(conn, acme, id).await }))
            .await
            .expect("delete");
    assert!(deleted);
    assert!(find(&mut app, acme, id).await.is_none());
    let again = as_tenant(&mut app, acme, move |conn| Box::pin(async move { channels::delete(conn, acme, id).await }))
        .await
        .expect("delete again");
    assert!(!again);
}

#[tokio::test]
async fn another_tenants_channel_is_not_found_and_cannot_be_changed() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let (acme, globex) = (tenant(&mut owner, "acme").await, tenant(&mut owner, "globex").await);
    let mut app = seed::connect(&db.app_url()).await;
    let record = whatsapp(&keyring(), acme, "106540352242922");
    insert(&mut app, acme, &record).await.expect("insert");
    let id = record.id;

    assert!(find(&mut app, globex, id).await.is_none(), "globex cannot see acme's channel");
    let (listed, _) = list_page(&mut app, globex, None, 100, None).await;
    assert!(listed.iter().all(|c| c.tenant_id == globex && c.id != id));
    let updated = as_tenant(&mut app, globex, move |conn| {
        Box::pin(async move {
            let changes = ChannelChangeset { name: Some("hijacked".into()), ..ChannelChangeset::default() };
            channels::update(conn, globex, id, &changes).await
        })
    })
    .await
    .expect("update");
    assert!(updated.is_none());
    let deleted =
        as_tenant(&mut app, globex, move |conn| Box::pin(async move { channels::delete(conn, globex, id).await }))
            .await
            .expect("delete");
    assert!(!deleted);
    // asking with globex's tenant for acme's row in acme's name is refused by row-level security, too
    let sneaky = as_tenant(&mut app, globex, move |conn| Box::pin(async move { channels::find(conn, acme, id).await }))
        .await
        .expect("find");
    assert!(sneaky.is_none());

    assert_eq!(owner_read(&mut owner, "channels", "name", id.as_uuid()).await, "Support", "nothing changed");
    assert!(find(&mut app, acme, id).await.is_some());
}

#[tokio::test]
async fn a_whatsapp_number_is_connected_once_across_tenants() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let (acme, globex) = (tenant(&mut owner, "acme").await, tenant(&mut owner, "globex").await);
    let mut app = seed::connect(&db.app_url()).await;
    let ring = keyring();
    insert(&mut app, acme, &whatsapp(&ring, acme, "106540352242922")).await.expect("first");

    for (who, tenant) in [("another tenant", globex), ("the same tenant", acme)] {
        let err = insert(&mut app, tenant, &whatsapp(&ring, tenant, "106540352242922")).await.unwrap_err();
        assert!(matches!(&err, DbError::Conflict(name) if name == EXTERNAL_ID_UNIQUE), "{who}: {err:?}");
    }

    // moving another channel onto the number is refused the same way
    let other = whatsapp(&ring, globex, "200000000000001");
    insert(&mut app, globex, &other).await.expect("other number");
    let other_id = other.id;
    let err = as_tenant(&mut app, globex, move |conn| {
        Box::pin(async move {
            let changes = ChannelChangeset { external_id: Some(Some("106540352242922".into())), ..Default::default() };
            channels::update(conn, globex, other_id, &changes).await
        })
    })
    .await
    .unwrap_err();
    assert!(matches!(&err, DbError::Conflict(name) if name == EXTERNAL_ID_UNIQUE), "{err:?}");

    // the key is (type, external id): a Messenger page with the same digits is another account
    let page: CreateChannel = serde_json::from_value(json!({
        "type": "messenger",
        "config": { "pageId": "106540352242922", "pageAccessToken": "EAApage", "appSecret": APP_SECRET, "verifyToken": VERIFY_TOKEN }
    }))
    .expect("body");
    let record =
        prepare_create(&ring, globex, ChannelId::new(), &validate_create(&page).expect("valid")).expect("prepare");
    insert(&mut app, globex, &record).await.expect("Messenger page with the same id");
}

#[tokio::test]
async fn secrets_are_stored_as_envelopes_only() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = tenant(&mut owner, "acme").await;
    let mut app = seed::connect(&db.app_url()).await;
    let ring = keyring();
    let record = whatsapp(&ring, acme, "106540352242922");
    insert(&mut app, acme, &record).await.expect("insert");
    let web = webchat(&ring, acme, "Site");
    insert(&mut app, acme, &web).await.expect("insert web chat");

    for id in [record.id, web.id] {
        let row = owner_read(&mut owner, "channels", "row_to_json(channels)", id.as_uuid()).await;
        for plain in [ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, "identity-secret-for-tests"] {
            assert!(!row.contains(plain), "plain secret in the stored row: {row}");
        }
        let secrets: serde_json::Value =
            serde_json::from_str(&owner_read(&mut owner, "channels", "secrets", id.as_uuid()).await).expect("json");
        for (field, envelope) in secrets.as_object().expect("object") {
            let envelope = envelope.as_str().expect("string");
            assert_eq!(Keyring::key_id_of(envelope), Some("test1"), "{field}");
        }
    }
    let config = owner_read(&mut owner, "channels", "config", record.id.as_uuid()).await;
    for field in ["accessToken", "appSecret", "verifyToken"] {
        assert!(!config.contains(field), "{field} in public config: {config}");
    }

    // the data layer itself refuses plain text where envelopes belong
    let mut plain = whatsapp(&ring, acme, "300000000000003");
    plain.sealed.secrets = json!({ "accessToken": ACCESS_TOKEN });
    let err = insert(&mut app, acme, &plain).await.unwrap_err();
    assert!(matches!(err, DbError::InvalidInput(_)), "{err:?}");
    let id = record.id;
    let err = as_tenant(&mut app, acme, move |conn| {
        Box::pin(async move {
            let changes = ChannelChangeset { secrets: Some(json!({ "appSecret": APP_SECRET })), ..Default::default() };
            channels::update(conn, acme, id, &changes).await
        })
    })
    .await
    .unwrap_err();
    assert!(matches!(err, DbError::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn list_pagination_is_stable_and_complete() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let acme = tenant(&mut owner, "acme").await;
    let mut app = seed::connect(&db.app_url()).await;
    let ring = keyring();
    // three transactions of 15: rows within one share created_at (now() is the transaction's start), so the
    // id tie-breaker is exercised as well as the timestamp
    let mut inserted = Vec::new();
    for batch in 0..3 {
        let records: Vec<NewChannelRecord> =
            (0..15).map(|i| webchat(&ring, acme, &format!("Site {batch}-{i}"))).collect();
        inserted.extend(records.iter().map(|r| r.id));
        as_tenant(&mut app, acme, move |conn| {
            Box::pin(async move {
                for record in &records {
                    channels::insert(conn, acme, &new_channel(record)).await?;
                }
                Ok(())
            })
        })
        .await
        .expect("batch insert");
    }

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut sizes = Vec::new();
    loop {
        let (page, next) = list_page(&mut app, acme, Some(ChannelType::WebChat), 20, cursor.clone()).await;
        sizes.push(page.len());
        seen.extend(page);
        if sizes.len() == 1 {
            // a channel created while paging appears on no later page and disturbs nothing
            insert(&mut app, acme, &webchat(&ring, acme, "Late")).await.expect("insert while paging");
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [20, 20, 5]);
    let ids: Vec<ChannelId> = seen.iter().map(|c| c.id).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 45, "no row twice");
    let mut expected = inserted.clone();
    expected.sort_by(|a, b| b.cmp(a)); // UUIDv7 order = insertion order; created_at never decreases with it
    assert_eq!(ids, expected, "complete, newest first");
    assert!(seen.windows(2).all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)), "strictly ordered");

    // the same cursor gives the same page again
    let (first, next) = list_page(&mut app, acme, Some(ChannelType::WebChat), 20, None).await;
    let (second_a, _) = list_page(&mut app, acme, Some(ChannelType::WebChat), 20, next.clone()).await;
    let (second_b, _) = list_page(&mut app, acme, Some(ChannelType::WebChat), 20, next).await;
    assert_eq!(first.len(), 20);
    assert_eq!(second_a.iter().map(|c| c.id).collect::<Vec<_>>(), second_b.iter().map(|c| c.id).collect::<Vec<_>>());

    // limits are clamped to 1..=100, and a malformed cursor is refused before anything runs
    let (one, _) = list_page(&mut app, acme, None, 0, None).await;
    assert_eq!(one.len(), 1);
    let (all, next) = list_page(&mut app, acme, None, 1000, None).await;
    assert_eq!((all.len(), next), (47, None), "45 + late + seeded WhatsApp");
    let err = as_tenant(&mut app, acme, move |_conn| Box::pin(async move { Keyset::decode("not-a-cursor") }))
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn routing_lookups_work_before_a_tenant_is_known() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let (acme, globex) = (tenant(&mut owner, "acme").await, tenant(&mut owner, "globex").await);
    let mut app = seed::connect(&db.app_url()).await;
    let ring = keyring();
    let wa = whatsapp(&ring, acme, "106540352242922");
    insert(&mut app, acme, &wa).await.expect("insert");
    let web = webchat(&ring, globex, "Site");
    insert(&mut app, globex, &web).await.expect("insert");

    // plain connection, no tenant set: row-level security hides the table, the lookups still answer
    assert_eq!(channels::resolve_channel(&mut app, wa.id).await.expect("lookup"), Some((acme, ChannelType::WhatsApp)));
    assert_eq!(
        channels::resolve_channel(&mut app, web.id).await.expect("lookup"),
        Some((globex, ChannelType::WebChat))
    );
    assert_eq!(channels::resolve_channel(&mut app, ChannelId::new()).await.expect("lookup"), None);
    assert_eq!(
        channels::resolve_by_external_id(&mut app, ChannelType::WhatsApp, "106540352242922").await.expect("lookup"),
        Some((acme, wa.id))
    );
    assert_eq!(
        channels::resolve_by_external_id(&mut app, ChannelType::Messenger, "106540352242922").await.expect("lookup"),
        None,
        "the type is part of the key"
    );
    let widget_key = web.widget_key.clone().expect("web chat has a widget key");
    assert_eq!(channels::resolve_widget(&mut app, &widget_key).await.expect("lookup"), Some((globex, web.id)));
    assert_eq!(channels::resolve_widget(&mut app, "wk_unknownunknownunknownunknown00").await.expect("lookup"), None);
}
