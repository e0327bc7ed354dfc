//! Reading a header back from a message, for the outbox viewer: unfolded,
//! encoded words decoded.

/// The first `name` header (any case) of `message`, on one line, its
/// RFC 2047 encoded words decoded. `None` when there is no such header.
pub fn header_value(message: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let mut found: Option<String> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break; // the end of the header section
        }
        if line.starts_with([' ', '\t']) {
            // A folded line: unfolding keeps one space.
            if let Some(value) = found.as_mut() {
                value.push(' ');
                value.push_str(line.trim_start());
            }
            continue;
        }
        if found.is_some() {
            break;
        }
        if let Some((field, value)) = line.split_once(':')
            && field.trim_end().eq_ignore_ascii_case(name)
        {
            found = Some(value.trim_start().to_owned());
        }
    }
    found.map(|value| decode_words(value.trim()))
}

/// Decodes the RFC 2047 encoded words (`=?charset?B|Q?text?=`) of a
/// header value. Space between two encoded words is dropped, as the RFC
/// says; words in a charset other than UTF-8, US-ASCII or Latin-1 are
/// left as they are.
pub fn decode_words(value: &str) -> String {
    let mut decoded = String::with_capacity(value.len());
    // Bytes of adjacent words, decoded together: a character may be split
    // between two words.
    let mut pending: Vec<u8> = Vec::new();
    let mut after_word = false;
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        if let Some((bytes, length)) = encoded_word(candidate) {
            if !(after_word && before.chars().all(char::is_whitespace)) {
                flush(&mut pending, &mut decoded);
                decoded.push_str(before);
            }
            pending.extend(bytes);
            rest = &candidate[length..];
            after_word = true;
        } else {
            flush(&mut pending, &mut decoded);
            decoded.push_str(before);
            decoded.push_str("=?");
            rest = &candidate[2..];
            after_word = false;
        }
    }
    flush(&mut pending, &mut decoded);
    decoded.push_str(rest);
    decoded
}

fn flush(pending: &mut Vec<u8>, decoded: &mut String) {
    decoded.push_str(&String::from_utf8_lossy(pending));
    pending.clear();
}

/// The UTF-8 bytes of the encoded word `text` starts with, and its length.
fn encoded_word(text: &str) -> Option<(Vec<u8>, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let encoded = &inner[..end];
    if [charset, encoding, encoded]
        .iter()
        .any(|part| part.contains(char::is_whitespace))
    {
        return None;
    }
    let raw = match encoding {
        "B" | "b" => base64(encoded)?,
        "Q" | "q" => q_encoding(encoded)?,
        _ => return None,
    };
    // `utf-8*fr`: RFC 2231 adds a language after a star.
    let charset = charset.split('*').next().unwrap_or_default();
    let bytes = match charset.to_ascii_lowercase().as_str() {
        "utf-8" | "us-ascii" => raw,
        "iso-8859-1" | "latin1" => raw
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .into_bytes(),
        _ => return None,
    };
    Some((bytes, text.len() - inner.len() + end + 2))
}

fn base64(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut held) = (0u32, 0u32);
    for c in text.bytes().take_while(|&c| c != b'=') {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        held += 6;
        if held >= 8 {
            held -= 8;
            bytes.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    Some(bytes)
}

fn q_encoding(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut index = 0;
    while let Some(&c) = text.as_bytes().get(index) {
        match c {
            b'_' => bytes.push(b' '),
            b'=' => {
                let hex = text.get(index + 1..index + 3)?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                index += 2;
            }
            other => bytes.push(other),
        }
        index += 1;
    }
    Some(bytes)
}
