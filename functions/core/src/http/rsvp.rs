//! RSVP, its waitlist and the cancel link.

use super::*;
use crate::automations;
use estrade_domain::automation::Happening;
use estrade_domain::supporter::Rsvp;

pub(super) async fn rsvp<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    let settings = f.settings();
    let incoming = match gate(&f, &settings, "rsvp", request, true).await {
        Ok(incoming) => incoming,
        Err(response) => return response,
    };
    let json = incoming.json;
    let submission = &incoming.submission;
    let source = local_path(submission.get(SOURCE_FIELD), "/");
    let thanks = local_path(submission.get(THANKS_FIELD), &source);
    if is_bot(submission) {
        log_outcome("rsvp", "dropped-as-bot");
        return success(&settings, Says::RsvpConfirmed, thanks, None).respond(json, &settings);
    }
    let cleaned = match validate::validate(
        FormName::Rsvp.definition(),
        submission,
        &settings.manifest.config,
    ) {
        Ok(cleaned) => cleaned,
        Err(problems) => return invalid(problems, &settings, source).respond(json, &settings),
    };
    let now = (f.clock)();
    let event_id = cleaned.text("event").unwrap_or_default();
    let Some(event) = settings.manifest.event(event_id).cloned() else {
        return Answer::refuse(StatusCode::NOT_FOUND, Says::UnknownEvent, &settings)
            .respond(json, &settings);
    };
    if !event.rsvp {
        return Answer::refuse(StatusCode::CONFLICT, Says::RsvpClosed, &settings)
            .respond(json, &settings);
    }
    if event.is_past(now) {
        return Answer::refuse(StatusCode::GONE, Says::EventPast, &settings)
            .respond(json, &settings);
    }
    let update = update_from(&cleaned, false, incoming.recruiter.as_deref(), &settings);
    let email = update.email.clone();
    let record = consent(
        &settings,
        FormName::Rsvp,
        &email,
        &source,
        ConsentAction::Given,
        now,
    );
    let supporter = match f
        .store
        .upsert_supporter(update, EmailStatus::Pending, vec![record], now)
        .await
    {
        Ok((_, supporter)) => supporter,
        Err(e) => return store_down(&e, json, &settings),
    };
    // A raised capacity seats the people waiting before anyone new.
    match f
        .store
        .promote_waitlist(&event.id, event.capacity, now)
        .await
    {
        Ok(owed) => {
            if let Err(e) = tell_promoted(&f, &settings, &event, owed, now).await {
                return store_down(&e, json, &settings);
            }
        }
        Err(e) => return store_down(&e, json, &settings),
    }
    let registration = match f.store.rsvp(&event.id, &email, event.capacity, now).await {
        Ok(registration) => registration,
        Err(e) => return store_down(&e, json, &settings),
    };
    for happening in [
        Happening::FormSubmitted(FormName::Rsvp),
        Happening::Rsvp(&event.id),
    ] {
        if let Err(e) = automations::start(&f, &email, happening, now).await {
            return store_down(&e, json, &settings);
        }
    }
    let (template, says) = match registration.status {
        RsvpStatus::Waitlisted => ("rsvp-waitlisted", Says::RsvpWaitlisted),
        _ => ("rsvp-confirmed", Says::RsvpConfirmed),
    };
    let attachments = if registration.status == RsvpStatus::Confirmed {
        vec![ics(&settings, &event, now)]
    } else {
        Vec::new()
    };
    if let Some(message) = compose(
        &settings,
        template,
        &supporter,
        Some(&event),
        now,
        attachments,
    ) && let Err(e) = f.mailer.send(&message).await
        && matches!(e, MailError::Transient(_))
    {
        return mail_down(&e, json, &settings);
    }
    log_outcome(
        "rsvp",
        if registration.status == RsvpStatus::Waitlisted {
            "waitlisted"
        } else {
            "confirmed"
        },
    );
    let status = if registration.status == RsvpStatus::Waitlisted {
        "waitlisted"
    } else {
        "confirmed"
    };
    let mut answer = success(&settings, says, thanks, Some(json!({ "status": status })));
    if registration.status == RsvpStatus::Waitlisted {
        // The thank-you page would say they are registered: tell them in
        // place (or on a page of its own) that they wait for a seat.
        answer.redirect = None;
        answer.back = Some(source);
    }
    answer.respond(json, &settings)
}

pub(super) async fn cancel_page<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    let settings = f.settings();
    let token = token_of(&request);
    let now = (f.clock)();
    let Ok(claims) = settings.keys.verify(Purpose::CancelRsvp, &token, now) else {
        return bad_link(&settings, false);
    };
    let title = settings
        .manifest
        .event(&claims.detail)
        .map(|e| e.title.clone())
        .unwrap_or_default();
    (StatusCode::OK, pages::cancel(&settings, &token, &title)).into_response()
}

pub(super) async fn cancel<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    let settings = f.settings();
    let json = wants_json(request.headers());
    let now = (f.clock)();
    let Ok(claims) = settings
        .keys
        .verify(Purpose::CancelRsvp, &token_of(&request), now)
    else {
        return bad_link(&settings, json);
    };
    let event = settings.manifest.event(&claims.detail).cloned();
    let capacity = event.as_ref().and_then(|e| e.capacity);
    let (_, promoted) = match f
        .store
        .cancel_rsvp(&claims.detail, &claims.subject, capacity, now)
        .await
    {
        Ok(outcome) => outcome,
        Err(e) => return store_down(&e, json, &settings),
    };
    // Seats the capacity owes beyond the one given back (it was raised).
    let owed = match f
        .store
        .promote_waitlist(&claims.detail, capacity, now)
        .await
    {
        Ok(owed) => owed,
        Err(e) => return store_down(&e, json, &settings),
    };
    if let Some(event) = event {
        let promoted: Vec<Rsvp> = promoted.into_iter().chain(owed).collect();
        if let Err(e) = tell_promoted(&f, &settings, &event, promoted, now).await {
            return store_down(&e, json, &settings);
        }
    }
    log_outcome("rsvp-cancel", "cancelled");
    let mut answer = Answer::refuse(StatusCode::OK, Says::Cancelled, &settings);
    answer.back = Some("/".to_owned());
    answer.respond(json, &settings)
}

/// Sends each promoted guest their seat, with the event's `.ics`. The
/// promotions stand whatever happens to the emails: a refused one is only
/// logged (nobody here would retry it).
async fn tell_promoted<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    settings: &Settings,
    event: &estrade_domain::Event,
    promoted: Vec<Rsvp>,
    now: Timestamp,
) -> Result<(), StoreError> {
    for seat in promoted {
        let supporter = match f.store.supporter(&seat.email).await? {
            Some(supporter) => supporter,
            None => Supporter::new(
                SupporterUpdate {
                    email: seat.email.clone(),
                    ..Default::default()
                },
                EmailStatus::Pending,
                now,
            ),
        };
        let attachments = vec![ics(settings, event, now)];
        if let Some(message) = compose(
            settings,
            "rsvp-promoted",
            &supporter,
            Some(event),
            now,
            attachments,
        ) && let Err(e) = f.mailer.send(&message).await
        {
            eprintln!(
                "{{\"level\":\"error\",\"what\":\"promotion mail\",\"error\":{:?}}}",
                e.to_string()
            );
        }
    }
    Ok(())
}
