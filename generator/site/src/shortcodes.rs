//! Shortcodes: `{{ form(name="signup") }}` in Markdown calls the theme's
//! `shortcodes/form.html`. Calls are cut out before Markdown is parsed and
//! their HTML is put back afterwards, so Markdown never mangles it.

use std::collections::BTreeMap;

/// One call found in a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: BTreeMap<String, serde_json::Value>,
    pub line: usize,
    pub column: usize,
}

/// The body with each call replaced by a placeholder, and the calls.
pub struct Extracted {
    pub text: String,
    pub calls: Vec<Call>,
}

/// Placeholders are plain letters and digits so Markdown leaves them be.
pub fn placeholder(index: usize) -> String {
    format!("estradeshortcode{index}x")
}

/// Finds the calls in `body`, outside fenced code blocks. A `{{` that does
/// not start a well-formed call is left as text, unless it looks like a
/// call with broken arguments, which is an error `(line, column, message)`.
pub fn extract(body: &str, first_line: usize) -> Result<Extracted, Vec<(usize, usize, String)>> {
    let mut text = String::with_capacity(body.len());
    let mut calls = Vec::new();
    let mut errors = Vec::new();
    let mut fence: Option<&str> = None;
    for (n, line) in body.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            text.push_str(line);
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            text.push_str(line);
            continue;
        }
        let mut rest = line;
        let mut column = 1;
        while let Some(start) = rest.find("{{") {
            text.push_str(&rest[..start]);
            column += rest[..start].chars().count();
            let candidate = &rest[start..];
            match parse_call(candidate) {
                Parsed::Call { name, args, len } => {
                    text.push_str(&placeholder(calls.len()));
                    calls.push(Call {
                        name,
                        args,
                        line: first_line + n,
                        column,
                    });
                    column += candidate[..len].chars().count();
                    rest = &candidate[len..];
                }
                Parsed::Broken(message) => {
                    errors.push((first_line + n, column, message));
                    text.push_str("{{");
                    column += 2;
                    rest = &candidate[2..];
                }
                Parsed::NotACall => {
                    text.push_str("{{");
                    column += 2;
                    rest = &candidate[2..];
                }
            }
        }
        text.push_str(rest);
    }
    if errors.is_empty() {
        Ok(Extracted { text, calls })
    } else {
        Err(errors)
    }
}

enum Parsed {
    Call {
        name: String,
        args: BTreeMap<String, serde_json::Value>,
        len: usize,
    },
    Broken(String),
    NotACall,
}

fn parse_call(text: &str) -> Parsed {
    let mut p = Cursor { text, at: 2 };
    p.skip_space();
    let name = p.identifier();
    if name.is_empty() || !p.eat('(') {
        return Parsed::NotACall;
    }
    let mut args = BTreeMap::new();
    loop {
        p.skip_space();
        if p.eat(')') {
            break;
        }
        let key = p.identifier();
        if key.is_empty() {
            return Parsed::Broken(format!(
                "shortcode `{name}`: expected an argument name like `name=\"value\"`"
            ));
        }
        p.skip_space();
        if !p.eat('=') {
            return Parsed::Broken(format!("shortcode `{name}`: `{key}` needs `=` and a value"));
        }
        p.skip_space();
        let Some(value) = p.value() else {
            return Parsed::Broken(format!(
                "shortcode `{name}`: the value of `{key}` must be a quoted text, a number, \
                 true or false"
            ));
        };
        args.insert(key.to_owned(), value);
        p.skip_space();
        if p.eat(',') {
            continue;
        }
        if p.eat(')') {
            break;
        }
        return Parsed::Broken(format!(
            "shortcode `{name}`: expected `,` or `)` after `{key}`"
        ));
    }
    p.skip_space();
    if !p.text[p.at..].starts_with("}}") {
        return Parsed::Broken(format!("shortcode `{name}`: close it with `}}}}`"));
    }
    Parsed::Call {
        name: name.to_owned(),
        args,
        len: p.at + 2,
    }
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        let rest = &self.text[self.at..];
        self.at += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.text[self.at..].starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn identifier(&mut self) -> &'a str {
        let rest = &self.text[self.at..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    fn value(&mut self) -> Option<serde_json::Value> {
        let rest = &self.text[self.at..];
        let quote = rest.chars().next()?;
        if quote == '"' || quote == '\'' {
            let end = rest[1..].find(quote)?;
            let inner = &rest[1..1 + end];
            if inner.contains('\n') {
                return None;
            }
            self.at += end + 2;
            return Some(serde_json::Value::String(inner.to_owned()));
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        let word = &rest[..len];
        let value = match word {
            "true" => serde_json::Value::Bool(true),
            "false" => serde_json::Value::Bool(false),
            _ => serde_json::from_str::<serde_json::Number>(word)
                .ok()
                .map(serde_json::Value::Number)?,
        };
        self.at += len;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_replaced_by_placeholders() {
        let body = "Intro\n\n{{ form(name=\"signup\", thanks='/merci/') }}\n\nEnd {{ button(n=3, x=true) }}.\n";
        let out = extract(body, 5).unwrap();
        assert_eq!(
            out.text,
            "Intro\n\nestradeshortcode0x\n\nEnd estradeshortcode1x.\n"
        );
        assert_eq!(out.calls[0].name, "form");
        assert_eq!(out.calls[0].args["thanks"], "/merci/");
        assert_eq!((out.calls[0].line, out.calls[0].column), (7, 1));
        assert_eq!(out.calls[1].args["n"], 3);
        assert_eq!((out.calls[1].line, out.calls[1].column), (9, 5));
    }

    #[test]
    fn code_blocks_and_plain_braces_are_left_alone() {
        let body = "```\n{{ form(name=\"x\") }}\n```\nA {{ mustache }} here.\n";
        let out = extract(body, 1).unwrap();
        assert_eq!(out.text, body);
        assert!(out.calls.is_empty());
    }

    #[test]
    fn broken_arguments_are_located() {
        let errors = extract("ok\n  {{ form(name=signup) }}\n", 4).err().unwrap();
        assert_eq!(
            errors,
            vec![(
                5,
                3,
                "shortcode `form`: the value of `name` must be a quoted text, a number, true \
                 or false"
                    .to_owned()
            )]
        );
    }
}
