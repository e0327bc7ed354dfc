use super::*;
use serde_json::json;

const SECRET: &str = "whsec_estrade_test_0123456789abcdef";
const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
const SIGNED_AT: i64 = 1_803_895_200;
// HMAC-SHA256 of "1803895200.<BODY>" under SECRET, and under
// "whsec_old_secret", computed apart with Python's hmac module.
const V1: &str = "be7c5fb1c908b0e0b238f971485b9d16a2e9a0dfc0a7298c77b82aefd065a368";
const V1_OLD: &str = "7e834a27c3591e67704e377dfa9586440a375cff13414ca999f5086208dcfd09";

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

fn secrets(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_signature_made_by_the_documented_scheme_is_accepted() {
    let header = format!("t={SIGNED_AT},v1={V1},v0=ignored");
    let ok = verify_stripe_signature(&header, BODY, &secrets(&[SECRET]), at(SIGNED_AT + 10), 300);
    assert_eq!(ok, Ok(()));
    // Several v1 entries (Stripe signs with each secret while one is
    // rolled): any match does.
    let header = format!("t={SIGNED_AT},v1={V1_OLD},v1={V1}");
    let ok = verify_stripe_signature(&header, BODY, &secrets(&[SECRET]), at(SIGNED_AT), 300);
    assert_eq!(ok, Ok(()));
    // The endpoint knows two secrets: the old one still verifies.
    let header = format!("t={SIGNED_AT},v1={V1_OLD}");
    let both = secrets(&["whsec_new", "whsec_old_secret"]);
    assert_eq!(
        verify_stripe_signature(&header, BODY, &both, at(SIGNED_AT), 300),
        Ok(())
    );
}

#[test]
fn the_signer_signs_as_stripe_does() {
    assert_eq!(
        stripe_signature(SECRET, SIGNED_AT, BODY),
        format!("t={SIGNED_AT},v1={V1}")
    );
}

#[test]
fn anything_else_is_refused() {
    let now = at(SIGNED_AT);
    let one = secrets(&[SECRET]);
    let check = |header: &str, body: &[u8]| verify_stripe_signature(header, body, &one, now, 300);
    assert_eq!(check("", BODY), Err(SignatureError::Missing));
    assert_eq!(
        check(&format!("v1={V1}"), BODY),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        check(&format!("t={SIGNED_AT}"), BODY),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        check(&format!("t={SIGNED_AT},v1=zz{}", &V1[2..]), BODY),
        Err(SignatureError::Missing)
    );
    // One byte of the body changed.
    let tampered = br#"{"id":"evt_2","type":"checkout.session.completed"}"#;
    assert_eq!(
        check(&format!("t={SIGNED_AT},v1={V1}"), tampered),
        Err(SignatureError::Mismatch)
    );
    // The time changed: it is part of what is signed.
    assert_eq!(
        check(&format!("t={},v1={V1}", SIGNED_AT + 1), BODY),
        Err(SignatureError::Mismatch)
    );
    // Only v1 counts: the same signature as v0 is not looked at.
    assert_eq!(
        check(&format!("t={SIGNED_AT},v0={V1}"), BODY),
        Err(SignatureError::Missing)
    );
    // A wrong secret.
    let header = format!("t={SIGNED_AT},v1={V1}");
    assert_eq!(
        verify_stripe_signature(&header, BODY, &secrets(&["whsec_x"]), now, 300),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_replay_outside_the_tolerance_is_refused() {
    let header = format!("t={SIGNED_AT},v1={V1}");
    let one = secrets(&[SECRET]);
    let check = |now: i64| verify_stripe_signature(&header, BODY, &one, at(now), 300);
    assert_eq!(check(SIGNED_AT + 300), Ok(()));
    assert_eq!(check(SIGNED_AT + 301), Err(SignatureError::Stale));
    assert_eq!(check(SIGNED_AT - 301), Err(SignatureError::Stale));
}

fn donor() -> Donor {
    Donor {
        first_name: "Élise".into(),
        last_name: "Marie-Dupont".into(),
        birth_date: "1980-04-02".into(),
        address: "12 rue des Lilas".into(),
        postcode: "59300".into(),
        city: "Valenciennes".into(),
        country: "FR".into(),
        email: "elise@example.org".into(),
        phone: None,
    }
}

#[test]
fn a_donor_is_the_same_person_whatever_the_email_or_spelling() {
    let one = donor();
    let again = Donor {
        first_name: "ELISE ".into(),
        last_name: "marie dupont".into(),
        address: "12, r. des lilas".into(),
        email: "e.dupont@example.net".into(),
        ..donor()
    };
    assert_eq!(one.key(), again.key());
    assert_eq!(one.key().len(), 64);
    let born_later = Donor {
        birth_date: "1981-04-02".into(),
        ..donor()
    };
    assert_ne!(one.key(), born_later.key());
    let elsewhere = Donor {
        postcode: "13001".into(),
        ..donor()
    };
    assert_ne!(one.key(), elsewhere.key());
    let other_name = Donor {
        first_name: "Elisa".into(),
        ..donor()
    };
    assert_ne!(one.key(), other_name.key());
    assert_eq!(fold("  Ça  va--bien?! "), "ca va bien");
}

#[test]
fn amounts_read_as_people_write_them() {
    assert_eq!(money(460_000, "EUR", "fr"), "4\u{202f}600,00\u{a0}€");
    assert_eq!(money(1_234_567, "EUR", "en"), "€12,345.67");
    assert_eq!(money(5, "CHF", "en"), "CHF0.05");
    assert_eq!(cents(50), 5_000);
    assert_eq!(whole_money(4600, "EUR", "fr"), "4\u{202f}600\u{a0}€");
    assert_eq!(whole_money(50, "GBP", "en"), "£50");
}

fn event(kind: &str, object: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "evt_9", "object": "event", "type": kind, "created": SIGNED_AT,
        "data": { "object": object }
    }))
    .unwrap()
}

fn meta() -> serde_json::Value {
    json!({ META_DONOR: "d1", META_ELECTION: "leg-2027", META_FREQUENCY: "once" })
}

#[test]
fn a_paid_checkout_session_is_a_gift() {
    let body = event(
        "checkout.session.completed",
        json!({"id": "cs_1", "mode": "payment", "payment_status": "paid",
               "payment_intent": "pi_1", "amount_total": 5000, "currency": "eur",
               "metadata": meta()}),
    );
    let StripeEvent::Paid(paid) = read_stripe_event(&body).unwrap() else {
        panic!("not paid");
    };
    assert_eq!(paid.payment, "pi_1");
    assert_eq!(paid.amount, 5000);
    assert_eq!(paid.donor, "d1");
    assert_eq!(paid.election, "leg-2027");
    assert_eq!(paid.frequency, Frequency::Once);
    assert_eq!(paid.at, at(SIGNED_AT));
    // SEPA: completed but not paid yet; the later success is the gift.
    let body = event(
        "checkout.session.completed",
        json!({"mode": "payment", "payment_status": "unpaid", "payment_intent": "pi_2",
               "amount_total": 5000, "currency": "eur", "metadata": meta()}),
    );
    assert!(matches!(
        read_stripe_event(&body),
        Ok(StripeEvent::Awaiting { .. })
    ));
    let body = event(
        "checkout.session.async_payment_succeeded",
        json!({"mode": "payment", "payment_status": "paid", "payment_intent": "pi_2",
               "amount_total": 5000, "currency": "eur", "metadata": meta()}),
    );
    assert!(matches!(read_stripe_event(&body), Ok(StripeEvent::Paid(p)) if p.payment == "pi_2"));
}

#[test]
fn monthly_gifts_count_from_their_invoices() {
    for object in [
        json!({"id": "in_1", "amount_paid": 2000, "currency": "eur",
               "parent": {"subscription_details": {"metadata": meta(), "subscription": "sub_1"}}}),
        json!({"id": "in_1", "amount_paid": 2000, "currency": "eur", "subscription": "sub_1",
               "payment_intent": "pi_7", "subscription_details": {"metadata": meta()}}),
    ] {
        let Ok(StripeEvent::Paid(paid)) = read_stripe_event(&event("invoice.paid", object)) else {
            panic!("not paid");
        };
        assert_eq!(paid.payment, "in_1");
        assert_eq!(paid.frequency, Frequency::Monthly);
        assert_eq!(paid.amount, 2000);
        assert_eq!(paid.subscription.as_deref(), Some("sub_1"));
    }
    // The subscription's checkout itself counts nothing.
    let body = event(
        "checkout.session.completed",
        json!({"mode": "subscription", "payment_status": "paid", "metadata": meta()}),
    );
    assert!(matches!(
        read_stripe_event(&body),
        Ok(StripeEvent::Ignored { .. })
    ));
}

#[test]
fn refunds_failures_and_nonsense() {
    let body = event(
        "charge.refunded",
        json!({"payment_intent": "pi_1", "amount_refunded": 5000, "metadata": meta()}),
    );
    assert_eq!(
        read_stripe_event(&body),
        Ok(StripeEvent::Refunded {
            event: "evt_9".into(),
            payment_intent: "pi_1".into(),
            amount_refunded: 5000,
            at: at(SIGNED_AT),
            ours: true,
        })
    );
    let body = event(
        "charge.refunded",
        json!({"payment_intent": "pi_1", "amount_refunded": 5000, "metadata": {}}),
    );
    assert!(matches!(
        read_stripe_event(&body),
        Ok(StripeEvent::Refunded { ours: false, .. })
    ));
    let body = event("checkout.session.async_payment_failed", json!({}));
    assert!(matches!(
        read_stripe_event(&body),
        Ok(StripeEvent::Failed { .. })
    ));
    let body = event("customer.created", json!({}));
    assert!(matches!(
        read_stripe_event(&body),
        Ok(StripeEvent::Ignored { .. })
    ));
    // A paid session without the campaign's metadata was not made here.
    let body = event(
        "checkout.session.completed",
        json!({"mode": "payment", "payment_status": "paid", "payment_intent": "pi_3",
               "amount_total": 5000, "currency": "eur", "metadata": {}}),
    );
    assert!(read_stripe_event(&body).is_err());
    assert!(read_stripe_event(b"not json").is_err());
    assert!(read_stripe_event(b"{\"id\":\"evt\"}").is_err());
}
