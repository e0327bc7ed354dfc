//! Checking that a message comes from SNS: the string to sign against
//! vectors written from AWS's documented field order, signatures made
//! with a test key (tests/fixtures/sns, test-only), and every way a
//! message can be forged, stale, or point us at another host.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use estrade_functions::sns::{
    Fetch, FetchError, MessageType, Refusal, Rejection, SignatureVersion, SnsMessage, Verifier,
    is_sns_url, verify_signature,
};
use jiff::Timestamp;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use std::collections::HashMap;
use std::sync::Mutex;

const KEY: &[u8] = include_bytes!("fixtures/sns/signing-key.pem");
const CERT: &[u8] = include_bytes!("fixtures/sns/signing-cert.pem");
const OTHER_CERT: &[u8] = include_bytes!("fixtures/sns/other-cert.pem");
const CERT_URL: &str = "https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-test.pem";
const TOPIC: &str = "arn:aws:sns:eu-west-3:123456789012:estrade-mail-events";
const SUBSCRIBE_URL: &str = "https://sns.eu-west-3.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-3:123456789012:estrade-mail-events&Token=2336412f37";
const SENT: &str = "2027-03-01T09:59:00.000Z";

fn now() -> Timestamp {
    "2027-03-01T10:00:00Z".parse().unwrap()
}

/// Serves certificates by URL and remembers every URL asked.
#[derive(Default)]
struct FakeFetcher {
    served: HashMap<String, Result<Vec<u8>, FetchError>>,
    asked: Mutex<Vec<String>>,
}

impl FakeFetcher {
    fn serving(url: &str, body: &[u8]) -> FakeFetcher {
        let mut fetcher = FakeFetcher::default();
        fetcher.served.insert(url.to_owned(), Ok(body.to_vec()));
        fetcher
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Fetch for FakeFetcher {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.asked.lock().unwrap().push(url.to_owned());
        self.served
            .get(url)
            .cloned()
            .unwrap_or(Err(FetchError::Status(404)))
    }
}

fn verifier() -> Verifier<FakeFetcher> {
    Verifier::new(FakeFetcher::serving(CERT_URL, CERT), TOPIC)
}

fn sign(text: &str) -> String {
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let pair = RsaKeyPair::from_pkcs8(key.secret_der()).unwrap();
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        text.as_bytes(),
        &mut signature,
    )
    .unwrap();
    BASE64.encode(signature)
}

fn notification() -> SnsMessage {
    let mut message = SnsMessage {
        kind: MessageType::Notification,
        message_id: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324".to_owned(),
        topic_arn: TOPIC.to_owned(),
        subject: Some("Amazon SES Email Event Notification".to_owned()),
        message: r#"{"eventType":"Delivery","mail":{"messageId":"ses-1"}}"#.to_owned(),
        timestamp: SENT.to_owned(),
        signature_version: "2".to_owned(),
        signature: String::new(),
        signing_cert_url: CERT_URL.to_owned(),
        subscribe_url: None,
        token: None,
        unsubscribe_url: Some("https://sns.eu-west-3.amazonaws.com/?Action=Unsubscribe".to_owned()),
    };
    message.signature = sign(&message.string_to_sign().unwrap());
    message
}

fn confirmation(kind: MessageType) -> SnsMessage {
    let mut message = SnsMessage {
        kind,
        message_id: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b".to_owned(),
        topic_arn: TOPIC.to_owned(),
        subject: None,
        message: "You have chosen to subscribe to the topic.".to_owned(),
        timestamp: SENT.to_owned(),
        signature_version: "2".to_owned(),
        signature: String::new(),
        signing_cert_url: CERT_URL.to_owned(),
        subscribe_url: Some(SUBSCRIBE_URL.to_owned()),
        token: Some("2336412f37".to_owned()),
        unsubscribe_url: None,
    };
    message.signature = sign(&message.string_to_sign().unwrap());
    message
}

async fn refusal(message: &SnsMessage) -> Refusal {
    match verifier().verify(message, now()).await {
        Err(Rejection::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_notification_signs_its_fields_in_the_documented_order() {
    let message = notification();
    let expected = "Message\n{\"eventType\":\"Delivery\",\"mail\":{\"messageId\":\"ses-1\"}}\n\
                    MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
                    Subject\nAmazon SES Email Event Notification\n\
                    Timestamp\n2027-03-01T09:59:00.000Z\n\
                    TopicArn\narn:aws:sns:eu-west-3:123456789012:estrade-mail-events\n\
                    Type\nNotification\n";
    assert_eq!(message.string_to_sign().unwrap(), expected);
}

#[test]
fn a_notification_without_subject_leaves_it_out() {
    let mut message = notification();
    message.subject = None;
    message.message = "line one\nline two".to_owned();
    let expected = "Message\nline one\nline two\n\
                    MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
                    Timestamp\n2027-03-01T09:59:00.000Z\n\
                    TopicArn\narn:aws:sns:eu-west-3:123456789012:estrade-mail-events\n\
                    Type\nNotification\n";
    assert_eq!(message.string_to_sign().unwrap(), expected);
}

#[test]
fn confirmations_sign_the_subscribe_url_and_token() {
    for (kind, name) in [
        (
            MessageType::SubscriptionConfirmation,
            "SubscriptionConfirmation",
        ),
        (
            MessageType::UnsubscribeConfirmation,
            "UnsubscribeConfirmation",
        ),
    ] {
        let message = confirmation(kind);
        let expected = format!(
            "Message\nYou have chosen to subscribe to the topic.\n\
             MessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n\
             SubscribeURL\n{SUBSCRIBE_URL}\n\
             Timestamp\n2027-03-01T09:59:00.000Z\n\
             Token\n2336412f37\n\
             TopicArn\narn:aws:sns:eu-west-3:123456789012:estrade-mail-events\n\
             Type\n{name}\n"
        );
        assert_eq!(message.string_to_sign().unwrap(), expected);
    }
    let mut without_token = confirmation(MessageType::SubscriptionConfirmation);
    without_token.token = None;
    assert_eq!(without_token.string_to_sign(), Err(Refusal::MissingField));
}

#[test]
fn a_posted_body_parses_into_the_message() {
    let body = format!(
        r#"{{"Type":"Notification","MessageId":"m-1","TopicArn":"{TOPIC}",
            "Message":"{{\"eventType\":\"Send\"}}","Timestamp":"{SENT}",
            "SignatureVersion":"2","Signature":"c2ln","SigningCertURL":"{CERT_URL}",
            "UnsubscribeURL":"https://sns.eu-west-3.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes":{{"a":{{"Type":"String","Value":"b"}}}}}}"#
    );
    let message = SnsMessage::parse(body.as_bytes()).unwrap();
    assert_eq!(message.kind, MessageType::Notification);
    assert_eq!(message.message, r#"{"eventType":"Send"}"#);
    assert_eq!(message.subject, None);
    assert_eq!(message.signing_cert_url, CERT_URL);
}

#[test]
fn malformed_bodies_are_refused_without_quoting_them() {
    let bodies: [&[u8]; 9] = [
        b"",
        b"{",
        b"null",
        b"[]",
        b"42",
        b"{\"Type\":\"Notification\"}",
        b"{\"Type\":\"Gossip\",\"MessageId\":\"ana@example.org\"}",
        b"\xff\xfe{}",
        br#"{"Type":"Notification","MessageId":"m","MessageId":"n"}"#,
    ];
    for body in bodies {
        let error = SnsMessage::parse(body).unwrap_err();
        assert!(!error.0.contains("ana@"), "{}", error.0);
        assert!(!error.0.contains("Gossip"), "{}", error.0);
    }
}

#[tokio::test]
async fn a_good_signature_passes_and_the_certificate_is_fetched_once() {
    let verifier = verifier();
    verifier.verify(&notification(), now()).await.unwrap();
    let confirmation = confirmation(MessageType::SubscriptionConfirmation);
    verifier.verify(&confirmation, now()).await.unwrap();
    assert_eq!(verifier.fetcher.asked(), vec![CERT_URL.to_owned()]);
}

#[tokio::test]
async fn each_tampered_field_breaks_the_signature() {
    type Tamper = fn(&mut SnsMessage);
    let tampers: [(&str, Tamper); 7] = [
        ("message", |m| m.message.push(' ')),
        ("message id", |m| m.message_id.push('0')),
        ("subject", |m| m.subject = Some("Other".to_owned())),
        ("subject removed", |m| m.subject = None),
        ("timestamp", |m| {
            m.timestamp = "2027-03-01T09:59:01.000Z".to_owned()
        }),
        ("type", |m| m.kind = MessageType::UnsubscribeConfirmation),
        ("signature", |m| {
            let mut bytes = BASE64.decode(&m.signature).unwrap();
            bytes[10] ^= 1;
            m.signature = BASE64.encode(bytes);
        }),
    ];
    for (what, tamper) in tampers {
        let mut message = notification();
        if what == "type" {
            message.subscribe_url = Some(SUBSCRIBE_URL.to_owned());
            message.token = Some("t".to_owned());
        }
        tamper(&mut message);
        assert_eq!(refusal(&message).await, Refusal::BadSignature, "{what}");
    }

    // The topic is checked before anything is fetched; signed for one
    // topic, the message fails for another configured one.
    let mut message = notification();
    message.topic_arn = "arn:aws:sns:eu-west-3:123456789012:other".to_owned();
    let other_topic = Verifier::new(FakeFetcher::serving(CERT_URL, CERT), &message.topic_arn);
    assert_eq!(
        other_topic.verify(&message, now()).await,
        Err(Rejection::Refused(Refusal::BadSignature))
    );

    let confirmations: [(&str, Tamper); 2] = [
        ("subscribe url", |m| {
            m.subscribe_url = Some(format!("{SUBSCRIBE_URL}0"))
        }),
        ("token", |m| m.token = Some("2336412f38".to_owned())),
    ];
    for (what, tamper) in confirmations {
        let mut message = confirmation(MessageType::SubscriptionConfirmation);
        tamper(&mut message);
        assert_eq!(refusal(&message).await, Refusal::BadSignature, "{what}");
    }
}

#[tokio::test]
async fn a_signature_holds_only_with_its_own_certificate() {
    let verifier = Verifier::new(FakeFetcher::serving(CERT_URL, OTHER_CERT), TOPIC);
    assert_eq!(
        verifier.verify(&notification(), now()).await,
        Err(Rejection::Refused(Refusal::BadSignature))
    );
}

#[tokio::test]
async fn untrusted_certificate_urls_are_refused_without_fetching() {
    let urls = [
        "http://sns.eu-west-3.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.eu-west-3.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.eu-west-3.amazonaws.com/cert.pem",
        "https://sns.eu-west-3.amazonaws.com@evil.example/cert.pem",
        "https://evil.example@sns.eu-west-3.amazonaws.com/cert.pem",
        "https://sns.eu-west-3.amazonaws.com:8443/cert.pem",
        "https://sns.eu-west-3.amazonaws.com/cert.txt",
        "https://sns.eu-west-3.amazonaws.com/cert.pem?x=1",
        "https://sns.eu-west-3.amazonaws.com/cert.pem#x",
        "https://sns.eu-west-3.amazonaws.com\\@evil.example/cert.pem",
        "https://sns..amazonaws.com/cert.pem",
        "https://sns.amazonaws.com/cert.pem",
        "https://sqs.eu-west-3.amazonaws.com/cert.pem",
        "https://sns.eu-west-3.evil.amazonaws.com/cert.pem",
        "https://sns.eu-west-3.amazonaws.com.pem",
        "https://sns.eu-west-3.amazonaws.com /cert.pem",
        "https://sns.eu-west-3.amazonaws.com",
        "",
    ];
    for url in urls {
        let verifier = Verifier::new(FakeFetcher::serving(url, CERT), TOPIC);
        let mut message = notification();
        message.signing_cert_url = url.to_owned();
        assert_eq!(
            verifier.verify(&message, now()).await,
            Err(Rejection::Refused(Refusal::UntrustedUrl)),
            "{url}"
        );
        assert!(verifier.fetcher.asked().is_empty(), "{url} was fetched");
    }
    for url in [
        CERT_URL,
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem",
        "https://SNS.US-EAST-1.AMAZONAWS.COM/SimpleNotificationService-x.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-x.pem",
    ] {
        assert!(is_sns_url(url, true), "{url}");
    }
    assert!(is_sns_url(SUBSCRIBE_URL, false));
    assert!(
        !is_sns_url(SUBSCRIBE_URL, true),
        "a query is no certificate"
    );
}

#[tokio::test]
async fn a_confirmation_must_point_at_sns_before_anything_is_fetched() {
    let mut message = confirmation(MessageType::SubscriptionConfirmation);
    message.subscribe_url = Some("https://evil.example/?Action=ConfirmSubscription".to_owned());
    message.signature = sign(&message.string_to_sign().unwrap());
    let verifier = verifier();
    assert_eq!(
        verifier.verify(&message, now()).await,
        Err(Rejection::Refused(Refusal::UntrustedUrl))
    );
    assert!(verifier.fetcher.asked().is_empty());
}

#[tokio::test]
async fn another_topic_is_refused_without_fetching() {
    let mut message = notification();
    message.topic_arn = "arn:aws:sns:eu-west-3:999999999999:someone-else".to_owned();
    message.signature = sign(&message.string_to_sign().unwrap());
    let verifier = verifier();
    assert_eq!(
        verifier.verify(&message, now()).await,
        Err(Rejection::Refused(Refusal::WrongTopic))
    );
    assert!(verifier.fetcher.asked().is_empty());
}

#[tokio::test]
async fn a_message_older_than_an_hour_is_refused_as_a_replay() {
    let mut message = notification();
    message.timestamp = "2027-03-01T08:59:59.999Z".to_owned();
    message.signature = sign(&message.string_to_sign().unwrap());
    let verifier = verifier();
    assert_eq!(
        verifier.verify(&message, now()).await,
        Err(Rejection::Refused(Refusal::Stale))
    );
    assert!(verifier.fetcher.asked().is_empty());

    message.timestamp = "2027-03-01T09:00:00.000Z".to_owned();
    message.signature = sign(&message.string_to_sign().unwrap());
    verifier.verify(&message, now()).await.unwrap();

    message.timestamp = "yesterday".to_owned();
    message.signature = sign(&message.string_to_sign().unwrap());
    assert_eq!(refusal(&message).await, Refusal::BadTimestamp);
}

/// Signed once with `openssl dgst -sha1` (aws-lc-rs signs no SHA-1) over
/// the string of `v1_message`, with the test key.
const V1_SIGNATURE: &str = "guoMudPRXK/z3f+AuStXDj8pEfBoc5OpzJI2N6pmDOzJBAvznTyA+VZVDe5eI82YS9V6JnUeqmt+qote7lbJpNCwxidFe8NgrbK8GQX0JcQNaNL6hjmudiSRRz3rVzzJpV5x410HubVXpGyew0FFHTwsNh+sOmE+eNAywQNcvqAAUcyOWvfNVz3bwlwrUG2kA0gqyJ47UOnX+aJ5BYemE8jyADlYm5W+N5sOES7YYKZFzBHcTjANsEw1LI3itzUSbfeOf6seOlRJE2QXRjD6EW1znzwO7Yko4572ZHV7+H+XEy07B6P75FDKF24G7mkLTZ/l2kIA9cvvMpjYsupuXg==";

fn v1_message() -> SnsMessage {
    SnsMessage {
        kind: MessageType::Notification,
        message_id: "7b2d2e0a-0000-4000-8000-000000000001".to_owned(),
        topic_arn: TOPIC.to_owned(),
        subject: None,
        message: r#"{"eventType":"Delivery","mail":{"messageId":"ses-v1"}}"#.to_owned(),
        timestamp: SENT.to_owned(),
        signature_version: "1".to_owned(),
        signature: V1_SIGNATURE.to_owned(),
        signing_cert_url: CERT_URL.to_owned(),
        subscribe_url: None,
        token: None,
        unsubscribe_url: None,
    }
}

#[tokio::test]
async fn signature_version_1_is_checked_with_sha1() {
    verifier().verify(&v1_message(), now()).await.unwrap();

    let mut tampered = v1_message();
    tampered.message_id.push('0');
    assert_eq!(refusal(&tampered).await, Refusal::BadSignature);

    let mut as_v2 = v1_message();
    as_v2.signature_version = "2".to_owned();
    assert_eq!(refusal(&as_v2).await, Refusal::BadSignature);

    let mut v2_as_v1 = notification();
    v2_as_v1.signature_version = "1".to_owned();
    assert_eq!(refusal(&v2_as_v1).await, Refusal::BadSignature);

    for version in ["3", "", "2 ", "01"] {
        let mut unknown = notification();
        unknown.signature_version = version.to_owned();
        assert_eq!(
            refusal(&unknown).await,
            Refusal::UnsupportedSignatureVersion,
            "{version:?}"
        );
    }
}

#[test]
fn signatures_that_are_not_base64_or_not_certificates_fail_cleanly() {
    let der = rustls_pki_types::CertificateDer::from_pem_slice(CERT).unwrap();
    let signed = notification().string_to_sign().unwrap();
    assert_eq!(
        verify_signature(&der, SignatureVersion::V2, &signed, "not base64!"),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        verify_signature(b"garbage", SignatureVersion::V2, &signed, "c2ln"),
        Err(Refusal::BadCertificate)
    );
}

#[tokio::test]
async fn certificate_trouble_is_a_refusal_or_a_retry() {
    let mut fetcher = FakeFetcher::default();
    fetcher.served.insert(
        CERT_URL.to_owned(),
        Err(FetchError::Unreachable("timed out".to_owned())),
    );
    let verifier = Verifier::new(fetcher, TOPIC);
    assert!(matches!(
        verifier.verify(&notification(), now()).await,
        Err(Rejection::Unavailable(_))
    ));

    let missing = Verifier::new(FakeFetcher::default(), TOPIC);
    assert_eq!(
        missing.verify(&notification(), now()).await,
        Err(Rejection::Refused(Refusal::BadCertificate))
    );

    let garbage = Verifier::new(FakeFetcher::serving(CERT_URL, b"<html>hi</html>"), TOPIC);
    assert_eq!(
        garbage.verify(&notification(), now()).await,
        Err(Rejection::Refused(Refusal::BadCertificate))
    );
    // A failed fetch is not cached: the next message asks again.
    let _ = garbage.verify(&notification(), now()).await;
    assert_eq!(garbage.fetcher.asked().len(), 2);
}
