//! A form as a client sent it: decoded from `application/x-www-form-urlencoded`
//! or JSON into name/value pairs, within limits, before any validation.

use std::fmt;

/// Largest body a form function accepts. The longest form (volunteer,
/// with a 1,000-character text) fits in a few kilobytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most fields a form may carry (checkbox groups repeat their name).
pub const MAX_FIELDS: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    TooLarge,
    TooManyFields,
    /// The bytes are not UTF-8 once percent-decoded.
    NotUtf8,
    /// Not the shape the content type promises; the text says where.
    Malformed(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge => write!(f, "the form is larger than {MAX_BODY_BYTES} bytes"),
            DecodeError::TooManyFields => write!(f, "the form has more than {MAX_FIELDS} fields"),
            DecodeError::NotUtf8 => write!(f, "the form is not UTF-8 text"),
            DecodeError::Malformed(why) => write!(f, "the form is malformed: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl Submission {
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Submission {
        Submission {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The first value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order (checkbox groups).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Decodes `application/x-www-form-urlencoded`.
    pub fn from_urlencoded(body: &[u8]) -> Result<Submission, DecodeError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(DecodeError::TooLarge);
        }
        let mut pairs = Vec::new();
        for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            if pairs.len() == MAX_FIELDS {
                return Err(DecodeError::TooManyFields);
            }
            let (name, value) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            pairs.push((percent_decode(name)?, percent_decode(value)?));
        }
        Ok(Submission { pairs })
    }

    /// Decodes a JSON object whose values are text, numbers, booleans,
    /// null or lists of text (a checkbox group).
    pub fn from_json(body: &[u8]) -> Result<Submission, DecodeError> {
        use serde_json::Value;
        if body.len() > MAX_BODY_BYTES {
            return Err(DecodeError::TooLarge);
        }
        std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
        let object: serde_json::Map<String, Value> = serde_json::from_slice(body)
            .map_err(|e| DecodeError::Malformed(format!("not a JSON object of fields ({e})")))?;
        let mut pairs = Vec::new();
        for (name, value) in object {
            let values = match value {
                Value::String(text) => vec![text],
                Value::Number(n) => vec![n.to_string()],
                Value::Bool(true) => vec!["on".to_owned()],
                // An unticked box and a null both mean "not sent".
                Value::Bool(false) | Value::Null => Vec::new(),
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(text) => Ok(text),
                        _ => Err(DecodeError::Malformed(format!(
                            "`{name}` must be a list of texts"
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                Value::Object(_) => {
                    return Err(DecodeError::Malformed(format!(
                        "`{name}` must not be an object"
                    )));
                }
            };
            for value in values {
                if pairs.len() == MAX_FIELDS {
                    return Err(DecodeError::TooManyFields);
                }
                pairs.push((name.clone(), value));
            }
        }
        Ok(Submission { pairs })
    }
}

fn percent_decode(bytes: &[u8]) -> Result<String, DecodeError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(|| {
                    DecodeError::Malformed(
                        "a `%` is not followed by two hexadecimal digits".to_owned(),
                    )
                })?;
                let digit = |b: u8| (b as char).to_digit(16);
                match (digit(hex[0]), digit(hex[1])) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => {
                        return Err(DecodeError::Malformed(
                            "a `%` is not followed by two hexadecimal digits".to_owned(),
                        ));
                    }
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_pairs_decode_with_repeats() {
        let s = Submission::from_urlencoded(
            b"email=a%40b.fr&first_name=Ana+Lu%C3%ADsa&interests=a&interests=b&website=",
        )
        .unwrap();
        assert_eq!(s.get("email"), Some("a@b.fr"));
        assert_eq!(s.get("first_name"), Some("Ana Luísa"));
        assert_eq!(s.all("interests").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(s.get("website"), Some(""));
    }

    #[test]
    fn broken_urlencoded_is_refused() {
        assert_eq!(
            Submission::from_urlencoded(b"email=%ZZ"),
            Err(DecodeError::Malformed(
                "a `%` is not followed by two hexadecimal digits".to_owned()
            ))
        );
        assert_eq!(
            Submission::from_urlencoded(b"email=%C3%28"),
            Err(DecodeError::NotUtf8)
        );
        assert_eq!(
            Submission::from_urlencoded(b"email=%4"),
            Err(DecodeError::Malformed(
                "a `%` is not followed by two hexadecimal digits".to_owned()
            ))
        );
        assert_eq!(
            Submission::from_urlencoded(&vec![b'a'; MAX_BODY_BYTES + 1]),
            Err(DecodeError::TooLarge)
        );
        let many = (0..=MAX_FIELDS)
            .map(|i| format!("f{i}=x"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            Submission::from_urlencoded(many.as_bytes()),
            Err(DecodeError::TooManyFields)
        );
    }

    #[test]
    fn json_objects_decode() {
        let s = Submission::from_json(br#" {"email":"a@b.fr","interests":["x","y"],"ok":true,"no":false,"n":12,"name":"\u00c9lo\n\ud83d\ude00"} "#).unwrap();
        assert_eq!(s.get("email"), Some("a@b.fr"));
        assert_eq!(s.all("interests").count(), 2);
        assert_eq!(s.get("ok"), Some("on"));
        assert_eq!(s.get("no"), None);
        assert_eq!(s.get("n"), Some("12"));
        assert_eq!(s.get("name"), Some("Élo\n😀"));
    }

    #[test]
    fn broken_json_is_refused_without_panicking() {
        for body in [
            &b"[]"[..],
            b"{",
            b"{\"a\"}",
            b"{\"a\":{\"b\":1}}",
            b"{\"a\":\"x\"} trailing",
            b"{\"a\":\"\\ud800\"}",
            b"{\"a\":\"unclosed}",
            b"\xff",
        ] {
            assert!(
                Submission::from_json(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
