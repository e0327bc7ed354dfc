//! Sending email: SES v2 on AWS (in `estrade-aws`), an outbox folder of
//! `.eml` files locally. Both send the same MIME message, built here.

use std::fmt;
use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One message to one recipient, fully rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub to_name: Option<String>,
    pub from_address: String,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The recipient's one-click unsubscribe URL: marketing messages carry
    /// it as `List-Unsubscribe` with `List-Unsubscribe-Post`.
    pub unsubscribe_url: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The broadcast this message is one of: SES tags the message with it
    /// (`broadcast`), and echoes the tag in bounce and complaint events.
    pub broadcast: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailError {
    /// Try again later (throttled, unreachable).
    Transient(String),
    /// This message cannot be sent (refused address, bad message).
    Permanent(String),
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::Transient(why) => write!(f, "mail not sent, try again: {why}"),
            MailError::Permanent(why) => write!(f, "mail refused: {why}"),
        }
    }
}

impl std::error::Error for MailError {}

pub trait Mailer: Send + Sync + 'static {
    /// Sends `email`; returns the message id.
    fn send(&self, email: &Email) -> impl Future<Output = Result<String, MailError>> + Send;
}
