//! The form functions end to end over the embedded store and the outbox:
//! the forms the theme renders, posted as a browser or a script would, and
//! every kind of bad input a public endpoint meets.

mod harness;

use axum::http::StatusCode;
use estrade_domain::supporter::{Channel, ConsentAction, EmailStatus, RsvpStatus};
use estrade_functions::store::Store;
use harness::{Harness, JSON, ORIGIN};

#[tokio::test(flavor = "multi_thread")]
async fn the_rendered_signup_form_posts_through_the_handler() {
    let h = Harness::new().await;
    let fields = h.form_fields("index.html", "/api/signup");
    let mut body = Vec::new();
    for (name, value) in &fields {
        let value = match name.as_str() {
            "email" => "Ana.Lopez@Example.org".to_owned(),
            "first_name" => "Ana".to_owned(),
            "postcode" => "59300".to_owned(),
            "interests" => "housing".to_owned(),
            // The text-message box is ticked, with a mobile number.
            "phone" => "06 12 34 56 78".to_owned(),
            _ => value.clone(),
        };
        body.push(format!("{name}={}", harness::encode(&value)));
    }
    let answer = h.post("/api/signup", &body.join("&"), &[ORIGIN]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let code = h
        .functions
        .settings()
        .keys
        .share_code("ana.lopez@example.org");
    assert_eq!(answer.header("location"), format!("/thanks/?ref={code}"));
    let supporter = h
        .functions
        .store
        .supporter("ana.lopez@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(supporter.status, EmailStatus::Pending);
    assert_eq!(supporter.postcode.as_deref(), Some("59300"));
    assert!(supporter.interests.contains("housing"));
    assert!(supporter.sms, "the text-message consent is not kept");
    assert_eq!(supporter.phone.as_deref(), Some("+33612345678"));
    let consents = h
        .functions
        .store
        .consents("ana.lopez@example.org")
        .await
        .unwrap();
    assert_eq!(consents.len(), 2, "one consent per channel: {consents:?}");
    assert_eq!(consents[0].action, ConsentAction::Given);
    assert_eq!(consents[0].page, "/");
    assert_eq!(consents[0].channel, Channel::Email);
    assert_eq!(consents[0].text_hash, h.manifest().consent["signup"].hash);
    assert_eq!(consents[1].channel, Channel::Sms);
    assert_eq!(consents[1].form, "signup");
    assert_eq!(consents[1].text_hash, h.manifest().consent["sms"].hash);
    assert_ne!(consents[1].text_hash, consents[0].text_hash);
    let mail = h.only_email();
    assert_eq!(mail.to, "ana.lopez@example.org");
    assert!(mail.text.contains("/api/confirm?token="), "{}", mail.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn confirming_and_unsubscribing_through_the_emails_links() {
    let h = Harness::new().await;
    h.post(
        "/api/signup",
        "email=ana%40example.org&first_name=Ana",
        &[ORIGIN],
    )
    .await;
    let confirm = h.only_email().link("/api/confirm?token=");
    let page = h.get(&confirm).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let supporter = h
        .functions
        .store
        .supporter("ana@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(supporter.status, EmailStatus::Confirmed);
    // Following the link twice changes nothing and sends nothing more.
    assert_eq!(h.get(&confirm).await.status, StatusCode::OK);
    let emails = h.emails();
    assert_eq!(emails.len(), 2, "the confirmation, then the welcome");
    let welcome = &emails[0];
    let unsubscribe = welcome
        .list_unsubscribe
        .clone()
        .expect("marketing mail carries List-Unsubscribe");
    assert!(welcome.list_unsubscribe_post, "and the one-click header");

    let form = h.get(&unsubscribe).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("method=\"post\""));
    // RFC 8058: the mail provider posts this, with no Origin.
    let done = h
        .post_form(&unsubscribe, "List-Unsubscribe=One-Click", &[])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        h.post_form(&unsubscribe, "List-Unsubscribe=One-Click", &[])
            .await
            .status,
        StatusCode::OK
    );
    let supporter = h
        .functions
        .store
        .supporter("ana@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(supporter.status, EmailStatus::Unsubscribed);
    let actions: Vec<_> = h
        .functions
        .store
        .consents("ana@example.org")
        .await
        .unwrap()
        .iter()
        .map(|c| c.action)
        .collect();
    assert_eq!(actions.first(), Some(&ConsentAction::Given));
    assert!(actions.contains(&ConsentAction::Confirmed));
    assert!(actions.contains(&ConsentAction::Withdrawn));

    let forged = unsubscribe.replace("token=unsub.", "token=unsub.x");
    assert_eq!(
        h.post_form(&forged, "", &[]).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_json_to_the_pages_script() {
    let h = Harness::new().await;
    let ok = h
        .post(
            "/api/signup",
            "email=ana%40example.org&thanks=%2Fthanks%2F",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(body["ok"], true);
    let redirect = body["redirect"].as_str().unwrap_or_default();
    assert!(redirect.starts_with("/thanks/?ref="), "{redirect}");

    let bad = h
        .post(
            "/api/signup",
            "email=not-an-address&postcode=12",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = serde_json::from_str(&bad.body).unwrap();
    assert_eq!(body["ok"], false);
    assert_eq!(body["errors"]["email"], "This email address is not valid.");
    assert_eq!(
        body["errors"]["postcode"],
        "This postcode is not valid for this country."
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_mistakes_come_back_as_a_page() {
    let h = Harness::new().await;
    let bad = h
        .post("/api/signup", "email=&source=%2Fjoin%2F", &[ORIGIN])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("This field is required."), "{}", bad.body);
    assert!(
        bad.body.contains("href=\"/join/\""),
        "a way back to the form"
    );
    // Never an open redirect.
    let evil = h
        .post(
            "/api/signup",
            "email=a%40b.org&thanks=%2F%2Fevil.example%2F",
            &[ORIGIN],
        )
        .await;
    assert!(evil.header("location").starts_with("/?ref="));
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_and_broken_requests_get_clear_refusals() {
    let h = Harness::new().await;
    type Case<'a> = (&'a str, Vec<u8>, Vec<(&'a str, &'a str)>, StatusCode);
    let cases: Vec<Case> = vec![
        (
            "no origin",
            b"email=a%40b.org".to_vec(),
            vec![],
            StatusCode::FORBIDDEN,
        ),
        (
            "foreign origin",
            b"email=a%40b.org".to_vec(),
            vec![("origin", "https://evil.example")],
            StatusCode::FORBIDDEN,
        ),
        (
            "bad percent",
            b"email=%ZZ".to_vec(),
            vec![ORIGIN],
            StatusCode::BAD_REQUEST,
        ),
        (
            "invalid UTF-8",
            b"email=%FF%FE".to_vec(),
            vec![ORIGIN],
            StatusCode::BAD_REQUEST,
        ),
        (
            "raw invalid UTF-8",
            b"email=\xff\xfe@b.org".to_vec(),
            vec![ORIGIN],
            StatusCode::BAD_REQUEST,
        ),
        (
            "1 MB",
            vec![b'a'; 1024 * 1024],
            vec![ORIGIN],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "broken JSON",
            b"{\"email\": ".to_vec(),
            vec![ORIGIN, ("content-type", "application/json")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "JSON array",
            b"[1,2]".to_vec(),
            vec![ORIGIN, ("content-type", "application/json")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "nested JSON",
            b"{\"email\":{\"$gt\":\"\"}}".to_vec(),
            vec![ORIGIN, ("content-type", "application/json")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "XML",
            b"<email/>".to_vec(),
            vec![ORIGIN, ("content-type", "application/xml")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (what, body, headers, wanted) in cases {
        let answer = h.post_bytes("/api/signup", body, &headers).await;
        assert_eq!(answer.status, wanted, "{what}: {}", answer.body);
    }
    assert!(h.emails().is_empty());
    assert_eq!(h.functions.store.supporter("a@b.org").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn names_with_scripts_and_line_breaks_cannot_reach_html_or_headers() {
    let h = Harness::new().await;
    let script = h
        .post(
            "/api/signup",
            "email=a%40b.org&first_name=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            &[ORIGIN],
        )
        .await;
    assert_eq!(script.status, StatusCode::SEE_OTHER);
    let mail = h.only_email();
    assert!(
        !mail.html.contains("<script>alert(1)"),
        "escaped in the HTML part"
    );
    let crlf = h
        .post(
            "/api/signup",
            "email=c%40d.org&first_name=Eve%0D%0ABcc%3A+x%40evil.example",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(crlf.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(crlf.body.contains("first_name"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bots_filling_the_honeypot_are_thanked_and_forgotten() {
    let h = Harness::new().await;
    let bot = h
        .post(
            "/api/signup",
            "email=bot%40spam.example&website=http%3A%2F%2Fspam",
            &[ORIGIN],
        )
        .await;
    assert_eq!(bot.status, StatusCode::SEE_OTHER);
    assert_eq!(
        h.functions
            .store
            .supporter("bot@spam.example")
            .await
            .unwrap(),
        None
    );
    assert!(h.emails().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_sent_faster_than_a_person_types_is_a_bots() {
    let h = Harness::new().await;
    let hasty = h
        .post(
            "/api/signup",
            "email=fast%40b.org&elapsed=120",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(hasty.status, StatusCode::OK, "told it worked");
    assert_eq!(
        h.functions.store.supporter("fast@b.org").await.unwrap(),
        None
    );
    let person = h
        .post(
            "/api/signup",
            "email=slow%40b.org&elapsed=9500",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(person.status, StatusCode::OK);
    assert!(
        h.functions
            .store
            .supporter("slow@b.org")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_connection_is_rate_limited() {
    let h = Harness::new().await;
    let limit = h.manifest().config.forms.rate_limit.requests;
    for i in 0..limit {
        let ok = h
            .post(
                "/api/signup",
                &format!("email=p{i}%40b.org"),
                &[ORIGIN, ("x-forwarded-for", "203.0.113.9")],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
    }
    let refused = h
        .post(
            "/api/signup",
            "email=late%40b.org",
            &[ORIGIN, ("x-forwarded-for", "203.0.113.9")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("retry-after"), "30");
    let other = h
        .post(
            "/api/signup",
            "email=other%40b.org",
            &[ORIGIN, ("x-forwarded-for", "198.51.100.7")],
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::SEE_OTHER,
        "another connection is not affected"
    );
    // A client cannot pick a fresh key by writing its own forwarded
    // addresses: the proxy's entry, appended last, is the one counted...
    let forged = h
        .post(
            "/api/signup",
            "email=forged%40b.org",
            &[ORIGIN, ("x-forwarded-for", "10.9.9.9, 203.0.113.9")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::TOO_MANY_REQUESTS);
    // ...and behind CloudFront, the viewer address it sets.
    let viewer = h
        .post(
            "/api/signup",
            "email=viewer%40b.org",
            &[
                ORIGIN,
                ("x-forwarded-for", "198.51.100.1"),
                ("cloudfront-viewer-address", "203.0.113.9:51234"),
            ],
        )
        .await;
    assert_eq!(viewer.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_identical_signups_make_one_supporter() {
    let h = Harness::with_rate_limit(1000).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let router = h.router.clone();
        tasks.spawn(async move {
            harness::send(
                &router,
                "POST",
                "/api/signup",
                b"email=same%40example.org&first_name=Sam".to_vec(),
                &[
                    ORIGIN,
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
            )
            .await
            .status
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::SEE_OTHER);
    }
    let supporter = h
        .functions
        .store
        .supporter("same@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(supporter.first_name.as_deref(), Some("Sam"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_signup_says_the_same_and_never_downgrades() {
    let h = Harness::new().await;
    let first = h
        .post("/api/signup", "email=ana%40example.org", &[ORIGIN, JSON])
        .await;
    h.get(&h.only_email().link("/api/confirm?token=")).await;
    let again = h
        .post(
            "/api/signup",
            "email=ANA%40example.org&interests=ecology",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(
        first.body, again.body,
        "nothing tells a known address from a new one"
    );
    let supporter = h
        .functions
        .store
        .supporter("ana@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(supporter.status, EmailStatus::Confirmed);
    assert!(supporter.interests.contains("ecology"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rsvps_fill_the_seats_then_the_waitlist_and_promote_on_cancel() {
    let h = Harness::with_capacity(2).await;
    let event = "/events/future-rally/";
    let mut statuses = Vec::new();
    for who in ["a", "b", "c"] {
        let body = format!(
            "event={}&first_name={who}&email={who}%40example.org",
            harness::encode(event)
        );
        let answer = h.post("/api/rsvp", &body, &[ORIGIN, JSON]).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        statuses.push(json["result"]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses, ["confirmed", "confirmed", "waitlisted"]);
    let confirmation = h
        .emails()
        .into_iter()
        .find(|m| m.to == "a@example.org")
        .unwrap();
    assert!(
        confirmation.attachments.iter().any(|a| a.ends_with(".ics")),
        "{:?}",
        confirmation.attachments
    );
    let cancel = confirmation.link("/api/rsvp/cancel?token=");
    assert_eq!(h.get(&cancel).await.status, StatusCode::OK);
    let done = h.post_form(&cancel, "", &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let rsvps = h.functions.store.rsvps(event).await.unwrap();
    let c = rsvps.iter().find(|r| r.email == "c@example.org").unwrap();
    assert_eq!(c.status, RsvpStatus::Confirmed, "the waitlist moved up");
    let to_c = h
        .emails()
        .into_iter()
        .filter(|m| m.to == "c@example.org")
        .count();
    assert_eq!(to_c, 2, "c was told of the waitlist, then of the seat");

    let unknown = h
        .post(
            "/api/rsvp",
            "event=%2Fnope%2F&first_name=x&email=x%40example.org",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let closed = h
        .post(
            "/api/rsvp",
            "event=%2Fevents%2Fpast-meeting%2F&first_name=x&email=x%40example.org",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(closed.status, StatusCode::CONFLICT, "{}", closed.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_failing_mid_request_asks_for_a_retry_and_leaves_nothing_half_done() {
    let h = Harness::failing_after(1).await;
    // The rate-limit count succeeds, the supporter write fails.
    let answer = h
        .post("/api/signup", "email=ana%40example.org", &[ORIGIN, JSON])
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.header("retry-after"), "30");
    assert!(answer.body.contains("nothing was lost"));
    assert!(h.emails().is_empty(), "no email for a supporter not stored");
}

// On one thread, so that the request's own task cannot run (and answer)
// before the client has gone: on several, it sometimes did, under load.
#[tokio::test]
async fn a_client_that_hangs_up_still_gets_its_email() {
    use axum::body::Body;
    use tower::ServiceExt;
    let h = Harness::new().await;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/signup")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(ORIGIN.0, ORIGIN.1)
        .body(Body::from("email=gone%40example.org"))
        .unwrap();
    // The connection goes away right after the request was read: the
    // handler is polled once, then dropped.
    let mut answering = std::pin::pin!(h.router.clone().oneshot(request));
    let answer = tokio::select! {
        biased;
        answer = &mut answering => Ok(answer),
        () = std::future::ready(()) => Err(()),
    };
    assert!(answer.is_err(), "the answer came before the client left");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.emails().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the email was never sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        h.functions
            .store
            .supporter("gone@example.org")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_supporter_brought_by_a_share_link_is_credited_to_its_owner() {
    let h = Harness::new().await;
    let code_of = |email: &str| h.functions.settings().keys.share_code(email);
    let recruiter_of = |email: &'static str| {
        let store = &h.functions.store;
        async move { store.supporter(email).await.unwrap().unwrap().recruiter }
    };
    // Ana's thank-you page carries her code; her email her personal link.
    let ana = h
        .post("/api/signup", "email=ana%40example.org", &[ORIGIN])
        .await;
    let ana_code = code_of("ana@example.org");
    assert_eq!(ana.header("location"), format!("/?ref={ana_code}"));
    h.get(&h.only_email().link("/api/confirm?token=")).await;
    let welcome = h.emails().remove(0);
    assert!(
        welcome.text.contains(&format!("/?ref={ana_code}")),
        "the personal share link is missing from the welcome email"
    );
    assert!(!ana_code.contains("ana"), "the code names nobody");
    // The page's script sends the code it found in the address.
    h.post(
        "/api/signup",
        &format!("email=bruno%40example.org&ref={ana_code}"),
        &[ORIGIN],
    )
    .await;
    assert_eq!(
        recruiter_of("bruno@example.org").await,
        Some(ana_code.clone())
    );
    // Without script, the address of the page that posted says it.
    let referer = format!("{}/petition/?utm=x&ref={ana_code}#form", ORIGIN.1);
    h.post(
        "/api/signup",
        "email=chloe%40example.org",
        &[ORIGIN, ("referer", &referer)],
    )
    .await;
    assert_eq!(
        recruiter_of("chloe@example.org").await,
        Some(ana_code.clone())
    );
    // Her own link reopened credits nobody; junk is ignored unread.
    h.post(
        "/api/signup",
        &format!("email=ana%40example.org&ref={ana_code}"),
        &[ORIGIN],
    )
    .await;
    assert_eq!(recruiter_of("ana@example.org").await, None);
    for junk in ["%3Cscript%3E", "aaaaaaaaaaaaa", "aaaa%0Aaaaaaaa"] {
        h.post(
            "/api/signup",
            &format!("email=dora%40example.org&ref={junk}"),
            &[ORIGIN],
        )
        .await;
    }
    assert_eq!(recruiter_of("dora@example.org").await, None);
    // The first recruiter stays.
    let dora_code = code_of("dora@example.org");
    h.post(
        "/api/signup",
        &format!("email=bruno%40example.org&ref={dora_code}"),
        &[ORIGIN],
    )
    .await;
    assert_eq!(recruiter_of("bruno@example.org").await, Some(ana_code));
}

#[tokio::test(flavor = "multi_thread")]
async fn text_messages_need_a_number_and_an_unticked_box_withdraws_nothing() {
    let h = Harness::new().await;
    let answer = h
        .post(
            "/api/signup",
            "email=ana%40example.org&sms_opt_in=on",
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(
        body["errors"]["phone"],
        "Give a mobile number to receive our text messages."
    );
    let store = &h.functions.store;
    assert!(store.supporter("ana@example.org").await.unwrap().is_none());
    h.post(
        "/api/signup",
        "email=ana%40example.org&phone=0612345678&sms_opt_in=on",
        &[ORIGIN],
    )
    .await;
    h.post("/api/signup", "email=ana%40example.org", &[ORIGIN])
        .await;
    let ana = store.supporter("ana@example.org").await.unwrap().unwrap();
    assert!(ana.sms, "a later form without the box withdrew the consent");
    let channels: Vec<Channel> = store
        .consents("ana@example.org")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.channel)
        .collect();
    // The clock stands still: the second email consent is the same record.
    assert_eq!(channels, [Channel::Email, Channel::Sms]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_raised_capacity_seats_the_waitlist_before_anyone_new() {
    let h = Harness::with_capacity(1).await;
    let event = "/events/future-rally/";
    let rsvp = |who: &str| {
        format!(
            "event={}&first_name={who}&email={who}%40example.org",
            harness::encode(event)
        )
    };
    for who in ["a", "b"] {
        h.post("/api/rsvp", &rsvp(who), &[ORIGIN, JSON]).await;
    }
    // The campaign moves to a bigger room: the next build says 2 seats.
    let settings = h.functions.settings();
    let mut manifest = settings.manifest.clone();
    for each in &mut manifest.events {
        each.capacity = Some(2);
    }
    h.functions
        .replace_settings(estrade_functions::http::Settings {
            manifest,
            keys: settings.keys.clone(),
            site_url: settings.site_url.clone(),
        });
    let answer = h.post("/api/rsvp", &rsvp("c"), &[ORIGIN, JSON]).await;
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["result"]["status"], "waitlisted", "b came first");
    let rsvps = h.functions.store.rsvps(event).await.unwrap();
    let status_of = |email: &str| rsvps.iter().find(|r| r.email == email).map(|r| r.status);
    assert_eq!(status_of("b@example.org"), Some(RsvpStatus::Confirmed));
    assert_eq!(status_of("c@example.org"), Some(RsvpStatus::Waitlisted));
    let to_b: Vec<_> = h
        .emails()
        .into_iter()
        .filter(|m| m.to == "b@example.org")
        .collect();
    assert_eq!(
        to_b.len(),
        2,
        "b was told of the waitlist, then of the seat"
    );
    assert!(to_b[0].attachments.iter().any(|a| a.ends_with(".ics")));
}
