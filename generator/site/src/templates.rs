//! The theme's Tera templates with Estrade's functions and filters.

use crate::assets::AssetMap;
use crate::diagnostic::{Diagnostic, chain};
use crate::theme::ThemeFiles;
use crate::{dates, formview};
use estrade_domain::CampaignConfig;
use std::collections::HashMap;
use std::sync::Arc;
use tera::{Tera, Value};

pub type Strings = Arc<HashMap<String, String>>;

/// Templates ready to render, and where each came from for error messages.
pub struct Templates {
    pub tera: Tera,
    pub files: HashMap<String, String>,
}

impl Templates {
    pub fn load(
        theme: &ThemeFiles,
        config: &Arc<CampaignConfig>,
        strings: &Strings,
        assets: &Arc<AssetMap>,
    ) -> Result<Templates, Vec<Diagnostic>> {
        let mut sources = Vec::new();
        let mut files = HashMap::new();
        let mut problems = Vec::new();
        for (name, file) in &theme.templates {
            match file.source.read() {
                Ok(bytes) => match String::from_utf8(bytes.into_owned()) {
                    Ok(text) => sources.push((name.clone(), text)),
                    Err(_) => problems.push(Diagnostic::new(&file.shown_as, "is not UTF-8 text")),
                },
                Err(e) => {
                    problems.push(Diagnostic::new(&file.shown_as, format!("cannot read: {e}")))
                }
            }
            files.insert(name.clone(), file.shown_as.clone());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html", ".xml"]);
        // Tera's own escaping also turns `/` into `&#x2F;`, which is valid
        // but makes every URL in the HTML hard to read.
        tera.set_escape_fn(estrade_domain::text::escape_html);
        if let Err(error) = tera.add_raw_templates(sources) {
            return Err(vec![template_error(&error, &files)]);
        }
        tera.register_function("t", translate(strings.clone()));
        let assets_for_fn = assets.clone();
        tera.register_function("asset", move |args: &HashMap<String, Value>| {
            let path = string_arg(args, "asset", "path")?;
            assets_for_fn
                .url(path)
                .map(|u| Value::String(u.to_owned()))
                .ok_or_else(|| {
                    tera::Error::msg(format!(
                        "asset(path=\"{path}\"): there is no `assets/{path}` in the theme or the site"
                    ))
                })
        });
        let config_for_form = config.clone();
        let strings_for_form = strings.clone();
        tera.register_function("form", move |args: &HashMap<String, Value>| {
            formview::form_value(args, &config_for_form, &strings_for_form)
                .map_err(tera::Error::msg)
        });
        let lang = config.language.clone();
        tera.register_filter(
            "format_date",
            move |value: &Value, args: &HashMap<String, Value>| {
                let style = args.get("style").and_then(Value::as_str).unwrap_or("long");
                let Some(text) = value.as_str() else {
                    return Err(tera::Error::msg(format!(
                        "format_date: expected a date, got {value}"
                    )));
                };
                let Some(local) = dates::parse_local(text) else {
                    return Err(tera::Error::msg(format!(
                        "format_date: `{text}` is not a date"
                    )));
                };
                dates::format(local, style, &lang)
                    .map(Value::String)
                    .ok_or_else(|| {
                        tera::Error::msg(format!(
                            "format_date: unknown style `{style}`; use one of {}",
                            dates::STYLES
                        ))
                    })
            },
        );
        Ok(Templates { tera, files })
    }

    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Where template `name` comes from, for error messages.
    pub fn shown(&self, name: &str) -> String {
        self.files
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("templates/{name}"))
    }
}

fn translate(strings: Strings) -> impl tera::Function {
    move |args: &HashMap<String, Value>| {
        let key = string_arg(args, "t", "key")?;
        strings
            .get(key)
            .map(|text| Value::String(fill(text, args)))
            .ok_or_else(|| {
                tera::Error::msg(format!(
                    "t(key=\"{key}\"): no such string in the theme's i18n file for this language"
                ))
            })
    }
}

/// Replaces `{name}` in a string with the `name=` argument of `t()`, so a
/// translation can place numbers where its language wants them.
fn fill(text: &str, args: &HashMap<String, Value>) -> String {
    let mut out = text.to_owned();
    for (name, value) in args {
        if name == "key" {
            continue;
        }
        let shown = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{name}}}"), &shown);
    }
    out
}

fn string_arg<'a>(
    args: &'a HashMap<String, Value>,
    function: &str,
    name: &str,
) -> tera::Result<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| tera::Error::msg(format!("{function}() needs `{name}=\"...\"`")))
}

/// A Tera error as a diagnostic on the template file. Parse errors carry
/// a place (`--> 3:5`) and an explanation line (`= expected ...`); render
/// errors are a chain of causes.
pub fn template_error(error: &tera::Error, files: &HashMap<String, String>) -> Diagnostic {
    let text = chain(error);
    let file = files
        .iter()
        .filter(|(name, _)| text.contains(&format!("'{name}'")))
        .max_by_key(|(name, _)| name.len())
        .map(|(_, shown)| shown.clone())
        .unwrap_or_else(|| "templates".to_owned());
    let Some(at) = text.find("--> ") else {
        return Diagnostic::new(file, text.replace('\n', " "));
    };
    let place: String = text[at + 4..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    let explanation: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("= "))
        .collect();
    let mut diagnostic =
        Diagnostic::new(file, format!("template syntax: {}", explanation.join(" ")));
    if let Some((line, column)) = place.split_once(':')
        && let (Ok(line), Ok(column)) = (line.parse(), column.parse())
    {
        diagnostic = diagnostic.at(line, column);
    }
    diagnostic
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_take_named_values() {
        let mut args = HashMap::new();
        args.insert("key".to_owned(), Value::from("pager"));
        args.insert("number".to_owned(), Value::from(2));
        args.insert("total".to_owned(), Value::from("3"));
        assert_eq!(fill("Page {number} sur {total}", &args), "Page 2 sur 3");
        assert_eq!(fill("Sans valeur {autre}", &args), "Sans valeur {autre}");
    }
}
