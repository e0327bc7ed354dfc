//! The MIME messages every mailer sends, read as bytes: headers, structure,
//! encodings, and header injection through names and subjects.

use estrade_functions::mailer::{Attachment, Email, MailError};
use estrade_functions::mime::{build, decode_words, header_value, message_id};
use jiff::Timestamp;
use std::collections::HashSet;

fn at() -> Timestamp {
    "2027-03-01T10:00:00Z".parse().unwrap()
}

fn email() -> Email {
    Email {
        to: "ana@example.fr".to_owned(),
        to_name: Some("Ana Diallo".to_owned()),
        from_address: "contact@claire-martin.fr".to_owned(),
        from_name: Some("Claire Martin".to_owned()),
        reply_to: Some("equipe@claire-martin.fr".to_owned()),
        subject: "Notre rendez-vous de samedi".to_owned(),
        html: "<p>Bonjour Ana,</p><p>On se retrouve samedi.</p>".to_owned(),
        text: "Bonjour Ana,\n\nOn se retrouve samedi.\n".to_owned(),
        unsubscribe_url: None,
        attachments: Vec::new(),
        broadcast: None,
    }
}

fn message(email: &Email) -> String {
    let bytes = build(email, "claire-martin.fr", at()).unwrap();
    String::from_utf8(bytes).unwrap()
}

/// The header section, up to the first empty line.
fn headers(message: &str) -> &str {
    message.split("\r\n\r\n").next().unwrap()
}

fn header_lines(message: &str) -> Vec<&str> {
    headers(message).split("\r\n").collect()
}

fn assert_well_formed(message: &str) {
    let bare_newline = message.replace("\r\n", "").contains('\n');
    assert!(!bare_newline, "every line ends with CRLF:\n{message}");
    for line in header_lines(message) {
        assert!(line.len() <= 78, "header line longer than 78: {line:?}");
    }
}

#[test]
fn a_message_has_its_headers_and_both_alternatives() {
    let message = message(&email());
    let lines = header_lines(&message);
    for expected in [
        "Date: Mon, 1 Mar 2027 10:00:00 +0000",
        "From: \"Claire Martin\" <contact@claire-martin.fr>",
        "To: \"Ana Diallo\" <ana@example.fr>",
        "Reply-To: equipe@claire-martin.fr",
        "Subject: Notre rendez-vous de samedi",
        "MIME-Version: 1.0",
    ] {
        assert!(lines.contains(&expected), "no {expected:?} in\n{message}");
    }
    let id = lines
        .iter()
        .find(|l| l.starts_with("Message-ID: <"))
        .unwrap();
    assert!(id.ends_with("@claire-martin.fr>"), "{id}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Content-Type: multipart/alternative;")),
        "{message}"
    );
    assert!(!message.contains("multipart/mixed"), "{message}");
    assert!(message.contains("Content-Type: text/plain; charset=\"utf-8\"\r\n"));
    assert!(message.contains("Content-Type: text/html; charset=\"utf-8\"\r\n"));
    assert!(message.contains("On se retrouve samedi."));
    assert!(
        !message.contains("List-Unsubscribe"),
        "a transactional message has none"
    );
    assert_well_formed(&message);
}

#[test]
fn marketing_messages_offer_one_click_unsubscribe() {
    let mut email = email();
    email.unsubscribe_url =
        Some("https://claire-martin.fr/api/unsubscribe?t=v1.abc-DEF_123".to_owned());
    let message = message(&email);
    let lines = header_lines(&message);
    assert!(
        lines.contains(
            &"List-Unsubscribe: <https://claire-martin.fr/api/unsubscribe?t=v1.abc-DEF_123>"
        ),
        "{message}"
    );
    assert!(
        lines.contains(&"List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{message}"
    );
    assert_well_formed(&message);
}

#[test]
fn attachments_make_the_message_mixed() {
    let mut email = email();
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Reunion\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    email.attachments.push(Attachment {
        file_name: "reunion.ics".to_owned(),
        content_type: "text/calendar; method=PUBLISH".to_owned(),
        bytes: ics.as_bytes().to_vec(),
    });
    let message = message(&email);
    let lines = header_lines(&message);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Content-Type: multipart/mixed;")),
        "the top part is mixed:\n{message}"
    );
    let alternative = message
        .find("Content-Type: multipart/alternative;")
        .unwrap();
    let calendar = message
        .find("Content-Type: text/calendar; method=\"PUBLISH\"; charset=\"utf-8\"\r\n")
        .unwrap_or_else(|| panic!("no calendar part in\n{message}"));
    assert!(alternative < calendar, "the alternatives come first");
    assert!(message.contains("Content-Disposition: attachment; filename=\"reunion.ics\"\r\n"));
    assert!(
        message.contains("BEGIN:VCALENDAR\r\nVERSION:2.0"),
        "{message}"
    );
    assert_well_formed(&message);
}

#[test]
fn non_ascii_names_and_subjects_are_encoded_words() {
    let mut email = email();
    email.from_name = Some("Clémence Dupré".to_owned());
    email.to_name =
        Some("Zoë Ångström-Ødegaard, déléguée de la circonscription du Nord".to_owned());
    email.subject =
        "Réunion publique à Valenciennes : venez nombreux, c’est important pour la suite ✊"
            .to_owned();
    let message = message(&email);
    let header_section = headers(&message);
    assert!(
        header_section.is_ascii(),
        "headers are ASCII:\n{header_section}"
    );
    assert!(
        header_section
            .contains("From: =?utf-8?B?Q2zDqW1lbmNlIER1cHLDqQ==?= <contact@claire-martin.fr>\r\n"),
        "an encoded name is not quoted:\n{header_section}"
    );
    let bytes = message.as_bytes();
    assert_eq!(
        header_value(bytes, "to").unwrap(),
        "Zoë Ångström-Ødegaard, déléguée de la circonscription du Nord <ana@example.fr>"
    );
    assert_eq!(header_value(bytes, "Subject").unwrap(), email.subject);
    assert_well_formed(&message);
}

#[test]
fn line_breaks_in_names_and_subjects_cannot_add_a_header() {
    let mut email = email();
    email.from_name = Some("Claire\r\nBcc: victim@example.com".to_owned());
    email.to_name = Some("Élise\nBcc: victim@example.com".to_owned());
    email.subject = "Bonjour\r\nBcc: victim@example.com\r\n\r\nfake body".to_owned();
    let message = message(&email);
    let injected = header_lines(&message)
        .into_iter()
        .filter(|line| line.to_ascii_lowercase().starts_with("bcc"))
        .count();
    assert_eq!(injected, 0, "no Bcc header line:\n{message}");
    assert!(!message.contains("\r\nBcc:"), "{message}");
    let bytes = message.as_bytes();
    assert_eq!(
        header_value(bytes, "Subject").unwrap(),
        "Bonjour Bcc: victim@example.com fake body"
    );
    assert_eq!(
        header_value(bytes, "From").unwrap(),
        "\"Claire Bcc: victim@example.com\" <contact@claire-martin.fr>"
    );
    assert_eq!(
        header_value(bytes, "To").unwrap(),
        "Élise Bcc: victim@example.com <ana@example.fr>"
    );
    assert_well_formed(&message);
}

fn refused(email: &Email) -> String {
    match build(email, "claire-martin.fr", at()) {
        Err(MailError::Permanent(why)) => why,
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
}

#[test]
fn addresses_urls_and_types_that_would_break_a_header_are_refused() {
    let mut to = email();
    to.to = "ana@example.fr\r\nBcc: victim@example.com".to_owned();
    assert!(refused(&to).contains("recipient"));
    let mut from = email();
    from.from_address = "contact@claire-martin.fr>, victim@example.com".to_owned();
    assert!(refused(&from).contains("sender"));
    let mut reply = email();
    reply.reply_to = Some("equipe".to_owned());
    assert!(refused(&reply).contains("reply-to"));
    for url in [
        "https://x.fr/u\r\nBcc: victim@example.com",
        "javascript:alert(1)",
        "https://x.fr/<u>",
    ] {
        let mut unsubscribe = email();
        unsubscribe.unsubscribe_url = Some(url.to_owned());
        assert!(refused(&unsubscribe).contains("unsubscribe"), "{url}");
    }
    let mut attachment = email();
    attachment.attachments.push(Attachment {
        file_name: "x.ics".to_owned(),
        content_type: "text/calendar\r\nBcc: victim@example.com".to_owned(),
        bytes: b"BEGIN:VCALENDAR".to_vec(),
    });
    assert!(refused(&attachment).contains("content type"));
    assert!(matches!(
        build(&email(), "bad domain\r\n", at()),
        Err(MailError::Permanent(_))
    ));
}

#[test]
fn message_ids_are_unique() {
    let ids: HashSet<String> = (0..1000)
        .map(|_| message_id("claire-martin.fr", at()).unwrap())
        .collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids.iter().all(|id| id.ends_with("@claire-martin.fr")));
}

#[test]
fn encoded_words_written_elsewhere_are_decoded() {
    let value = "=?utf-8?Q?Cl=C3=A9mence?= =?UTF-8?b?IER1cHLDqQ==?= <c@example.fr>";
    assert_eq!(decode_words(value), "Clémence Dupré <c@example.fr>");
    assert_eq!(
        decode_words("=?iso-8859-1?q?caf=E9_cr=E8me?="),
        "café crème"
    );
    // A character split between two words.
    assert_eq!(
        decode_words("=?utf-8?Q?caf=C3?=\r\n =?utf-8?Q?=A9?="),
        "café"
    );
    for untouched in [
        "plain =? text",
        "=?koi8-r?B?8NLJ18XU?=",
        "a =?utf-8?Q?x y?= b",
    ] {
        assert_eq!(decode_words(untouched), untouched);
    }
}
