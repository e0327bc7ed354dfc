//! Importing people: new ones created with an imported consent, known ones
//! merged without loss, erased ones refused, a dry run writing nothing,
//! the same file imported again changing nothing.

use super::{Must, holds, minute, same, set};
use crate::people::forget;
use crate::store::Store;
use estrade_domain::import::{ImportRun, Outcome, Person, Prefer};
use estrade_domain::supporter::{
    Channel, ConsentAction, ConsentRecord, EmailStatus, SupporterUpdate,
};
use std::collections::BTreeMap;

fn run(prefer: Prefer) -> ImportRun {
    ImportRun {
        source: "members 2026.csv".to_owned(),
        file_sha256: "ab".repeat(32),
        build: "contract".to_owned(),
        prefer,
        default_opt_in: false,
        at: minute(900),
    }
}

fn person(email: &str) -> Person {
    Person {
        lines: vec![2],
        email: email.to_owned(),
        first_name: Some("Aïcha".to_owned()),
        last_name: Some("Benali".to_owned()),
        phone: Some("+33612345678".to_owned()),
        postcode: Some("59300".to_owned()),
        country: Some("FR".to_owned()),
        tags: set(["adherent"]),
        external_ids: BTreeMap::from([("nationbuilder".to_owned(), "1234".to_owned())]),
        created_at: Some(minute(-100_000)),
        email_opt_in: Some(true),
        sms_opt_in: Some(true),
        ..Person::default()
    }
}

pub(super) async fn people_are_imported_and_merged<S: Store>(store: &S) {
    let (new, known, erased) = (
        "import-new@example.fr",
        "import-known@example.fr",
        "import-erased@example.fr",
    );
    let signup = |email: &str| SupporterUpdate {
        email: email.to_owned(),
        first_name: Some("Aicha".to_owned()),
        interests: set(["ecologie"]),
        phone: Some("+33698765432".to_owned()),
        ..SupporterUpdate::default()
    };
    let given = ConsentRecord {
        email: known.to_owned(),
        action: ConsentAction::Given,
        channel: Channel::Email,
        form: "signup".to_owned(),
        page: "/".to_owned(),
        text_hash: "cd".repeat(32),
        build: "contract".to_owned(),
        at: minute(800),
    };
    store
        .upsert_supporter(
            signup(known),
            EmailStatus::Confirmed,
            vec![given.clone()],
            minute(800),
        )
        .await
        .must("upsert_supporter");
    store
        .upsert_supporter(signup(erased), EmailStatus::Confirmed, vec![], minute(800))
        .await
        .must("upsert_supporter");
    forget(store, erased, &BTreeMap::new(), minute(801))
        .await
        .must("forget");
    let people = vec![person(new), person(known), person(erased)];

    let dry = store
        .import_people(people.clone(), run(Prefer::Store), false)
        .await
        .must("import_people (dry run)");
    let outcomes: Vec<Outcome> = dry.iter().map(|a| a.outcome.clone()).collect();
    same(
        outcomes,
        vec![
            Outcome::Created,
            Outcome::Updated,
            Outcome::Forgotten(minute(801)),
        ],
        "a dry run says what an import would do, in order",
    );
    holds(
        store.supporter(new).await.must("supporter").is_none(),
        "a dry run writes nothing",
    );

    let done = store
        .import_people(people.clone(), run(Prefer::Store), true)
        .await
        .must("import_people");
    same(&done, &dry, "the import does what its dry run said");
    let created = store.supporter(new).await.must("supporter");
    let created = created.unwrap_or_else(|| panic!("store contract: the new person is stored"));
    same(
        created.status,
        EmailStatus::Confirmed,
        "an opted-in person is confirmed",
    );
    holds(created.sms, "an opted-in mobile takes texts");
    same(
        created.created_at,
        minute(-100_000),
        "the file's creation date stays",
    );
    same(
        created
            .external_ids
            .get("nationbuilder")
            .map(String::as_str),
        Some("1234"),
        "external ids are kept",
    );
    same(created.tags, set(["adherent"]), "tags are kept");
    let mut walked = None;
    let mut after = None;
    loop {
        let page = store.members(after, 100, minute(900)).await.must("members");
        if let Some(member) = page.items.into_iter().find(|m| m.email == new) {
            walked = Some(member);
            break;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    same(
        walked.map(|member| member.tags),
        Some(set(["adherent"])),
        "the walk audiences read carries the imported tags",
    );
    let consents = store.consents(new).await.must("consents");
    same(
        consents
            .iter()
            .map(|c| (c.action, c.channel, c.form.as_str(), c.page.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (
                ConsentAction::Imported,
                Channel::Email,
                "import",
                "members 2026.csv",
            ),
            (
                ConsentAction::Imported,
                Channel::Sms,
                "import",
                "members 2026.csv",
            ),
        ],
        "consent is recorded as imported, with its source",
    );

    let merged = store.supporter(known).await.must("supporter");
    let merged = merged.unwrap_or_else(|| panic!("store contract: the known person stays"));
    same(
        merged.first_name.as_deref(),
        Some("Aicha"),
        "by default what the campaign holds wins",
    );
    same(
        merged.last_name.as_deref(),
        Some("Benali"),
        "empty fields are filled",
    );
    same(
        merged.interests,
        set(["ecologie"]),
        "the form's interests stay",
    );
    same(
        merged.phone.as_deref(),
        Some("+33698765432"),
        "the held phone stays",
    );
    holds(
        merged.other_phones.contains("+33612345678"),
        "the file's other phone is kept beside it",
    );
    holds(
        !merged.sms,
        "consent to texts is for the number it was given for",
    );
    let history = store.consents(known).await.must("consents");
    same(
        history.len(),
        1,
        "a confirmed supporter gets no imported consent",
    );
    same(
        &dry[1].conflicts,
        &vec!["first_name", "phone"],
        "conflicts are named",
    );

    holds(
        store.supporter(erased).await.must("supporter").is_none(),
        "an erased address is not brought back",
    );

    let again = store
        .import_people(people.clone(), run(Prefer::Store), true)
        .await
        .must("import_people (again)");
    same(
        again.iter().map(|a| a.outcome.clone()).collect::<Vec<_>>(),
        vec![
            Outcome::Unchanged,
            Outcome::Unchanged,
            Outcome::Forgotten(minute(801)),
        ],
        "the same file imported again changes nothing",
    );
    same(
        store.consents(new).await.must("consents").len(),
        2,
        "nor adds consent",
    );

    let file_wins = store
        .import_people(vec![person(known)], run(Prefer::File), true)
        .await
        .must("import_people (file wins)");
    same(
        file_wins[0].outcome.clone(),
        Outcome::Updated,
        "the file may win",
    );
    let replaced = store.supporter(known).await.must("supporter");
    let replaced = replaced.unwrap_or_else(|| panic!("store contract: the known person stays"));
    same(
        replaced.first_name.as_deref(),
        Some("Aïcha"),
        "the file's name replaces",
    );
    same(
        replaced.phone.as_deref(),
        Some("+33612345678"),
        "the file's phone replaces",
    );
    holds(
        replaced.other_phones.contains("+33698765432"),
        "the replaced phone is kept among the others",
    );

    // Imported without consent, then a signup never confirmed: what the
    // file gave stays past the signup's expiry.
    let silent = "import-silent@example.fr";
    let mut without = person(silent);
    without.email_opt_in = Some(false);
    without.sms_opt_in = None;
    store
        .import_people(vec![without], run(Prefer::Store), true)
        .await
        .must("import_people (no consent)");
    let signup = SupporterUpdate {
        until_confirmed: true,
        ..signup(silent)
    };
    let given = ConsentRecord {
        email: silent.to_owned(),
        at: minute(1_000),
        ..given
    };
    store
        .upsert_supporter(signup, EmailStatus::Pending, vec![given], minute(1_000))
        .await
        .must("upsert_supporter (signup of someone held)");
    let held = store.supporter(silent).await.must("supporter");
    let held = held.unwrap_or_else(|| panic!("store contract: the held person stays"));
    same(held.status, EmailStatus::Pending, "their signup waits");
    same(
        held.expires_at,
        None,
        "someone held before does not expire with an unconfirmed signup",
    );
    same(
        held.external_ids.get("nationbuilder").map(String::as_str),
        Some("1234"),
        "what the file gave is kept",
    );
    same(
        store.consents(silent).await.must("consents").len(),
        1,
        "their signup's consent record is kept",
    );
}
