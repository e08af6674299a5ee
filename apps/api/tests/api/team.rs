//! The team end to end: invitations by email (captured), accepting them, role changes and removals with their
//! role rules, the last-owner rule (also under concurrent requests), and tenant isolation.
//!
//! The last active owner is protected with 409 `CONFLICT`, `details.field` naming the input: `role` for a
//! demotion, `id` for a removal.

use meta_chat_database::testkit::seed;
use meta_chat_shared::UserRole;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_envelope, spawn_app};
use crate::tenant::{Org, member, org, rows, send};

const PASSWORD: &str = "invited and careful";

/// The token in an emailed link (`...?token=<token>`).
fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

async fn public_post(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.post(&format!("/api/v1{path}")).json(body).send().await.unwrap()
}

async fn invite(app: &TestApp, token: &str, email: &str, role: &str) -> reqwest::Response {
    send(app, Method::POST, "/users", token, Some(json!({ "email": email, "name": "Grace Hopper", "role": role })))
        .await
}

async fn set_role(app: &TestApp, token: &str, user: Uuid, role: &str) -> reqwest::Response {
    send(app, Method::PATCH, &format!("/users/{user}"), token, Some(json!({ "role": role }))).await
}

async fn remove(app: &TestApp, token: &str, user: Uuid) -> reqwest::Response {
    send(app, Method::DELETE, &format!("/users/{user}"), token, None).await
}

/// `role` of user `id` as stored, or `gone`.
async fn stored_role(app: &TestApp, id: Uuid) -> String {
    let found = rows(app, &format!("SELECT role AS value FROM tenant_users WHERE id = '{id}'")).await;
    found.into_iter().next().unwrap_or_else(|| "gone".to_owned())
}

async fn owner_count(app: &TestApp, org: &Org) -> i64 {
    let found = rows(
        app,
        &format!(
            "SELECT count(*)::text AS value FROM tenant_users WHERE tenant_id = '{}' AND role = 'owner'",
            org.seeded.tenant
        ),
    )
    .await;
    found[0].parse().unwrap()
}

/// Invites `email` as `role`, accepts the invitation and returns the new user's id.
async fn joined(app: &TestApp, org: &Org, email: &str, role: &str) -> Uuid {
    let res = invite(app, &org.owner, email, role).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id = Uuid::parse_str(res.json::<Value>().await.unwrap()["id"].as_str().unwrap()).unwrap();
    let token = token_in(&app.email_to(email, "invited").await.text);
    let res = public_post(app, "/auth/accept-invitation", &json!({ "token": token, "password": PASSWORD })).await;
    assert_eq!(res.status(), 200);
    id
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    public_post(app, "/auth/login", &json!({ "email": email, "password": password })).await
}

#[tokio::test]
async fn an_invited_user_accepts_once_and_then_logs_in() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let res = invite(&app, &acme.owner, "Grace@Acme.Example", "agent").await;
    assert_eq!(res.status(), 201);
    let invited: Value = res.json().await.unwrap();
    assert_eq!(invited["email"], "grace@acme.example");
    assert_eq!(invited["role"], "agent");
    assert_eq!(invited["status"], "invited");
    assert_eq!(invited["emailVerified"], false);

    let email = app.email_to("grace@acme.example", "invited").await;
    assert!(email.subject.contains("acme"), "{}", email.subject);
    assert!(email.text.contains("http://127.0.0.1:3007/accept-invitation?token="), "{}", email.text);
    let token = token_in(&email.text);
    let stored =
        rows(&app, "SELECT encode(token_hash, 'hex') AS value FROM email_tokens WHERE purpose = 'invitation'").await;
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&token), "only the hash is stored");

    // no password yet: the same answer as an unknown account
    let res = login(&app, "grace@acme.example", PASSWORD).await;
    assert_envelope(res, 401, "UNAUTHORIZED").await;

    let res = public_post(&app, "/auth/accept-invitation", &json!({ "token": token, "password": "short" })).await;
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "password");
    let res = public_post(&app, "/auth/accept-invitation", &json!({ "token": token, "password": PASSWORD })).await;
    assert_eq!(res.status(), 200);
    let accepted: Value = res.json().await.unwrap();
    assert_eq!(accepted["user"]["id"], invited["id"]);
    assert_eq!(accepted["user"]["emailVerified"], true);
    let res =
        public_post(&app, "/auth/accept-invitation", &json!({ "token": token, "password": "another password" })).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;

    let res = login(&app, "grace@acme.example", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["user"]["role"], "agent");
    let res = send(&app, Method::GET, "/users", session["accessToken"].as_str().unwrap(), None).await;
    assert_eq!(res.status(), 200, "every role lists the team");
    let list: Value = res.json().await.unwrap();
    let statuses: Vec<&str> = list["data"].as_array().unwrap().iter().map(|u| u["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "active"]);
    assert!(list["nextCursor"].is_null());

    let actions = rows(
        &app,
        &format!(
            "SELECT action AS value FROM audit_log WHERE tenant_id = '{}' ORDER BY created_at",
            acme.seeded.tenant
        ),
    )
    .await;
    assert!(
        actions.starts_with(&["team.user_invited".to_owned(), "team.invitation_accepted".to_owned()]),
        "{actions:?}"
    );
}

#[tokio::test]
async fn invitation_tokens_of_other_purposes_and_unknown_tokens_are_refused() {
    let app = spawn_app().await;
    let res =
        public_post(&app, "/auth/accept-invitation", &json!({ "token": "not-a-token", "password": PASSWORD })).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;
    let res =
        public_post(&app, "/auth/accept-invitation", &json!({ "token": "x", "password": PASSWORD, "extra": 1 })).await;
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "extra");
}

#[tokio::test]
async fn invitations_follow_the_role_rules() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let (_, admin) = member(&app, &acme, UserRole::Admin).await;
    let (_, agent) = member(&app, &acme, UserRole::Agent).await;

    assert_envelope(invite(&app, &agent, "a@acme.example", "agent").await, 403, "FORBIDDEN").await;
    assert_envelope(invite(&app, &admin, "b@acme.example", "admin").await, 403, "FORBIDDEN").await;
    assert_eq!(invite(&app, &admin, "c@acme.example", "agent").await.status(), 201);
    assert_eq!(invite(&app, &acme.owner, "d@acme.example", "admin").await.status(), 201);

    let body =
        assert_envelope(invite(&app, &acme.owner, "e@acme.example", "owner").await, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "role");
    let body = assert_envelope(invite(&app, &acme.owner, "not-an-email", "agent").await, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "email");

    // an address that has an account anywhere (here: the owner of another tenant), or an open invitation
    org(&app, "globex").await;
    let body =
        assert_envelope(invite(&app, &acme.owner, "globex@example.com", "agent").await, 409, "EMAIL_EXISTS").await;
    assert_eq!(body["error"]["details"]["field"], "email");
    assert_envelope(invite(&app, &acme.owner, "C@acme.example", "agent").await, 409, "EMAIL_EXISTS").await;
    let invited = rows(
        &app,
        &format!(
            "SELECT count(*)::text AS value FROM tenant_users WHERE tenant_id = '{}' AND status = 'invited'",
            acme.seeded.tenant
        ),
    )
    .await;
    assert_eq!(invited, ["2"]);
}

#[tokio::test]
async fn roles_change_within_the_callers_powers() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let (admin_id, admin) = member(&app, &acme, UserRole::Admin).await;
    let (agent_id, _) = member(&app, &acme, UserRole::Agent).await;

    assert_envelope(set_role(&app, &admin, agent_id, "admin").await, 403, "FORBIDDEN").await;
    assert_envelope(set_role(&app, &admin, acme.seeded.user, "agent").await, 403, "FORBIDDEN").await;
    assert_envelope(set_role(&app, &admin, admin_id, "owner").await, 403, "FORBIDDEN").await;
    let res = set_role(&app, &admin, agent_id, "agent").await;
    assert_eq!(res.status(), 200, "an admin may manage an agent (here: a no-op)");

    let res = set_role(&app, &acme.owner, agent_id, "admin").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "admin");
    let res = set_role(&app, &acme.owner, admin_id, "owner").await;
    assert_eq!(res.status(), 200);
    assert_eq!(stored_role(&app, admin_id).await, "owner");

    let body = assert_envelope(set_role(&app, &acme.owner, agent_id, "boss").await, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "role");
    let res = send(
        &app,
        Method::PATCH,
        &format!("/users/{agent_id}"),
        &acme.owner,
        Some(json!({ "role": "agent", "name": "x" })),
    )
    .await;
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "name");

    let changes = rows(
        &app,
        &format!(
            "SELECT details::text AS value FROM audit_log WHERE tenant_id = '{}' \
             AND action = 'team.role_changed' ORDER BY created_at",
            acme.seeded.tenant
        ),
    )
    .await;
    let changes: Vec<Value> = changes.iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(changes, [json!({ "from": "agent", "to": "admin" }), json!({ "from": "admin", "to": "owner" })]);
}

#[tokio::test]
async fn the_last_owner_can_be_neither_demoted_nor_removed() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let owner = acme.seeded.user;

    let body = assert_envelope(set_role(&app, &acme.owner, owner, "admin").await, 409, "CONFLICT").await;
    assert_eq!(body["error"]["details"]["field"], "role");
    let body = assert_envelope(remove(&app, &acme.owner, owner).await, 409, "CONFLICT").await;
    assert_eq!(body["error"]["details"]["field"], "id");
    assert_eq!(stored_role(&app, owner).await, "owner");

    // an owner who is invited (or disabled) does not count: they cannot act for the tenant
    let (second, second_token) = member(&app, &acme, UserRole::Owner).await;
    let mut conn = seed::connect(&app.db.owner_url()).await;
    seed::exec(&mut conn, &format!("UPDATE tenant_users SET status = 'disabled' WHERE id = '{second}'")).await;
    assert_envelope(set_role(&app, &acme.owner, owner, "agent").await, 409, "CONFLICT").await;
    seed::exec(&mut conn, &format!("UPDATE tenant_users SET status = 'active' WHERE id = '{second}'")).await;

    // with a second active owner, the first may step down; then the second is the last one
    let res = set_role(&app, &acme.owner, owner, "admin").await;
    assert_eq!(res.status(), 200);
    assert_envelope(remove(&app, &second_token, second).await, 409, "CONFLICT").await;
    assert_envelope(set_role(&app, &second_token, second, "agent").await, 409, "CONFLICT").await;
    assert_eq!(owner_count(&app, &acme).await, 1);
}

#[tokio::test]
async fn two_owners_demoting_or_removing_each_other_at_once_leave_an_owner() {
    let app = spawn_app().await;
    for round in 0..4 {
        let acme = org(&app, &format!("acme-{round}")).await;
        let (second, second_token) = member(&app, &acme, UserRole::Owner).await;
        let first = acme.seeded.user;
        let (a, b) = if round % 2 == 0 {
            tokio::join!(set_role(&app, &acme.owner, second, "admin"), set_role(&app, &second_token, first, "admin"))
        } else {
            tokio::join!(remove(&app, &acme.owner, second), remove(&app, &second_token, first))
        };
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        let succeeded = statuses.iter().filter(|s| matches!(s, 200 | 204)).count();
        assert_eq!(succeeded, 1, "round {round}: exactly one change wins, got {statuses:?}");
        // the loser was refused: as the last owner (409), or because it is no longer an owner (403, or 401
        // once removed)
        assert!(statuses.iter().all(|s| matches!(s, 200 | 204 | 401 | 403 | 409)), "round {round}: {statuses:?}");
        assert_eq!(owner_count(&app, &acme).await, 1, "round {round}");
    }
}

#[tokio::test]
async fn removing_a_user_revokes_their_sessions_at_once() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let grace = joined(&app, &acme, "grace@acme.example", "agent").await;
    let session: Value = login(&app, "grace@acme.example", PASSWORD).await.json().await.unwrap();
    let access = session["accessToken"].as_str().unwrap();

    let res = remove(&app, &acme.owner, grace).await;
    assert_eq!(res.status(), 204);
    assert_eq!(stored_role(&app, grace).await, "gone");
    let res = public_post(&app, "/auth/refresh", &json!({ "refreshToken": session["refreshToken"] })).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;
    let res = send(&app, Method::GET, "/users", access, None).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;
    assert_envelope(remove(&app, &acme.owner, grace).await, 404, "NOT_FOUND").await;

    let audit = rows(
        &app,
        &format!(
            "SELECT details::text AS value FROM audit_log WHERE action = 'team.user_removed' AND target_id = '{grace}'"
        ),
    )
    .await;
    let details: Value = serde_json::from_str(&audit[0]).unwrap();
    assert_eq!(details, json!({ "role": "agent", "sessionsRevoked": 1, "self": false }));

    // the address is free again
    assert_eq!(invite(&app, &acme.owner, "grace@acme.example", "agent").await.status(), 201);
}

#[tokio::test]
async fn admins_remove_agents_and_themselves_but_not_owners_or_admins() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let (admin_id, admin) = member(&app, &acme, UserRole::Admin).await;
    let (other_admin, _) = member(&app, &acme, UserRole::Admin).await;
    let (agent_id, _) = member(&app, &acme, UserRole::Agent).await;
    assert_envelope(remove(&app, &admin, acme.seeded.user).await, 403, "FORBIDDEN").await;
    assert_envelope(remove(&app, &admin, other_admin).await, 403, "FORBIDDEN").await;
    assert_eq!(remove(&app, &admin, agent_id).await.status(), 204);
    assert_eq!(remove(&app, &admin, admin_id).await.status(), 204, "leaving the team");
    assert_eq!(stored_role(&app, admin_id).await, "gone");
    assert_eq!(stored_role(&app, other_admin).await, "admin");
}

#[tokio::test]
async fn agents_cannot_manage_the_team() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let (agent_id, agent) = member(&app, &acme, UserRole::Agent).await;
    let (other, _) = member(&app, &acme, UserRole::Agent).await;
    assert_envelope(invite(&app, &agent, "x@acme.example", "agent").await, 403, "FORBIDDEN").await;
    assert_envelope(set_role(&app, &agent, other, "agent").await, 403, "FORBIDDEN").await;
    assert_envelope(set_role(&app, &agent, agent_id, "admin").await, 403, "FORBIDDEN").await;
    assert_envelope(remove(&app, &agent, other).await, 403, "FORBIDDEN").await;
    assert_envelope(remove(&app, &agent, agent_id).await, 403, "FORBIDDEN").await;
    assert_eq!(send(&app, Method::GET, "/users", &agent, None).await.status(), 200);
    assert_eq!(stored_role(&app, other).await, "agent");
}

#[tokio::test]
async fn another_tenants_user_is_not_found_and_not_listed() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let globex = org(&app, "globex").await;
    let foreign = globex.seeded.user;
    assert_envelope(set_role(&app, &acme.owner, foreign, "agent").await, 404, "NOT_FOUND").await;
    assert_envelope(remove(&app, &acme.owner, foreign).await, 404, "NOT_FOUND").await;
    assert_envelope(set_role(&app, &acme.owner, Uuid::now_v7(), "agent").await, 404, "NOT_FOUND").await;
    assert_eq!(stored_role(&app, foreign).await, "owner");

    let list: Value = send(&app, Method::GET, "/users", &acme.owner, None).await.json().await.unwrap();
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [acme.seeded.user.to_string()]);
}

#[tokio::test]
async fn the_team_list_pages_newest_first() {
    let app = spawn_app().await;
    let acme = org(&app, "acme").await;
    let mut ids = vec![acme.seeded.user];
    for _ in 0..4 {
        ids.push(member(&app, &acme, UserRole::Agent).await.0);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/users?limit=2&cursor={c}"),
            None => "/users?limit=2".to_owned(),
        };
        let page: Value = send(&app, Method::GET, &path, &acme.owner, None).await.json().await.unwrap();
        seen.extend(
            page["data"].as_array().unwrap().iter().map(|u| Uuid::parse_str(u["id"].as_str().unwrap()).unwrap()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let res = send(&app, Method::GET, "/users?limit=0", &acme.owner, None).await;
    assert_envelope(res, 400, "VALIDATION_ERROR").await;
    let res = send(&app, Method::GET, "/users?cursor=garbage", &acme.owner, None).await;
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "cursor");
}
