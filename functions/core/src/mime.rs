//! The MIME message every mailer sends: SES raw sends and the outbox write
//! the same bytes.
//!
//! The body (text and HTML as `multipart/alternative`, inside
//! `multipart/mixed` when there are attachments) and the encoding of the
//! subject come from mail-builder. The address headers are written here:
//! mail-builder puts an encoded display name inside quotes, which RFC 2047
//! forbids and strict readers then show as `=?utf-8?...`.
//!
//! Nothing a supporter typed can start a header line. Names and subjects
//! are one line: a CR, LF or other control character becomes a space.
//! Addresses, the unsubscribe URL and attachment types cannot be repaired
//! that way, so a message carrying a broken one is refused
//! ([`MailError::Permanent`]).

mod read;

pub use read::{decode_words, header_value};

use crate::mailer::{Attachment, Email, MailError};
use jiff::Timestamp;
use mail_builder::MessageBuilder;
use mail_builder::encoders::base64::base64_encode;
use mail_builder::headers::Header;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::text::Text;
use mail_builder::mime::MimePart;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Header lines are folded before this length (RFC 2047 caps lines with
/// encoded words at 76).
const LINE: usize = 76;

/// UTF-8 bytes per encoded word: 48 base64 characters, 60 with the
/// `=?utf-8?B?` frame, so `From: ` and one word fit a line.
const WORD_BYTES: usize = 36;

/// Builds the message with a new Message-ID on `message_id_domain`.
pub fn build(
    email: &Email,
    message_id_domain: &str,
    date: Timestamp,
) -> Result<Vec<u8>, MailError> {
    let id = message_id(message_id_domain, date)?;
    build_with_id(email, &id, date)
}

/// A new, unique Message-ID (without angle brackets): 16 random hex
/// digits, the time in milliseconds, then `@domain`.
pub fn message_id(domain: &str, at: Timestamp) -> Result<String, MailError> {
    let usable = !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !usable {
        return Err(MailError::Permanent(
            "the Message-ID domain is not a domain name".to_owned(),
        ));
    }
    Ok(format!(
        "{}.{}@{domain}",
        unique_token(),
        at.as_millisecond()
    ))
}

/// 64 unpredictable bits: the standard library's randomly keyed hasher
/// over a process-wide counter, so two calls never share a token.
fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
    std::process::id().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Builds the message with the given Message-ID (without angle brackets).
pub fn build_with_id(
    email: &Email,
    message_id: &str,
    date: Timestamp,
) -> Result<Vec<u8>, MailError> {
    if message_id.contains(['<', '>']) || !is_visible_ascii(message_id) || !message_id.contains('@')
    {
        return Err(MailError::Permanent(
            "the Message-ID is malformed".to_owned(),
        ));
    }
    let from = address(&email.from_address, "the sender")?;
    let to = address(&email.to, "the recipient")?;
    let reply_to = match &email.reply_to {
        Some(reply_to) => Some(address(reply_to, "the reply-to address")?),
        None => None,
    };
    let unsubscribe = match &email.unsubscribe_url {
        Some(url) => Some(unsubscribe_url(url)?),
        None => None,
    };
    let mut body = MessageBuilder::new()
        .text_body(email.text.as_str())
        .html_body(email.html.as_str());
    if !email.attachments.is_empty() {
        let parts = email.attachments.iter().map(attached);
        body.attachments = Some(parts.collect::<Result<_, _>>()?);
    }

    let mut out = Vec::with_capacity(email.html.len() + email.text.len() + 2048);
    let mut line = |name: &str, value: &str| {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    };
    line("Date", &Date::new(date.as_second()).to_rfc822());
    line("Message-ID", &format!("<{message_id}>"));
    line("From", &mailbox("From", email.from_name.as_deref(), from));
    line("To", &mailbox("To", email.to_name.as_deref(), to));
    if let Some(reply_to) = reply_to {
        line("Reply-To", reply_to);
    }
    if let Some(url) = unsubscribe {
        line("List-Unsubscribe", &format!("<{url}>"));
        line("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    }
    out.extend_from_slice(b"Subject: ");
    let subject = one_line(&email.subject);
    let written = Text::new(subject.as_str()).write_header(&mut out, "Subject: ".len());
    written.map_err(unbuildable)?;
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    body.write_body(&mut out).map_err(unbuildable)?;
    Ok(out)
}

fn unbuildable(_: std::io::Error) -> MailError {
    MailError::Permanent("the message body could not be encoded".to_owned())
}

fn is_visible_ascii(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic())
}

/// `value` if it is an address a header can carry as is. The error names
/// the field, never the address.
fn address<'a>(value: &'a str, field: &str) -> Result<&'a str, MailError> {
    if value.is_ascii() && estrade_domain::validate::email(value).is_some() {
        Ok(value)
    } else {
        Err(MailError::Permanent(format!(
            "{field} is not a usable email address"
        )))
    }
}

fn unsubscribe_url(url: &str) -> Result<&str, MailError> {
    let web = url.starts_with("https://") || url.starts_with("http://");
    if web && is_visible_ascii(url) && !url.contains(['<', '>']) && url.len() <= 900 {
        Ok(url)
    } else {
        Err(MailError::Permanent(
            "the unsubscribe URL must be an http(s) URL of visible ASCII".to_owned(),
        ))
    }
}

/// `text` on one line: every run of whitespace or control characters
/// (CR and LF included) becomes one space.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `Name <address>` header value, folded at spaces so that no line is
/// longer than [`LINE`]. A plain ASCII name is quoted; any other is a run
/// of RFC 2047 encoded words, never inside quotes.
fn mailbox(header: &str, name: Option<&str>, address: &str) -> String {
    let name = name.map(one_line).unwrap_or_default();
    let mut tokens = if name.is_empty() {
        Vec::new()
    } else if name.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        let quoted = format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
        // Folding between the words of a quoted string is allowed, and
        // unfolding gives the space back.
        quoted.split(' ').map(str::to_owned).collect()
    } else {
        encoded_words(&name)
    };
    tokens.push(format!("<{address}>"));

    let mut value = String::new();
    let mut length = header.len() + 2;
    for (index, token) in tokens.iter().enumerate() {
        if index > 0 {
            if length + 1 + token.len() > LINE {
                value.push_str("\r\n ");
                length = 1;
            } else {
                value.push(' ');
                length += 1;
            }
        }
        value.push_str(token);
        length += token.len();
    }
    value
}

/// `text` as `=?utf-8?B?...?=` words of at most [`WORD_BYTES`] bytes,
/// each cut at a character boundary.
fn encoded_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(WORD_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, after) = rest.split_at(end);
        let encoded = base64_encode(chunk.as_bytes()).unwrap_or_default();
        words.push(format!("=?utf-8?B?{}?=", String::from_utf8_lossy(&encoded)));
        rest = after;
    }
    words
}

/// The MIME part of one attachment. A `text/*` attachment without a
/// charset is declared UTF-8 when it is.
fn attached(attachment: &Attachment) -> Result<MimePart<'_>, MailError> {
    let mut content_type = content_type(&attachment.content_type)?;
    let has_charset = content_type
        .attributes
        .iter()
        .any(|(key, _)| key.eq_ignore_ascii_case("charset"));
    if content_type.is_text() && !has_charset && std::str::from_utf8(&attachment.bytes).is_ok() {
        content_type = content_type.attribute("charset", "utf-8");
    }
    let file_name: String = one_line(&attachment.file_name)
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '"') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let file_name = if file_name.is_empty() {
        "attachment".to_owned()
    } else {
        file_name
    };
    Ok(MimePart::new(content_type, attachment.bytes.as_slice()).attachment(file_name))
}

/// Parses `type/subtype; key=value; key="value"`, refusing anything that
/// is not plain tokens.
fn content_type(text: &str) -> Result<ContentType<'static>, MailError> {
    let refused = || MailError::Permanent("an attachment has a malformed content type".to_owned());
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let mut parts = text.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default().to_ascii_lowercase();
    match media.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => {}
        _ => return Err(refused()),
    }
    let mut content_type = ContentType::new(media);
    for parameter in parts.filter(|p| !p.is_empty()) {
        let (key, value) = parameter.split_once('=').ok_or_else(refused)?;
        let (key, value) = (key.trim(), value.trim());
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let value_ok = value.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
        if !token(key) || !value_ok || value.contains(['"', '\\']) {
            return Err(refused());
        }
        content_type = content_type.attribute(key.to_ascii_lowercase(), value.to_owned());
    }
    Ok(content_type)
}
