//! The site's forms, defined once. The theme renders these fields and the
//! functions decode the same names, so the HTML `name=` and the handlers
//! cannot drift apart. Labels are looked up in the theme's strings under
//! `form.<field name>`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FormName {
    /// Newsletter and petition-style signups.
    Signup,
    /// Signup with skills, interests and availability.
    Volunteer,
    /// RSVP to an event with RSVP on.
    Rsvp,
    /// A gift to the campaign.
    Donation,
}

impl FormName {
    pub const ALL: [FormName; 4] = [
        FormName::Signup,
        FormName::Volunteer,
        FormName::Rsvp,
        FormName::Donation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FormName::Signup => "signup",
            FormName::Volunteer => "volunteer",
            FormName::Rsvp => "rsvp",
            FormName::Donation => "donation",
        }
    }

    pub fn parse(name: &str) -> Option<FormName> {
        FormName::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Path the form posts to under the forms endpoint. Volunteers are
    /// supporters with more fields: the signup function takes both paths.
    pub fn endpoint_path(self) -> &'static str {
        match self {
            FormName::Signup => "signup",
            FormName::Volunteer => "volunteer",
            FormName::Rsvp => "rsvp",
            FormName::Donation => "donate",
        }
    }

    pub fn definition(self) -> &'static FormDefinition {
        match self {
            FormName::Signup => &SIGNUP,
            FormName::Volunteer => &VOLUNTEER,
            FormName::Rsvp => &RSVP,
            FormName::Donation => &DONATION,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Email,
    Tel,
    /// A postcode, checked for the country on the server.
    Postcode,
    /// ISO 3166 alpha-2 country code.
    Country,
    Date,
    Textarea,
    /// A single checkbox (a declaration, a consent).
    Checkbox,
    /// Several of the campaign's declared interests.
    Interests,
    /// Several of the campaign's volunteer skills.
    Skills,
    /// One of the campaign's suggested amounts, or another.
    Amount,
    /// Once or monthly.
    Frequency,
    /// Set by the page, not typed by the supporter.
    Hidden,
}

impl FieldKind {
    /// The `type` of the HTML input that edits this kind.
    pub fn input_type(self) -> &'static str {
        match self {
            FieldKind::Email => "email",
            FieldKind::Tel => "tel",
            FieldKind::Date => "date",
            FieldKind::Checkbox | FieldKind::Interests | FieldKind::Skills => "checkbox",
            FieldKind::Amount | FieldKind::Frequency => "radio",
            FieldKind::Hidden => "hidden",
            _ => "text",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    /// Longest accepted value, in characters.
    pub max_len: usize,
    /// The HTML `autocomplete` token, so phones fill the field.
    pub autocomplete: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FormDefinition {
    pub name: FormName,
    pub fields: &'static [Field],
    /// Whether the form records consent to be contacted (its text is the
    /// theme string `form.consent.<form>`).
    pub records_consent: bool,
}

/// Name of the hidden field that must stay empty (bots fill it).
pub const HONEYPOT_FIELD: &str = "website";
/// Milliseconds the page was open before the form was sent, added by the
/// theme's script; a form sent faster than [`MIN_FILL_MS`] is a bot's.
pub const ELAPSED_FIELD: &str = "elapsed";
pub const MIN_FILL_MS: u64 = 1000;
/// Hidden field carrying the path of the page the form was on.
pub const SOURCE_FIELD: &str = "source";
/// With `amount=other`, the field holding the amount the donor typed.
pub const OTHER_AMOUNT_FIELD: &str = "amount_other";
/// The checkbox agreeing to text messages; its label is the consent text
/// (theme string `form.sms_opt_in`, recorded under [`SMS_CONSENT`]).
pub const SMS_FIELD: &str = "sms_opt_in";
/// The key of the text-message consent text in the build's manifest.
pub const SMS_CONSENT: &str = "sms";
/// Hidden field carrying the share code of the supporter whose link
/// brought the visitor (`?ref=` of the page's address), set by the
/// theme's script; without it the `Referer` of the post says the same.
pub const RECRUITER_FIELD: &str = "ref";
/// Hidden field carrying the path of the page to show after success.
pub const THANKS_FIELD: &str = "thanks";

/// Countries offered in address fields, as ISO 3166 alpha-2 codes; `other`
/// stands for the rest of the world.
pub const COUNTRIES: [&str; 12] = [
    "FR", "BE", "CH", "LU", "DE", "ES", "IT", "PT", "GB", "US", "CA", "other",
];

const fn field(
    name: &'static str,
    kind: FieldKind,
    required: bool,
    max_len: usize,
    autocomplete: Option<&'static str>,
) -> Field {
    Field {
        name,
        kind,
        required,
        max_len,
        autocomplete,
    }
}

use FieldKind::*;

const EMAIL: Field = field("email", Email, true, 254, Some("email"));
const FIRST_NAME: Field = field("first_name", Text, false, 100, Some("given-name"));
const LAST_NAME: Field = field("last_name", Text, false, 100, Some("family-name"));
const POSTCODE: Field = field("postcode", Postcode, false, 10, Some("postal-code"));
const PHONE: Field = field("phone", Tel, false, 30, Some("tel"));
const INTERESTS: Field = field("interests", Interests, false, 64, None);
const SMS: Field = field(SMS_FIELD, Checkbox, false, 3, None);

pub static SIGNUP: FormDefinition = FormDefinition {
    name: FormName::Signup,
    fields: &[FIRST_NAME, EMAIL, POSTCODE, INTERESTS, PHONE, SMS],
    records_consent: true,
};

pub static VOLUNTEER: FormDefinition = FormDefinition {
    name: FormName::Volunteer,
    fields: &[
        field("first_name", Text, true, 100, Some("given-name")),
        field("last_name", Text, true, 100, Some("family-name")),
        EMAIL,
        field("phone", Tel, true, 30, Some("tel")),
        field("postcode", Postcode, true, 10, Some("postal-code")),
        field("skills", Skills, false, 64, None),
        INTERESTS,
        field("availability", Textarea, false, 1000, None),
        SMS,
    ],
    records_consent: true,
};

pub static RSVP: FormDefinition = FormDefinition {
    name: FormName::Rsvp,
    fields: &[
        field("event", Hidden, true, 300, None),
        field("first_name", Text, true, 100, Some("given-name")),
        LAST_NAME,
        EMAIL,
        POSTCODE,
    ],
    records_consent: true,
};

pub static DONATION: FormDefinition = FormDefinition {
    name: FormName::Donation,
    fields: &[
        field("amount", Amount, true, 10, None),
        field("frequency", Frequency, true, 10, None),
        field("first_name", Text, true, 100, Some("given-name")),
        field("last_name", Text, true, 100, Some("family-name")),
        field("birth_date", Date, true, 10, Some("bday")),
        EMAIL,
        PHONE,
        field("address", Text, true, 200, Some("street-address")),
        field("postcode", Postcode, true, 10, Some("postal-code")),
        field("city", Text, true, 100, Some("address-level2")),
        field("country", Country, true, 2, Some("country")),
        // The declarations French law requires of every donor.
        field("declare_natural_person", Checkbox, true, 3, None),
        field("declare_nationality", Checkbox, true, 3, None),
        field("declare_cap", Checkbox, true, 3, None),
    ],
    records_consent: false,
};

impl FormDefinition {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_asks_for_an_email_once() {
        for form in FormName::ALL {
            let emails = form
                .definition()
                .fields
                .iter()
                .filter(|f| f.name == "email")
                .count();
            assert_eq!(emails, 1, "{}", form.as_str());
            assert_eq!(FormName::parse(form.as_str()), Some(form));
        }
        assert_eq!(FormName::parse("petition"), None);
    }
}
