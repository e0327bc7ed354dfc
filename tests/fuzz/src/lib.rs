//! What both fuzz targets check once a body has been decoded: every form
//! validates it without panicking, and whatever validation accepts is in
//! the shape the handlers rely on.
//!
//! - An email is already normal: validating it again gives it back as is,
//!   so one person cannot be stored under two spellings of one address.
//! - A one-line text (names, address, hidden fields) holds no control
//!   character (a line break would forge an email header), no leading,
//!   trailing or doubled space, and fits its field's length.
//! - Validating the cleaned values again gives the same cleaned values.

use estrade_domain::CampaignConfig;
use estrade_domain::forms::{FieldKind, FormName};
use estrade_domain::submission::{MAX_FIELDS, Submission};
use estrade_domain::validate::{self, Cleaned};
use std::sync::LazyLock;

/// The example campaign's settings (its interests and skills are the
/// choices offered), read once.
pub static CONFIG: LazyLock<CampaignConfig> = LazyLock::new(|| {
    serde_yaml::from_str(include_str!("../../../campaign.yaml"))
        .expect("the example campaign.yaml is valid")
});

/// Validates `submission` against every form and checks what comes out.
pub fn check_every_form(submission: &Submission) {
    assert!(submission.len() <= MAX_FIELDS);
    for form in FormName::ALL {
        let definition = form.definition();
        let Ok(cleaned) = validate::validate(definition, submission, &CONFIG) else {
            continue;
        };
        for (name, values) in &cleaned.values {
            let field = definition
                .field(name)
                .unwrap_or_else(|| panic!("{name} is not a field of {}", form.as_str()));
            assert!(!values.is_empty(), "{name}: kept with no value");
            for value in values {
                check_value(field.kind, field.max_len, name, value);
            }
        }
        assert_eq!(
            validate::validate(definition, &again(&cleaned, submission), &CONFIG),
            Ok(cleaned.clone()),
            "{}: validating the cleaned values again changes them",
            form.as_str()
        );
    }
}

fn check_value(kind: FieldKind, max_len: usize, name: &str, value: &str) {
    match kind {
        FieldKind::Email => {
            assert_eq!(
                validate::email(value).as_deref(),
                Some(value),
                "{name}: the normalised address is not normal"
            );
            assert!(!value.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
        FieldKind::Text | FieldKind::Hidden => {
            assert!(
                !value.chars().any(char::is_control),
                "{name}: control character kept in {value:?}"
            );
            assert_eq!(value.trim(), value, "{name}: spaces kept around {value:?}");
            assert!(!value.contains("  "), "{name}: doubled space in {value:?}");
            assert!(
                value.chars().count() <= max_len,
                "{name}: longer than {max_len}"
            );
        }
        FieldKind::Textarea => {
            assert!(
                !value
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\t')),
                "{name}: control character kept in {value:?}"
            );
            assert!(
                value.chars().count() <= max_len,
                "{name}: longer than {max_len}"
            );
        }
        _ => {}
    }
}

/// The cleaned values as a new submission, with the `country` the client
/// sent: postcodes and phones are checked for it even on forms that do not
/// keep it.
fn again(cleaned: &Cleaned, sent: &Submission) -> Submission {
    let country = sent.get("country").map(|c| ("country", c.to_owned()));
    Submission::from_pairs(
        cleaned
            .values
            .iter()
            .flat_map(|(name, values)| values.iter().map(move |v| (*name, v.clone())))
            .filter(|(name, _)| *name != "country")
            .chain(country),
    )
}
