//! [`Mailer`] over SES v2.
//!
//! Messages go as raw MIME (built by [`estrade_functions::mime`], the same
//! bytes the outbox writes), not as SES "simple" content: only a raw
//! message carries our own headers, `List-Unsubscribe` and
//! `List-Unsubscribe-Post` above all, and attachments.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use estrade_functions::mailer::{Email, MailError, Mailer};
use estrade_functions::mime;
use jiff::Timestamp;

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    message_id_domain: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// A mailer whose `Message-ID`s end in `@message_id_domain` (the
    /// sending domain, whose identity must be verified in SES).
    pub fn new(client: Client, message_id_domain: impl Into<String>) -> SesMailer {
        SesMailer {
            client,
            message_id_domain: message_id_domain.into(),
            configuration_set: None,
        }
    }

    /// Sends through a configuration set, whose event destination reports
    /// bounces and complaints to the `mail-events` function.
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> SesMailer {
        self.configuration_set = Some(name.into());
        self
    }
}

impl Mailer for SesMailer {
    /// Returns the SES message id, which bounce and complaint events quote.
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let bytes = mime::build(email, &self.message_id_domain, Timestamp::now())?;
        let raw = RawMessage::builder()
            .data(Blob::new(bytes))
            .build()
            .map_err(|_| MailError::Permanent("SES: the raw message could not be built".into()))?;
        let sent = self
            .client
            .send_email()
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(broadcast_tag(email.broadcast.as_deref()))
            .send()
            .await
            .map_err(mail_error)?;
        // Sent, even without an id: an error here would send it twice.
        Ok(sent.message_id.unwrap_or_default())
    }
}

/// The message tag `broadcast`, which SES writes back in `mail.tags` of
/// the message's events (so a complaint is counted for its broadcast).
/// SES takes only ASCII letters, digits, `_` and `-` in a tag, at most
/// 256: an email name always fits (see `estrade_site::emails`), anything
/// else goes untagged rather than be refused.
fn broadcast_tag(broadcast: Option<&str>) -> Option<Vec<MessageTag>> {
    let name = broadcast?;
    let fits = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !fits {
        return None;
    }
    let tag = MessageTag::builder()
        .name(estrade_functions::broadcasts::TAG)
        .value(name)
        .build()
        .ok()?;
    Some(vec![tag])
}

/// Throttling, quotas, an unreachable or failing service and setup
/// problems someone can fix (a paused account, a missing configuration
/// set) are worth retrying; a message SES refuses as such is not. Only the
/// error code is kept: SES messages quote addresses.
fn mail_error(err: SdkError<SendEmailError, HttpResponse>) -> MailError {
    let service = match &err {
        SdkError::ServiceError(service) => service,
        SdkError::ConstructionFailure(_) => {
            return MailError::Permanent("SES: the request could not be built".into());
        }
        SdkError::TimeoutError(_) => return MailError::Transient("SES: timed out".into()),
        SdkError::DispatchFailure(_) => return MailError::Transient("SES: unreachable".into()),
        _ => return MailError::Transient("SES: unreadable response".into()),
    };
    let code = service.err().code().unwrap_or("unknown error");
    let why = format!("SES {code}");
    match service.err() {
        SendEmailError::MessageRejected(_)
        | SendEmailError::MailFromDomainNotVerifiedException(_)
        | SendEmailError::BadRequestException(_) => MailError::Permanent(why),
        SendEmailError::TooManyRequestsException(_)
        | SendEmailError::LimitExceededException(_)
        | SendEmailError::SendingPausedException(_)
        | SendEmailError::AccountSuspendedException(_)
        | SendEmailError::NotFoundException(_) => MailError::Transient(why),
        _ => {
            let status = service.raw().status().as_u16();
            if status >= 500 || status == 429 {
                MailError::Transient(why)
            } else {
                MailError::Permanent(why)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::error::ErrorMetadata;
    use aws_sdk_sesv2::types::error::{MessageRejected, TooManyRequestsException};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn refused(error: SendEmailError, status: u16) -> MailError {
        let response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        mail_error(SdkError::service_error(error, response))
    }

    #[test]
    fn a_broadcast_is_tagged_when_ses_can_take_its_name() {
        let tags = broadcast_tag(Some("lettre-ecologie_2")).unwrap();
        assert_eq!(
            (tags[0].name(), tags[0].value()),
            ("broadcast", "lettre-ecologie_2")
        );
        assert!(broadcast_tag(Some("lettre écologie")).is_none());
        assert!(broadcast_tag(None).is_none());
    }

    #[test]
    fn throttling_and_server_errors_are_retried_refusals_are_not() {
        let throttled = SendEmailError::TooManyRequestsException(
            TooManyRequestsException::builder()
                .message("slow down")
                .build(),
        );
        assert!(matches!(refused(throttled, 429), MailError::Transient(_)));

        let address = "Address blacklisted: ana@example.fr";
        let rejected = SendEmailError::MessageRejected(
            MessageRejected::builder()
                .message(address)
                .meta(ErrorMetadata::builder().code("MessageRejected").build())
                .build(),
        );
        assert_eq!(
            refused(rejected, 400),
            MailError::Permanent("SES MessageRejected".into()),
            "the code is kept, the message (which quotes the address) is not"
        );

        let failing =
            SendEmailError::generic(ErrorMetadata::builder().code("InternalFailure").build());
        assert!(matches!(refused(failing, 500), MailError::Transient(_)));
        let unknown = SendEmailError::generic(ErrorMetadata::builder().code("Unexpected").build());
        assert!(matches!(refused(unknown, 400), MailError::Permanent(_)));
    }
}
