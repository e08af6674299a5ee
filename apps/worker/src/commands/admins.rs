//! `create-admin`, `disable-admin`, `enable-admin`, `set-admin-password`: the only way platform
//! administrators come to exist. Passwords are read from standard input (never from the command line,
//! where `ps` and shell history would show them; never from a default), must be 12 to 128 characters, and
//! are stored as argon2id hashes. Each command writes an `admin.*` entry to the audit log in the same
//! transaction as its change, as the owner role (`database.admin_url`).

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use meta_chat_database::audit::{self, Actor, NewAuditEntry, RequestOrigin};
use meta_chat_database::platform_admins::{self, EMAIL_UNIQUE, NewPlatformAdmin, PlatformAdmin};
use meta_chat_database::{DbError, platform, pool};
use meta_chat_shared::Config;
use meta_chat_shared::auth::password;
use serde_json::json;

/// Shortest password accepted for an administrator.
pub(crate) const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (the login route accepts no more).
pub(crate) const MAX_PASSWORD_CHARS: usize = 128;
/// Bytes read from standard input at most: a password is short, anything longer is a mistake.
const MAX_STDIN_BYTES: u64 = 4096;

const APPLICATION_NAME: &str = "metachat-worker-admins";

/// `create-admin --email E --name N`, password on standard input. Prints the new admin's id.
pub(crate) async fn create(config: &Config, email: &str, name: &str) -> anyhow::Result<ExitCode> {
    let email = normalize_email(email)?;
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        bail!("--name must be 1 to 200 characters");
    }
    let hash = hash_password(read_password()?).await?;
    let pool = pool::build_admin(&config.database, APPLICATION_NAME)?;
    let mut conn = pool.get().await.map_err(DbError::from)?;
    let admin = platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            let new = NewPlatformAdmin { email: &email, name: &name, password_hash: &hash };
            let admin = platform_admins::insert(conn, &new).await?;
            record(conn, &admin, "admin.account_created").await?;
            Ok::<_, DbError>(admin)
        })
    })
    .await
    .map_err(|err| match err {
        DbError::Conflict(constraint) if constraint == EMAIL_UNIQUE => {
            anyhow::anyhow!("a platform admin with this email already exists")
        }
        other => other.into(),
    })?;
    tracing::info!(admin.id = %admin.id, "platform admin created");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", admin.id)?;
    Ok(ExitCode::SUCCESS)
}

/// `disable-admin --email E` / `enable-admin --email E`.
pub(crate) async fn set_disabled(config: &Config, email: &str, disabled: bool) -> anyhow::Result<ExitCode> {
    let email = normalize_email(email)?;
    let pool = pool::build_admin(&config.database, APPLICATION_NAME)?;
    let mut conn = pool.get().await.map_err(DbError::from)?;
    let action = if disabled { "admin.account_disabled" } else { "admin.account_enabled" };
    let admin = platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            let Some(admin) = platform_admins::set_disabled(conn, &email, disabled).await? else {
                return Ok(None);
            };
            record(conn, &admin, action).await?;
            Ok::<_, DbError>(Some(admin))
        })
    })
    .await?
    .context("no platform admin has this email")?;
    tracing::info!(admin.id = %admin.id, disabled, "platform admin updated");
    Ok(ExitCode::SUCCESS)
}

/// `set-admin-password --email E`, the new password on standard input.
pub(crate) async fn set_password(config: &Config, email: &str) -> anyhow::Result<ExitCode> {
    let email = normalize_email(email)?;
    let hash = hash_password(read_password()?).await?;
    let pool = pool::build_admin(&config.database, APPLICATION_NAME)?;
    let mut conn = pool.get().await.map_err(DbError::from)?;
    let admin = platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            let Some(admin) = platform_admins::set_password(conn, &email, &hash).await? else {
                return Ok(None);
            };
            record(conn, &admin, "admin.password_changed").await?;
            Ok::<_, DbError>(Some(admin))
        })
    })
    .await?
    .context("no platform admin has this email")?;
    tracing::info!(admin.id = %admin.id, "platform admin password changed");
    Ok(ExitCode::SUCCESS)
}

async fn record(
    conn: &mut meta_chat_database::AsyncPgConnection,
    admin: &PlatformAdmin,
    action: &str,
) -> Result<(), DbError> {
    let origin = RequestOrigin::default();
    let entry = NewAuditEntry {
        actor: Actor::System,
        action,
        target_type: Some("platform_admin"),
        target_id: Some(admin.id.to_string()),
        origin: &origin,
        details: json!({ "via": "meta-chat-worker" }),
    };
    audit::insert_platform(conn, &entry).await.map(drop)
}

/// Lower case, trimmed, and shaped like an address (the table's CHECK says the same).
fn normalize_email(email: &str) -> anyhow::Result<String> {
    let email = email.trim().to_lowercase();
    let shaped = email.len() <= 320
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !email.contains(char::is_whitespace)
        });
    if shaped { Ok(email) } else { bail!("--email is not an email address") }
}

/// Reads the password from standard input: everything up to the end, without one trailing line break.
/// Refuses a terminal, where the password would be echoed (pipe it in instead).
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!(
            "the password is read from standard input and would be echoed on a terminal; pipe it in, e.g. \
             `read -rs PW && printf '%s' \"$PW\" | meta-chat-worker create-admin ...`"
        );
    }
    let mut bytes = Vec::new();
    stdin.lock().take(MAX_STDIN_BYTES + 1).read_to_end(&mut bytes).context("read the password from stdin")?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the password is not UTF-8"))?;
    check_password(text)
}

fn check_password(mut text: String) -> anyhow::Result<String> {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    let chars = text.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        bail!("the password must have at least {MIN_PASSWORD_CHARS} characters");
    }
    if chars > MAX_PASSWORD_CHARS {
        bail!("the password must have at most {MAX_PASSWORD_CHARS} characters");
    }
    Ok(text)
}

async fn hash_password(plain: String) -> anyhow::Result<String> {
    // argon2 costs ~0.15 s of CPU: keep it off the async worker thread
    let hash = tokio::task::spawn_blocking(move || password::hash(&plain)).await??;
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_lose_one_line_break_and_must_be_12_to_128_characters() {
        assert_eq!(check_password("correct horse battery\n".into()).unwrap(), "correct horse battery");
        assert_eq!(check_password("correct horse battery\r\n".into()).unwrap(), "correct horse battery");
        assert_eq!(check_password("  twelve chars  ".into()).unwrap(), "  twelve chars  ");
        assert!(check_password("elevenchars\n".into()).is_err());
        assert!(check_password("ünïcödé-ok!!".into()).is_ok());
        assert!(check_password("x".repeat(129)).is_err());
        assert!(check_password(String::new()).is_err());
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(normalize_email("  Ops@Example.COM ").unwrap(), "ops@example.com");
        for bad in ["", "ops", "@example.com", "ops@", "a@b@c", "o ps@example.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
