//! Outgoing email: the [`Mailer`] trait and its three implementations: [`SmtpMailer`] (lettre over rustls,
//! production), [`FileMailer`] (one JSON file per message, the local default) and [`CapturingMailer`] (kept in
//! memory, for tests). [`from_config`] picks one from `mail.*`.
//!
//! Neither an [`Email`] nor a [`MailError`] ever shows a recipient address or a message body in `Debug` or
//! `Display` output: bodies carry single-use tokens and addresses are personal data.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde::Serialize;

use crate::config::{MailConfig, MailTransport};

/// One plain-text message.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// Why a message was not sent. Deliberately free of addresses and server replies (which echo addresses).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient or the configured sender is not a valid mailbox.
    #[error("invalid mailbox")]
    InvalidAddress,
    /// The message could not be assembled.
    #[error("the message could not be built")]
    Build,
    /// The SMTP transport could not be configured from `mail.smtp_url`.
    #[error("mail.smtp_url is not usable")]
    Config,
    /// The SMTP relay refused the message or could not be reached; `kind` says how.
    #[error("SMTP delivery failed ({kind})")]
    Smtp {
        /// `permanent`, `transient`, `timeout`, `tls` or `connection`.
        kind: &'static str,
    },
    /// Writing the message file failed.
    #[error("writing the message file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The future a [`Mailer`] returns.
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Sends email. Object safe, so the application holds an `Arc<dyn Mailer>` chosen by configuration.
pub trait Mailer: Send + Sync + 'static {
    /// Delivers `email` (or hands it to the relay).
    fn send(&self, email: Email) -> MailFuture<'_>;
}

/// The mailer `mail.transport` selects.
pub fn from_config(config: &MailConfig) -> Result<Arc<dyn Mailer>, MailError> {
    let from: Mailbox = config.from.parse().map_err(|_| MailError::InvalidAddress)?;
    Ok(match config.transport {
        MailTransport::Smtp => {
            Arc::new(SmtpMailer::new(config.smtp_url.expose(), from, Duration::from_secs(config.smtp_timeout_secs))?)
        }
        MailTransport::File => Arc::new(FileMailer::new(PathBuf::from(&config.file_dir), from)),
    })
}

fn message(from: &Mailbox, email: &Email) -> Result<Message, MailError> {
    let to: Mailbox = email.to.parse().map_err(|_| MailError::InvalidAddress)?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(email.text.clone())
        .map_err(|_| MailError::Build)
}

/// Delivers through an SMTP relay over TLS (implicit with `smtps://`, STARTTLS with `?tls=required`).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for the relay at `url` (`smtp://` or `smtps://`, credentials in the URL). Connects lazily.
    pub fn new(url: &str, from: Mailbox, timeout: Duration) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| MailError::Config)?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, email: Email) -> MailFuture<'_> {
        Box::pin(async move {
            let message = message(&self.from, &email)?;
            self.transport.send(message).await.map(drop).map_err(|err| {
                let kind = if err.is_permanent() {
                    "permanent"
                } else if err.is_transient() {
                    "transient"
                } else if err.is_timeout() {
                    "timeout"
                } else if err.is_tls() {
                    "tls"
                } else {
                    "connection"
                };
                MailError::Smtp { kind }
            })
        })
    }
}

/// Writes each message as a JSON file (`{from, to, subject, text, createdAt}`) into a directory, for local
/// development: open the newest file in `.local/mail` to follow a verification link.
#[derive(Debug)]
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredEmail<'a> {
    from: String,
    to: &'a str,
    subject: &'a str,
    text: &'a str,
    created_at: String,
}

impl FileMailer {
    /// A mailer writing into `dir` (created on first use).
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self { dir, from }
    }
}

impl Mailer for FileMailer {
    fn send(&self, email: Email) -> MailFuture<'_> {
        Box::pin(async move {
            // the same checks as SMTP, so a bad address fails locally too
            message(&self.from, &email)?;
            let now = Utc::now();
            let stored = StoredEmail {
                from: self.from.to_string(),
                to: &email.to,
                subject: &email.subject,
                text: &email.text,
                created_at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
            };
            let json = serde_json::to_vec_pretty(&stored).map_err(|_| MailError::Build)?;
            tokio::fs::create_dir_all(&self.dir).await?;
            let name = format!("{}-{}.json", now.format("%Y%m%dT%H%M%S%.3fZ"), uuid::Uuid::now_v7().simple());
            tokio::fs::write(self.dir.join(name), json).await?;
            Ok(())
        })
    }
}

/// Keeps every message in memory; clones share the list. For tests.
#[derive(Debug, Clone, Default)]
pub struct CapturingMailer {
    sent: Arc<Mutex<Vec<Email>>>,
}

impl CapturingMailer {
    /// An empty mailer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<Email> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Mailer for CapturingMailer {
    fn send(&self, email: Email) -> MailFuture<'_> {
        Box::pin(async move {
            email.to.parse::<Mailbox>().map_err(|_| MailError::InvalidAddress)?;
            self.sent.lock().unwrap_or_else(PoisonError::into_inner).push(email);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn email() -> Email {
        Email { to: "ada@example.com".into(), subject: "Verify".into(), text: "token=secret-token".into() }
    }

    #[tokio::test]
    async fn capturing_mailer_keeps_messages() {
        let mailer = CapturingMailer::new();
        let shared = mailer.clone();
        mailer.send(email()).await.unwrap();
        assert_eq!(shared.sent(), vec![email()]);
        let bad = Email { to: "not an address".into(), ..email() };
        assert!(matches!(mailer.send(bad).await, Err(MailError::InvalidAddress)));
    }

    #[tokio::test]
    async fn file_mailer_writes_one_json_file_per_message() {
        let dir = std::env::temp_dir().join(format!("metachat-mail-{}", uuid::Uuid::new_v4().simple()));
        let mut config = Config::for_tests().mail;
        config.file_dir = dir.to_string_lossy().into_owned();
        let mailer = from_config(&config).unwrap();
        mailer.send(email()).await.unwrap();
        mailer.send(email()).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 2);
        let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
        assert_eq!(stored["to"], "ada@example.com");
        assert_eq!(stored["subject"], "Verify");
        assert_eq!(stored["text"], "token=secret-token");
        assert_eq!(stored["from"], "Meta Chat <no-reply@localhost>");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn smtp_failures_name_no_address() {
        // nothing listens on port 1: the connection is refused at once
        let from: Mailbox = "Meta Chat <no-reply@localhost>".parse().unwrap();
        let mailer = SmtpMailer::new("smtp://127.0.0.1:1", from, Duration::from_secs(2)).unwrap();
        let err = mailer.send(email()).await.unwrap_err();
        assert!(matches!(err, MailError::Smtp { .. }), "{err:?}");
        assert!(!err.to_string().contains("ada@"), "{err}");
        assert!(!format!("{:?}", email()).contains("ada@") && !format!("{:?}", email()).contains("secret-token"));
    }
}
