use crate::support::{aws, moto_data, unique_name};
use aws_sdk_sesv2::Client;
use estrade_aws::SesMailer;
use estrade_functions::mailer::{Email, MailError, Mailer};

fn email(from_address: &str, subject: &str) -> Email {
    Email {
        to: "ana.diallo@example.fr".into(),
        to_name: Some("Ana Diallo".into()),
        from_address: from_address.into(),
        from_name: Some("Claire Martin 2027".into()),
        reply_to: None,
        subject: subject.into(),
        html: "<p>Rendez-vous samedi.</p>".into(),
        text: "Rendez-vous samedi.".into(),
        unsubscribe_url: Some("https://claire-martin.example/api/unsubscribe?t=abc123".into()),
        attachments: Vec::new(),
        broadcast: None,
    }
}

/// The raw messages moto kept, as `/moto-api/data.json` lists them.
fn raw_messages(data: &serde_json::Value) -> Vec<String> {
    let kept = data["ses"]["RawMessage"].as_array();
    let kept = kept.unwrap_or_else(|| panic!("no ses.RawMessage in moto's data: {data}"));
    kept.iter()
        .filter_map(|message| message["raw_data"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn ses_sends_the_raw_message_with_its_unsubscribe_headers() {
    let client = Client::new(&aws().await);
    let domain = format!("{}.example", unique_name("ses"));
    client
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    let configuration_set = unique_name("ses-events");
    client
        .create_configuration_set()
        .configuration_set_name(&configuration_set)
        .send()
        .await
        .unwrap();
    let mailer = SesMailer::new(client, &domain).with_configuration_set(&configuration_set);
    let subject = format!("Réunion publique {}", unique_name("subject"));

    // One of a broadcast: sent with its message tag, which SES accepts.
    let letter = Email {
        broadcast: Some("lettre-ecologie".into()),
        ..email(&format!("equipe@{domain}"), &subject)
    };
    let id = mailer.send(&letter).await.unwrap();
    assert!(!id.is_empty(), "SES answers with a message id");

    let data = moto_data();
    let raw = raw_messages(&data)
        .into_iter()
        .find(|raw| raw.contains(&domain))
        .unwrap_or_else(|| panic!("moto kept no raw message from {domain}: {data}"));
    let head = raw.split("\r\n\r\n").next().unwrap();
    let has = |header: &str| head.lines().any(|line| line.starts_with(header));
    assert!(
        has("List-Unsubscribe: <https://claire-martin.example/api/unsubscribe?t=abc123>"),
        "{head}"
    );
    assert!(
        has("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{head}"
    );
    assert!(has("To: "), "{head}");
    assert!(head.contains(&format!("equipe@{domain}")), "{head}");
    assert!(
        has("Message-ID: <") && head.contains(&format!("@{domain}>")),
        "{head}"
    );
    assert!(has("Subject: "), "{head}");
}

#[tokio::test]
async fn ses_refusing_an_unverified_sender_is_permanent_and_quotes_no_address() {
    let client = Client::new(&aws().await);
    let domain = format!("{}.example", unique_name("unverified"));
    let mailer = SesMailer::new(client, &domain);
    let refused = mailer
        .send(&email(&format!("equipe@{domain}"), "Bonjour"))
        .await
        .unwrap_err();
    let MailError::Permanent(why) = &refused else {
        panic!("an unverified sender is a permanent refusal: {refused:?}");
    };
    assert!(!why.contains('@'), "{why}");
}
