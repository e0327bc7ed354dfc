//! The outbox: one `.eml` file per message, named to sort by time, listed
//! newest first, read back only from inside its folder.

use estrade_functions::mailer::{Email, MailError, Mailer};
use estrade_functions::mime;
use estrade_functions::outbox::{self, OutboxMailer};
use jiff::Timestamp;
use std::collections::HashSet;
use std::fs;
use std::sync::Arc;

fn email(to: &str, subject: &str) -> Email {
    Email {
        to: to.to_owned(),
        to_name: Some("Zoë".to_owned()),
        from_address: "contact@claire-martin.fr".to_owned(),
        from_name: Some("Claire Martin".to_owned()),
        reply_to: None,
        subject: subject.to_owned(),
        html: "<p>Bonjour</p>".to_owned(),
        text: "Bonjour\n".to_owned(),
        unsubscribe_url: None,
        attachments: Vec::new(),
        broadcast: None,
    }
}

/// `20270301T100000.123Z-1a2b3c4d.eml`
fn is_time_sorted_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    name.len() == 33
        && digits(0..8)
        && bytes[8] == b'T'
        && digits(9..15)
        && bytes[15] == b'.'
        && digits(16..19)
        && &name[19..21] == "Z-"
        && name[21..29].bytes().all(|b| b.is_ascii_hexdigit())
        && name.ends_with(".eml")
}

#[tokio::test]
async fn a_sent_message_is_one_file_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    let mailer = OutboxMailer::new(&outbox_dir);
    let before = Timestamp::now();
    let id = mailer
        .send(&email("zoe@example.fr", "Réunion à Valenciennes"))
        .await
        .unwrap();
    assert!(id.ends_with("@claire-martin.fr"), "{id}");

    let names: Vec<String> = fs::read_dir(&outbox_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "one file and no temporary left: {names:?}");
    let name = &names[0];
    assert!(is_time_sorted_name(name), "{name}");
    assert!(
        name[21..].starts_with(&id[..8]),
        "the name carries the message id: {name} {id}"
    );
    let earliest = before.strftime("%Y%m%dT%H%M%S").to_string();
    assert!(name[..15] >= *earliest, "{name} is not before {earliest}");

    let entries = outbox::list(&outbox_dir).unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(&entry.file_name, name);
    assert_eq!(entry.to, "zoe@example.fr");
    assert_eq!(entry.to_name.as_deref(), Some("Zoë"));
    assert_eq!(entry.subject, "Réunion à Valenciennes");
    assert!(entry.date.ends_with("+0000"), "{}", entry.date);

    let bytes = outbox::read(&outbox_dir, name).unwrap().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(&format!("Message-ID: <{id}>\r\n")), "{text}");
    assert_eq!(mime::header_value(&bytes, "Date").unwrap(), entry.date);
}

#[test]
fn the_list_is_newest_first_and_skips_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let at: Timestamp = "2027-03-01T10:00:00Z".parse().unwrap();
    let names = [
        "20270301T100000.000Z-aaaaaaaa.eml",
        "20270301T100000.001Z-bbbbbbbb.eml",
        "20270302T080000.000Z-cccccccc.eml",
    ];
    for (index, name) in names.iter().enumerate() {
        let to = format!("guest-{index}@example.fr");
        let bytes = mime::build(
            &email(&to, &format!("Message {index}")),
            "claire-martin.fr",
            at,
        );
        fs::write(dir.path().join(name), bytes.unwrap()).unwrap();
    }
    fs::write(
        dir.path().join(".20270303T000000.000Z-dddddddd.eml.tmp"),
        "half",
    )
    .unwrap();
    fs::write(dir.path().join("notes.txt"), "not a message").unwrap();
    fs::create_dir(dir.path().join("folder.eml")).unwrap();

    let entries = outbox::list(dir.path()).unwrap();
    let listed: Vec<&str> = entries.iter().map(|e| e.file_name.as_str()).collect();
    assert_eq!(listed, [names[2], names[1], names[0]]);
    let subjects: Vec<&str> = entries.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects, ["Message 2", "Message 1", "Message 0"]);
    assert_eq!(entries[0].to, "guest-2@example.fr");
    assert_eq!(entries[0].date, "Mon, 1 Mar 2027 10:00:00 +0000");
}

#[test]
fn a_missing_folder_is_an_empty_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("never-created");
    assert_eq!(outbox::list(&missing).unwrap(), Vec::new());
    assert_eq!(
        outbox::read(&missing, "20270301T100000.000Z-aaaaaaaa.eml").unwrap(),
        None
    );
}

#[test]
fn reading_never_leaves_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    fs::create_dir(&outbox_dir).unwrap();
    fs::write(dir.path().join("secret.eml"), "Subject: private").unwrap();
    fs::write(
        outbox_dir.join("20270301T100000.000Z-aaaaaaaa.eml"),
        "Subject: ok",
    )
    .unwrap();
    let secret = dir.path().join("secret.eml");
    let absolute = secret.to_str().unwrap();
    for name in [
        "../secret.eml",
        "..",
        "a/../../secret.eml",
        "..\\secret.eml",
        absolute,
        "x/y.eml",
    ] {
        assert_eq!(outbox::read(&outbox_dir, name).unwrap(), None, "{name}");
    }
    let ok = outbox::read(&outbox_dir, "20270301T100000.000Z-aaaaaaaa.eml").unwrap();
    assert_eq!(ok.as_deref(), Some(&b"Subject: ok"[..]));
    assert_eq!(
        outbox::read(&outbox_dir, "20990101T000000.000Z-ffffffff.eml").unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_sent_at_once_each_get_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = Arc::new(OutboxMailer::new(dir.path()));
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..20 {
        let mailer = Arc::clone(&mailer);
        tasks.spawn(async move {
            let to = format!("guest-{index}@example.fr");
            mailer.send(&email(&to, "Rappel")).await
        });
    }
    let mut ids = HashSet::new();
    while let Some(sent) = tasks.join_next().await {
        ids.insert(sent.unwrap().unwrap());
    }
    assert_eq!(ids.len(), 20);
    let entries = outbox::list(dir.path()).unwrap();
    assert_eq!(entries.len(), 20);
    let recipients: HashSet<&str> = entries.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(recipients.len(), 20);
}

#[tokio::test]
async fn a_refused_message_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(dir.path());
    let broken = email("zoe@example.fr\r\nBcc: victim@example.com", "Bonjour");
    let sent = mailer.send(&broken).await;
    assert!(matches!(sent, Err(MailError::Permanent(_))), "{sent:?}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}
