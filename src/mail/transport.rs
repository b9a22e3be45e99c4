//! Sending one mail over SMTP with lettre: a `multipart/alternative` message (plain text, then
//! HTML), over STARTTLS, TLS, or clear text to a loopback relay, as `KEYCARD_SMTP_URL` says
//! ([`crate::core::config::SmtpServer`]). Only the worker calls this, never a request.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::outbox::Claimed;
use crate::core::config::{MailConfig, SmtpSecurity};
use crate::core::secrets::SecretKey;

/// Each SMTP command (connecting included) must be answered within this.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// A whole send (connect, TLS, AUTH, the message, QUIT) must finish within this; the worker relies
/// on it to finish every send it starts before its lease ends.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// An SMTP client for one server and sender. Cheap to share: each send opens its own connection.
#[derive(Clone)]
pub struct Transport {
    smtp: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Opens the bodies the outbox sealed.
    key: Arc<SecretKey>,
    /// Where the server is, for logs (no credentials).
    pub server: String,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").field("server", &self.server).field("from", &self.from).finish()
    }
}

/// Why a send failed; the worker treats each kind differently.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The row cannot become a valid message (e.g. an invalid address): retrying cannot help.
    #[error("cannot build the message: {0}")]
    Unbuildable(String),
    /// The server answered with an error (4xx or 5xx) about this mail or this client.
    #[error("the SMTP server refused: {0}")]
    Refused(String),
    /// No answer: connection refused, TLS failure, timeout. Other mails would fare no better now.
    #[error("the SMTP server is unreachable: {0}")]
    Unreachable(String),
}

impl Transport {
    /// A client for `config`; fails only when the TLS settings cannot be prepared.
    pub fn new(config: &MailConfig, key: Arc<SecretKey>) -> Result<Transport, lettre::transport::smtp::Error> {
        let server = &config.smtp;
        let tls = match server.security {
            SmtpSecurity::StartTls => Tls::Required(TlsParameters::new(server.host.clone())?),
            SmtpSecurity::ImplicitTls => Tls::Wrapper(TlsParameters::new(server.host.clone())?),
            SmtpSecurity::Plain => Tls::None,
        };
        // "Dangerous" only in that lettre's URL parsing and TLS defaults are bypassed: the
        // security mode was checked in the configuration.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone())
            .port(server.port)
            .tls(tls)
            .timeout(Some(COMMAND_TIMEOUT));
        if let Some((user, password)) = &server.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
        }
        if let Some(name) = &server.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        let security = match server.security {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::ImplicitTls => "tls",
            SmtpSecurity::Plain => "plain",
        };
        Ok(Transport {
            smtp: builder.build(),
            from: config.from.clone(),
            key,
            server: format!("{}:{} ({security})", server.host, server.port),
        })
    }

    /// Sends the claimed row, within [`SEND_TIMEOUT`].
    pub async fn send(&self, mail: &Claimed) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match tokio::time::timeout(SEND_TIMEOUT, self.smtp.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(err)) if err.is_transient() || err.is_permanent() => Err(SendError::Refused(err.to_string())),
            Ok(Err(err)) => Err(SendError::Unreachable(err.to_string())),
            Err(_elapsed) => Err(SendError::Unreachable(format!("no answer within {SEND_TIMEOUT:?}"))),
        }
    }

    fn open(&self, sealed: &str) -> Result<String, SendError> {
        super::outbox::open_body(&self.key, sealed)
            .ok_or_else(|| SendError::Unbuildable("the body does not open with this server's key".into()))
    }

    /// The message for a row. Its Message-ID is derived from the row, so a mail sent twice (after
    /// a crash between sending and marking) is recognisably the same mail.
    pub fn message(&self, mail: &Claimed) -> Result<Message, SendError> {
        let to: Mailbox = mail.to.parse().map_err(|e| SendError::Unbuildable(format!("recipient: {e}")))?;
        let message_id = format!("<keycard.{}.{}@{}>", mail.id, mail.created_at, self.from.email.domain());
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(message_id))
            .multipart(MultiPart::alternative_plain_html(self.open(&mail.text_body)?, self.open(&mail.html_body)?))
            .map_err(|e| SendError::Unbuildable(e.to_string()))
    }
}
