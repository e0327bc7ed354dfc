//! The unsubscribe page and the RFC 8058 one-click target.

use super::*;

pub(super) async fn unsubscribe_page<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    let settings = f.settings();
    let token = token_of(&request);
    let now = (f.clock)();
    let Ok(claims) = settings.keys.verify(Purpose::Unsubscribe, &token, now) else {
        return bad_link(&settings, false);
    };
    let interests = match f.store.supporter(&claims.subject).await {
        Ok(Some(s)) => s.interests,
        Ok(None) => BTreeSet::new(),
        Err(e) => return store_down(&e, false, &settings),
    };
    (
        StatusCode::OK,
        pages::unsubscribe(&settings, &token, &interests),
    )
        .into_response()
}

/// RFC 8058 one-click target and the page's own form: unsubscribes at
/// once, or removes the topics picked. Idempotent; the token is the only
/// authority, so no origin is required (mail providers post it).
pub(super) async fn unsubscribe<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    let settings = f.settings();
    let json = wants_json(request.headers());
    let token = token_of(&request);
    let now = (f.clock)();
    let Ok(claims) = settings.keys.verify(Purpose::Unsubscribe, &token, now) else {
        return bad_link(&settings, json);
    };
    let body = match to_bytes(request.into_body(), MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return Answer::refuse(StatusCode::PAYLOAD_TOO_LARGE, Says::TooLarge, &settings)
                .respond(json, &settings);
        }
    };
    let form = Submission::from_urlencoded(&body).unwrap_or_default();
    let topics: BTreeSet<String> = form.all("topics").map(str::to_owned).collect();
    let email = claims.subject;
    let says = if topics.is_empty() {
        let record = ConsentRecord {
            email: email.clone(),
            action: ConsentAction::Withdrawn,
            channel: Channel::Email,
            form: "unsubscribe".to_owned(),
            page: "/api/unsubscribe".to_owned(),
            text_hash: String::new(),
            build: settings.manifest.build.clone(),
            at: now,
        };
        if let Err(e) = f
            .store
            .set_status(&email, EmailStatus::Unsubscribed, Some(record), now)
            .await
        {
            return store_down(&e, json, &settings);
        }
        Says::Unsubscribed
    } else {
        if let Err(e) = f.store.remove_interests(&email, &topics, now).await {
            return store_down(&e, json, &settings);
        }
        Says::TopicsRemoved
    };
    log_outcome(
        "unsubscribe",
        if topics.is_empty() {
            "unsubscribed"
        } else {
            "topics"
        },
    );
    let mut answer = Answer::refuse(StatusCode::OK, says, &settings);
    answer.back = Some("/".to_owned());
    answer.respond(json, &settings)
}
