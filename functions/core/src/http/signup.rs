//! Signup, volunteer and the confirmation link.

use super::*;
use crate::automations;
use crate::store::Upserted;
use estrade_domain::automation::Happening;

pub(super) async fn signup<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    take_signup(f, FormName::Signup, request).await
}

pub(super) async fn volunteer<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    take_signup(f, FormName::Volunteer, request).await
}

pub(super) async fn take_signup<S: Store, M: Mailer>(
    f: Arc<Functions<S, M>>,
    form: FormName,
    request: Request,
) -> Response {
    let settings = f.settings();
    let incoming = match gate(&f, &settings, form.as_str(), request, true).await {
        Ok(incoming) => incoming,
        Err(response) => return response,
    };
    let json = incoming.json;
    let submission = &incoming.submission;
    let source = local_path(submission.get(SOURCE_FIELD), "/");
    let thanks = local_path(submission.get(THANKS_FIELD), &default_thanks(&settings));
    if is_bot(submission) {
        log_outcome(form.as_str(), "dropped-as-bot");
        return success(&settings, Says::Thanks, thanks, None).respond(json, &settings);
    }
    let cleaned = match validate::validate(form.definition(), submission, &settings.manifest.config)
    {
        Ok(cleaned) => cleaned,
        Err(problems) => return invalid(problems, &settings, source).respond(json, &settings),
    };
    let now = (f.clock)();
    let update = update_from(
        &cleaned,
        form == FormName::Volunteer,
        incoming.recruiter.as_deref(),
        &settings,
    );
    let email = update.email.clone();
    let double_opt_in = settings.manifest.config.forms.double_opt_in;
    // Kept only until the address is confirmed: unconfirmed, it expires.
    let update = SupporterUpdate {
        until_confirmed: double_opt_in,
        ..update
    };
    let status = if double_opt_in {
        EmailStatus::Pending
    } else {
        EmailStatus::Confirmed
    };
    // The interests this form adds start the automations waiting for them
    // (read before the write: two forms racing may both start one, which
    // the run's queue id makes one when they fall in the same second).
    let known_interests = if update.interests.is_empty() {
        Default::default()
    } else {
        match f.store.supporter(&email).await {
            Ok(known) => known.map(|s| s.interests).unwrap_or_default(),
            Err(e) => return store_down(&e, json, &settings),
        }
    };
    let added: Vec<String> = update
        .interests
        .difference(&known_interests)
        .cloned()
        .collect();
    let record = consent(&settings, form, &email, &source, ConsentAction::Given, now);
    let records = consents_of(&update, record, &settings);
    let (how, supporter) = match f.store.upsert_supporter(update, status, records, now).await {
        Ok(upserted) => upserted,
        Err(e) => return store_down(&e, json, &settings),
    };
    // The automations this form starts (and, without double opt-in, a new
    // address counts as confirmed at once).
    let mut happenings = vec![Happening::FormSubmitted(form)];
    if how == Upserted::Created && supporter.status == EmailStatus::Confirmed {
        happenings.push(Happening::Confirmed);
    }
    happenings.extend(added.iter().map(|tag| Happening::TagAdded(tag)));
    for happening in happenings {
        if let Err(e) = automations::start(&f, &email, happening, now).await {
            return store_down(&e, json, &settings);
        }
    }
    // The same answer whether the address was known or not: nothing
    // tells a visitor who else supports the campaign.
    let template = if supporter.status == EmailStatus::Pending && double_opt_in {
        "confirm"
    } else if form == FormName::Volunteer {
        "volunteer"
    } else {
        "welcome"
    };
    // A bounced or complaining address gets nothing, whatever the form.
    let suppressed = matches!(
        supporter.status,
        EmailStatus::Bounced | EmailStatus::Complained
    );
    let message = if suppressed {
        None
    } else {
        compose(&settings, template, &supporter, None, now, Vec::new())
    };
    if let Some(message) = message
        && let Err(e) = f.mailer.send(&message).await
    {
        if matches!(e, MailError::Transient(_)) {
            return mail_down(&e, json, &settings);
        }
        eprintln!(
            "{{\"level\":\"warn\",\"what\":\"mail refused\",\"form\":\"{}\"}}",
            form.as_str()
        );
    }
    log_outcome(form.as_str(), "accepted");
    let thanks = with_share_code(&thanks, &settings, &email);
    success(&settings, Says::Thanks, thanks, None).respond(json, &settings)
}

pub(super) async fn confirm<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    let settings = f.settings();
    let json = wants_json(request.headers());
    let now = (f.clock)();
    let Ok(claims) = settings
        .keys
        .verify(Purpose::Confirm, &token_of(&request), now)
    else {
        return bad_link(&settings, json);
    };
    let email = claims.subject;
    let supporter = match f.store.supporter(&email).await {
        Ok(Some(supporter)) => supporter,
        Ok(None) => return bad_link(&settings, json),
        Err(e) => return store_down(&e, json, &settings),
    };
    if supporter.status == EmailStatus::Pending {
        let record = consent(
            &settings,
            FormName::Signup,
            &email,
            "/api/confirm",
            ConsentAction::Confirmed,
            now,
        );
        if let Err(e) = f
            .store
            .set_status(&email, EmailStatus::Confirmed, Some(record), now)
            .await
        {
            return store_down(&e, json, &settings);
        }
        if let Err(e) = automations::start(&f, &email, Happening::Confirmed, now).await {
            return store_down(&e, json, &settings);
        }
        let template = if supporter.volunteer {
            "volunteer"
        } else {
            "welcome"
        };
        if let Some(message) = compose(&settings, template, &supporter, None, now, Vec::new())
            && let Err(e) = f.mailer.send(&message).await
            && matches!(e, MailError::Transient(_))
        {
            return mail_down(&e, json, &settings);
        }
        log_outcome("confirm", "confirmed");
    }
    let page = pages::message(
        &settings,
        Says::Confirmed.text(settings.lang()),
        &[],
        "/",
        true,
    );
    (StatusCode::OK, page).into_response()
}
