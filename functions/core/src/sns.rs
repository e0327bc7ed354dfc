//! Amazon SNS messages posted to an HTTPS endpoint, and the proof that
//! SNS sent them.
//!
//! Anyone can POST to `/api/mail-events`, so nothing in a message is
//! trusted before its signature is checked against the certificate SNS
//! names in `SigningCertURL`. That URL is itself attacker-controlled
//! until the signature holds, so it is only fetched when it points at an
//! SNS host of AWS over HTTPS; the certificate's authenticity rests on
//! that HTTPS fetch (this is how AWS documents the check).
//!
//! Everything here is pure except [`Fetch`], the one way out to the
//! network, which tests replace with certificates of their own.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::{SignedDuration, Timestamp};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// A message older than this is refused: a captured message cannot be
/// replayed later. SNS keeps a message's `Timestamp` across its retries,
/// so the topic's delivery policy must give up within this hour.
pub const MAX_AGE: SignedDuration = SignedDuration::from_hours(1);

/// Certificates kept in memory at once. SNS signs with a handful; the cap
/// only stops a flood of distinct (valid) URLs from growing the cache.
const CACHED_CERTIFICATES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum MessageType {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Notification => "Notification",
            MessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            MessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

/// The JSON document SNS posts, as received: nothing in it is trusted
/// before [`Verifier::verify`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsMessage {
    #[serde(rename = "Type")]
    pub kind: MessageType,
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    pub signature_version: String,
    pub signature: String,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    /// Confirmations only: the link that confirms the subscription.
    #[serde(rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
    /// Confirmations only.
    pub token: Option<String>,
    /// Notifications only.
    #[serde(rename = "UnsubscribeURL")]
    pub unsubscribe_url: Option<String>,
}

/// The body is not an SNS message at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an SNS message: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

impl Malformed {
    /// Where the JSON went wrong, without serde's own words: they can
    /// quote a value, and a value can be an email address.
    pub fn from_json(what: &str, error: &serde_json::Error) -> Malformed {
        use serde_json::error::Category;
        let kind = match error.classify() {
            Category::Io => "unreadable",
            Category::Syntax => "not JSON",
            Category::Data => "unexpected shape",
            Category::Eof => "cut short",
        };
        Malformed(format!(
            "{what}: {kind} at line {} column {}",
            error.line(),
            error.column()
        ))
    }
}

impl SnsMessage {
    pub fn parse(body: &[u8]) -> Result<SnsMessage, Malformed> {
        serde_json::from_slice(body).map_err(|e| Malformed::from_json("SNS message", &e))
    }

    /// The text SNS signed: for each field of the type's documented list
    /// in that order, its name, a newline, its value, a newline. A
    /// notification's `Subject` is part of it only when present.
    pub fn string_to_sign(&self) -> Result<String, Refusal> {
        let mut fields = vec![("Message", self.message.as_str())];
        fields.push(("MessageId", &self.message_id));
        match self.kind {
            MessageType::Notification => {
                if let Some(subject) = &self.subject {
                    fields.push(("Subject", subject));
                }
                fields.push(("Timestamp", &self.timestamp));
            }
            MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
                let (Some(url), Some(token)) = (&self.subscribe_url, &self.token) else {
                    return Err(Refusal::MissingField);
                };
                fields.push(("SubscribeURL", url));
                fields.push(("Timestamp", &self.timestamp));
                fields.push(("Token", token));
            }
        }
        fields.push(("TopicArn", &self.topic_arn));
        fields.push(("Type", self.kind.as_str()));
        Ok(join(&fields))
    }
}

fn join(fields: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (name, value) in fields {
        text.push_str(name);
        text.push('\n');
        text.push_str(value);
        text.push('\n');
    }
    text
}

/// Why a message is not believed. Each is answered 403; the names are
/// safe to log (no value from the message is in them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    WrongTopic,
    BadTimestamp,
    Stale,
    UnsupportedSignatureVersion,
    /// `SigningCertURL` or `SubscribeURL` is not an SNS URL of AWS.
    UntrustedUrl,
    /// A confirmation without its `SubscribeURL` or `Token`.
    MissingField,
    /// The certificate could not be read, or the URL answered 4xx.
    BadCertificate,
    BadSignature,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::WrongTopic => "wrong_topic",
            Refusal::BadTimestamp => "bad_timestamp",
            Refusal::Stale => "stale",
            Refusal::UnsupportedSignatureVersion => "unsupported_signature_version",
            Refusal::UntrustedUrl => "untrusted_url",
            Refusal::MissingField => "missing_field",
            Refusal::BadCertificate => "bad_certificate",
            Refusal::BadSignature => "bad_signature",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which URLs may be fetched: `https://sns.<region>.amazonaws.com/...`
/// (or `.amazonaws.com.cn`), no user, no port, nothing a parser could
/// read two ways. A certificate's path also ends in `.pem` and carries
/// no query.
pub fn is_sns_url(url: &str, certificate: bool) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || !c.is_ascii())
    {
        return false;
    }
    let end_of_host = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(end_of_host);
    if !is_sns_host(host) || tail.contains('#') {
        return false;
    }
    if certificate {
        tail.starts_with('/') && !tail.contains('?') && tail.ends_with(".pem")
    } else {
        true
    }
}

fn is_sns_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let Some(region) = host.strip_prefix("sns.").and_then(|h| {
        h.strip_suffix(".amazonaws.com")
            .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
    }) else {
        return false;
    };
    !region.is_empty()
        && !region.starts_with('-')
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// SHA1withRSA, the default of an SNS topic.
    V1,
    /// SHA256withRSA, what Estrade's topic is configured with.
    V2,
}

impl SignatureVersion {
    pub fn parse(text: &str) -> Option<SignatureVersion> {
        match text {
            "1" => Some(SignatureVersion::V1),
            "2" => Some(SignatureVersion::V2),
            _ => None,
        }
    }
}

/// Checks `signature` (base64, as in the message) over `signed` with the
/// public key of the certificate `certificate` (DER).
pub fn verify_signature(
    certificate: &[u8],
    version: SignatureVersion,
    signed: &str,
    signature: &str,
) -> Result<(), Refusal> {
    let signature = BASE64
        .decode(signature.trim())
        .map_err(|_| Refusal::BadSignature)?;
    let der = CertificateDer::from(certificate);
    let certificate = webpki::EndEntityCert::try_from(&der).map_err(|_| Refusal::BadCertificate)?;
    let algorithm: &dyn SignatureVerificationAlgorithm = match version {
        SignatureVersion::V1 => &RSA_PKCS1_SHA1,
        SignatureVersion::V2 => webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    };
    certificate
        .verify_signature(algorithm, signed.as_bytes(), &signature)
        .map_err(|_| Refusal::BadSignature)
}

/// SHA1withRSA (PKCS#1 v1.5) for SignatureVersion 1. webpki offers no
/// SHA-1 algorithm (certificates must not use it); SNS still signs
/// messages with it unless the topic asks for version 2.
struct RsaPkcs1Sha1;

static RSA_PKCS1_SHA1: RsaPkcs1Sha1 = RsaPkcs1Sha1;

/// The DER contents of the sha1WithRSAEncryption AlgorithmIdentifier
/// (OID 1.2.840.113549.1.1.5, NULL parameters). Only reported in errors.
const SHA1_WITH_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
];

impl fmt::Debug for RsaPkcs1Sha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RSA_PKCS1_2048_8192_SHA1")
    }
}

impl SignatureVerificationAlgorithm for RsaPkcs1Sha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use aws_lc_rs::signature::{
            RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, UnparsedPublicKey,
        };
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, public_key)
            .verify(message, signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(SHA1_WITH_RSA)
    }
}

/// Reading a URL failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The server answered with this status.
    Status(u16),
    /// No answer: DNS, TLS, timeout, a body too large.
    Unreachable(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Status(code) => write!(f, "answered {code}"),
            FetchError::Unreachable(why) => write!(f, "unreachable: {why}"),
        }
    }
}

impl std::error::Error for FetchError {}

/// GETs a URL over HTTPS: the signing certificate, the confirmation link.
/// The Lambda binary uses hyper with rustls; tests hand out their own
/// certificates and record what was asked.
pub trait Fetch: Send + Sync + 'static {
    /// The body of a 2xx answer; a redirect is not followed.
    fn get(&self, url: &str) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
}

/// A message could not be checked, or was checked and refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not from SNS, or not for us: 403, and SNS would not retry a
    /// message it did not send.
    Refused(Refusal),
    /// The certificate could not be fetched: 503, SNS retries.
    Unavailable(String),
}

impl From<Refusal> for Rejection {
    fn from(refusal: Refusal) -> Rejection {
        Rejection::Refused(refusal)
    }
}

/// Checks messages for one topic, keeping each certificate it fetched.
pub struct Verifier<F> {
    pub fetcher: F,
    topic_arn: String,
    certificates: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

impl<F: Fetch> Verifier<F> {
    pub fn new(fetcher: F, topic_arn: impl Into<String>) -> Verifier<F> {
        Verifier {
            fetcher,
            topic_arn: topic_arn.into(),
            certificates: Mutex::new(HashMap::new()),
        }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Believes `message` only when it is for our topic, fresh, names
    /// trusted URLs and carries a valid signature. The cheap checks come
    /// first, so a forged message never makes us fetch anything.
    pub async fn verify(&self, message: &SnsMessage, now: Timestamp) -> Result<(), Rejection> {
        if message.topic_arn != self.topic_arn {
            return Err(Refusal::WrongTopic.into());
        }
        let sent: Timestamp = message
            .timestamp
            .parse()
            .map_err(|_| Refusal::BadTimestamp)?;
        if now.duration_since(sent) > MAX_AGE {
            return Err(Refusal::Stale.into());
        }
        let version = SignatureVersion::parse(&message.signature_version)
            .ok_or(Refusal::UnsupportedSignatureVersion)?;
        if !is_sns_url(&message.signing_cert_url, true) {
            return Err(Refusal::UntrustedUrl.into());
        }
        if message.kind != MessageType::Notification
            && !message
                .subscribe_url
                .as_deref()
                .is_some_and(|url| is_sns_url(url, false))
        {
            return Err(Refusal::UntrustedUrl.into());
        }
        let signed = message.string_to_sign()?;
        let certificate = self.certificate(&message.signing_cert_url).await?;
        verify_signature(&certificate, version, &signed, &message.signature)?;
        Ok(())
    }

    /// The certificate at `url` as DER, fetched once per URL.
    async fn certificate(&self, url: &str) -> Result<Arc<Vec<u8>>, Rejection> {
        if let Some(known) = self.cached(url) {
            return Ok(known);
        }
        let pem = match self.fetcher.get(url).await {
            Ok(pem) => pem,
            Err(FetchError::Status(code)) if (400..500).contains(&code) => {
                return Err(Refusal::BadCertificate.into());
            }
            Err(e) => return Err(Rejection::Unavailable(e.to_string())),
        };
        let der = CertificateDer::from_pem_slice(&pem).map_err(|_| Refusal::BadCertificate)?;
        webpki::EndEntityCert::try_from(&der).map_err(|_| Refusal::BadCertificate)?;
        let der = Arc::new(der.as_ref().to_vec());
        let mut certificates = self.certificates.lock().unwrap_or_else(|p| p.into_inner());
        if certificates.len() >= CACHED_CERTIFICATES {
            certificates.clear();
        }
        certificates.insert(url.to_owned(), der.clone());
        Ok(der)
    }

    fn cached(&self, url: &str) -> Option<Arc<Vec<u8>>> {
        self.certificates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned()
    }
}
