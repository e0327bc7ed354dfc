//! Signed links: confirm an address, unsubscribe, cancel an RSVP. A token
//! is `purpose.key-id.payload.signature`, base64url without padding, the
//! signature an HMAC-SHA256 of everything before it. Several keys may be
//! known at once: the first signs, all verify, so a key can be rotated
//! without breaking the links already sent.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Unsubscribe,
    CancelRsvp,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Unsubscribe => "unsub",
            Purpose::CancelRsvp => "cancel",
        }
    }
}

/// The signing keys, newest first.
#[derive(Clone)]
pub struct Keys {
    keys: Vec<(String, Vec<u8>)>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret.
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "Keys({ids:?})")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    Empty,
    Malformed(String),
    TooShort(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => write!(
                f,
                "no token key: set ESTRADE_TOKEN_KEYS to `id:secret` (secret: 32 bytes or more, base64)"
            ),
            KeyError::Malformed(id) => write!(f, "token key `{id}` is not `id:base64-secret`"),
            KeyError::TooShort(id) => write!(f, "token key `{id}` is shorter than 32 bytes"),
        }
    }
}

impl std::error::Error for KeyError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    WrongPurpose,
    UnknownKey,
    BadSignature,
    Expired,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub subject: String,
    /// A second value: the event of an RSVP to cancel.
    pub detail: String,
    pub expires: Option<Timestamp>,
}

impl Keys {
    /// The `id:base64secret` line for a new key made of `secret` (32
    /// random bytes or more), as [`Keys::parse`] reads it.
    pub fn line(id: &str, secret: &[u8]) -> String {
        format!(
            "{id}:{}",
            base64::engine::general_purpose::STANDARD.encode(secret)
        )
    }

    /// Reads `id:base64secret,id2:base64secret` (the first one signs).
    pub fn parse(text: &str) -> Result<Keys, KeyError> {
        let mut keys = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, secret) = part
                .split_once(':')
                .ok_or_else(|| KeyError::Malformed("?".to_owned()))?;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(KeyError::Malformed(id.to_owned()));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(secret)
                .or_else(|_| B64.decode(secret))
                .map_err(|_| KeyError::Malformed(id.to_owned()))?;
            if bytes.len() < 32 {
                return Err(KeyError::TooShort(id.to_owned()));
            }
            keys.push((id.to_owned(), bytes));
        }
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Keys { keys })
    }

    fn mac(secret: &[u8], signed: &str) -> HmacSha256 {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        mac.update(signed.as_bytes());
        mac
    }

    /// The supporter's share code: what their personal share links carry
    /// (`?ref=...`) so that the people they bring are credited to them.
    /// It names nobody to whoever reads the link: an HMAC of the address
    /// under the signing key, cut to 72 bits, 12 characters. The same
    /// address always gets the same code while the key is unchanged;
    /// [`Keys::share_codes`] gives the codes of every key, to tell whose
    /// code a stored one is after a rotation.
    pub fn share_code(&self, email: &str) -> String {
        let (_, secret) = &self.keys[0];
        share_code_with(secret, email)
    }

    /// The address's share code under each known key, newest first.
    pub fn share_codes(&self, email: &str) -> Vec<String> {
        self.keys
            .iter()
            .map(|(_, secret)| share_code_with(secret, email))
            .collect()
    }

    pub fn sign(&self, purpose: Purpose, claims: &Claims) -> String {
        let (id, secret) = &self.keys[0];
        let expires = claims.expires.map_or(0, |t| t.as_second());
        let payload = B64.encode(format!("{}\n{}\n{expires}", claims.subject, claims.detail));
        let signed = format!("{}.{id}.{payload}", purpose.as_str());
        let signature = B64.encode(Self::mac(secret, &signed).finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    pub fn verify(
        &self,
        purpose: Purpose,
        token: &str,
        now: Timestamp,
    ) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(p), Some(id), Some(payload), Some(signature), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        if p != purpose.as_str() {
            return Err(TokenError::WrongPurpose);
        }
        let secret = self
            .keys
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, s)| s)
            .ok_or(TokenError::UnknownKey)?;
        let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
        let signed = &token[..token.len() - token.rsplit('.').next().map_or(0, str::len) - 1];
        Self::mac(secret, signed)
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = B64.decode(payload).map_err(|_| TokenError::Malformed)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
        let mut fields = payload.splitn(3, '\n');
        let (Some(subject), Some(detail), Some(expires)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(TokenError::Malformed);
        };
        let expires: i64 = expires.parse().map_err(|_| TokenError::Malformed)?;
        let expires = if expires == 0 {
            None
        } else {
            Some(Timestamp::from_second(expires).map_err(|_| TokenError::Malformed)?)
        };
        if expires.is_some_and(|e| e < now) {
            return Err(TokenError::Expired);
        }
        Ok(Claims {
            subject: subject.to_owned(),
            detail: detail.to_owned(),
            expires,
        })
    }
}

const SHARE_CODE_BYTES: usize = 9;

fn share_code_with(secret: &[u8], email: &str) -> String {
    let digest = Keys::mac(secret, &format!("share\n{email}"))
        .finalize()
        .into_bytes();
    B64.encode(&digest[..SHARE_CODE_BYTES])
}

/// Whether `text` has the shape of a share code (12 base64url
/// characters): anything else in a `ref` field is ignored unread.
pub fn is_share_code(text: &str) -> bool {
    text.len() == 12
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const K2: &str = "k2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

    fn claims(expires: Option<&str>) -> Claims {
        Claims {
            subject: "ana@example.fr".into(),
            detail: "/agenda/reunion/".into(),
            expires: expires.map(|e| e.parse().unwrap()),
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let keys = Keys::parse(K1).unwrap();
        let now = "2027-01-01T00:00:00Z".parse().unwrap();
        let token = keys.sign(Purpose::Unsubscribe, &claims(None));
        assert_eq!(
            keys.verify(Purpose::Unsubscribe, &token, now),
            Ok(claims(None))
        );
        assert_eq!(
            keys.verify(Purpose::Confirm, &token, now),
            Err(TokenError::WrongPurpose)
        );
        let mut forged = token.clone();
        forged.replace_range(forged.len() - 3.., "AAA");
        assert_eq!(
            keys.verify(Purpose::Unsubscribe, &forged, now),
            Err(TokenError::BadSignature)
        );
        let other_subject = token.replacen(
            token.split('.').nth(2).unwrap(),
            &B64.encode("eve@x.fr\n\n0"),
            1,
        );
        assert_eq!(
            keys.verify(Purpose::Unsubscribe, &other_subject, now),
            Err(TokenError::BadSignature)
        );
        for junk in ["", "a.b", "unsub.k1.x.y.z", "unsub.k1.!!.!!"] {
            assert!(
                keys.verify(Purpose::Unsubscribe, junk, now).is_err(),
                "{junk}"
            );
        }
    }

    #[test]
    fn expired_tokens_are_refused() {
        let keys = Keys::parse(K1).unwrap();
        let token = keys.sign(Purpose::Confirm, &claims(Some("2027-01-08T00:00:00Z")));
        let before = "2027-01-07T23:59:59Z".parse().unwrap();
        let after = "2027-01-08T00:00:01Z".parse().unwrap();
        assert!(keys.verify(Purpose::Confirm, &token, before).is_ok());
        assert_eq!(
            keys.verify(Purpose::Confirm, &token, after),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_rotated_key_still_verifies_old_links() {
        let old = Keys::parse(K1).unwrap();
        let token = old.sign(Purpose::Unsubscribe, &claims(None));
        let rotated = Keys::parse(&format!("{K2},{K1}")).unwrap();
        let now = "2027-01-01T00:00:00Z".parse().unwrap();
        assert!(rotated.verify(Purpose::Unsubscribe, &token, now).is_ok());
        assert!(
            rotated
                .sign(Purpose::Unsubscribe, &claims(None))
                .starts_with("unsub.k2.")
        );
        let retired = Keys::parse(K2).unwrap();
        assert_eq!(
            retired.verify(Purpose::Unsubscribe, &token, now),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn keys_are_checked_and_never_printed() {
        assert_eq!(Keys::parse("").unwrap_err(), KeyError::Empty);
        assert_eq!(
            Keys::parse("k1:c2hvcnQ=").unwrap_err(),
            KeyError::TooShort("k1".into())
        );
        assert!(!format!("{:?}", Keys::parse(K1).unwrap()).contains("MDEy"));
    }

    #[test]
    fn share_codes_are_stable_opaque_and_follow_rotation() {
        let old = Keys::parse(&Keys::line("k1", &[7; 32])).expect("keys");
        let code = old.share_code("ana@example.fr");
        assert!(is_share_code(&code), "{code}");
        assert!(!code.contains("ana"));
        assert_eq!(code, old.share_code("ana@example.fr"));
        assert_ne!(code, old.share_code("bob@example.fr"));
        let rotated = Keys::parse(&format!(
            "{},{}",
            Keys::line("k2", &[9; 32]),
            Keys::line("k1", &[7; 32])
        ))
        .expect("keys");
        assert_ne!(rotated.share_code("ana@example.fr"), code);
        assert_eq!(rotated.share_codes("ana@example.fr")[1], code);
        for junk in ["", "short", "abcdefghijk!", "abcdefghijklm", "é2345678901"] {
            assert!(!is_share_code(junk), "{junk}");
        }
    }
}
