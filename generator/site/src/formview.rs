//! A form of the shared domain crate, ready for a theme to render: fields
//! with their labels in the site's language, and where the form posts.

use estrade_domain::CampaignConfig;
use estrade_domain::donation::whole_money;
use estrade_domain::forms::{COUNTRIES, FieldKind, FormName, HONEYPOT_FIELD};
use serde_json::{Value, json};
use std::collections::HashMap;

/// `form(name=..., source=..., thanks=..., event=...)` for templates.
pub fn form_value(
    args: &HashMap<String, Value>,
    config: &CampaignConfig,
    strings: &HashMap<String, String>,
) -> Result<Value, String> {
    let arg = |key: &str| args.get(key).and_then(Value::as_str).unwrap_or("");
    let name = arg("name");
    let Some(form) = FormName::parse(name) else {
        return Err(format!(
            "form(name=\"{name}\"): there is no such form; use signup, volunteer, rsvp or donation"
        ));
    };
    let text = |key: &str| -> Result<String, String> {
        strings.get(key).cloned().ok_or_else(|| {
            format!("form `{name}` needs the string `{key}` in the theme's i18n file")
        })
    };
    let definition = form.definition();
    let mut fields = Vec::with_capacity(definition.fields.len());
    for field in definition.fields {
        let options = match field.kind {
            FieldKind::Interests => choices(&config.interests),
            FieldKind::Skills => choices(&config.skills),
            FieldKind::Amount => config
                .donations
                .amounts
                .iter()
                .map(|a| json!({"value": a.to_string(), "label": whole_money(*a, &config.donations.currency, &config.language), "checked": false}))
                .collect(),
            // Monthly gifts only where the campaign takes them.
            FieldKind::Frequency if config.donations.monthly => vec![
                json!({"value": "once", "label": text("form.frequency.once")?, "checked": true}),
                json!({"value": "monthly", "label": text("form.frequency.monthly")?, "checked": false}),
            ],
            FieldKind::Frequency => vec![
                json!({"value": "once", "label": text("form.frequency.once")?, "checked": true}),
            ],
            FieldKind::Country => COUNTRIES
                .iter()
                .map(|code| {
                    Ok(json!({"value": code, "label": text(&format!("country.{code}"))?, "checked": *code == "FR"}))
                })
                .collect::<Result<Vec<_>, String>>()?,
            _ => Vec::new(),
        };
        let label = if field.kind == FieldKind::Hidden {
            String::new()
        } else {
            text(&format!("form.{}", field.name))?
        };
        fields.push(json!({
            "name": field.name,
            "kind": field.kind,
            "input_type": field.kind.input_type(),
            "required": field.required,
            "max_len": field.max_len,
            "autocomplete": field.autocomplete,
            "label": label,
            "help": strings
                .get(&format!("form.help.{name}.{}", field.name))
                .or_else(|| strings.get(&format!("form.help.{}", field.name)))
                .cloned()
                .unwrap_or_default(),
            "options": options,
        }));
    }
    let consent_text = if definition.records_consent {
        Value::String(text(&format!("form.consent.{name}"))?)
    } else {
        Value::Null
    };
    let endpoint = config.forms.endpoint.trim_end_matches('/');
    Ok(json!({
        "name": name,
        "action": format!("{endpoint}/{}", form.endpoint_path()),
        "method": "post",
        "fields": fields,
        "consent_text": consent_text,
        "submit_label": text(&format!("form.submit.{name}"))?,
        "other_amount_label": if form == FormName::Donation { text("form.amount.other")? } else { String::new() },
        "honeypot": HONEYPOT_FIELD,
        "source": arg("source"),
        "thanks": arg("thanks"),
        "event": arg("event"),
    }))
}

fn choices(list: &[estrade_domain::config::Choice]) -> Vec<Value> {
    list.iter()
        .map(|c| json!({"value": c.id, "label": c.label, "checked": false}))
        .collect()
}
