//! A site built from the `valid` fixture, its manifest handed to the
//! functions over the embedded store and an outbox in a temporary folder,
//! and small helpers to post and to read what was sent.

#![allow(dead_code)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use estrade_domain::manifest::Manifest;
use estrade_domain::token::Keys;
use estrade_functions::http::{Functions, Settings, router};
use estrade_functions::outbox::{self, OutboxMailer};
use estrade_functions::payments::Payments;
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::StoreError;
use estrade_functions::watched::Watched;
use estrade_site::output::MemoryOutput;
use estrade_site::{Site, SiteOptions};
use jiff::Timestamp;
use mail_parser::MimeHeaders;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tower::ServiceExt;

pub const ORIGIN: (&str, &str) = ("origin", "https://jane.example");
pub const JSON: (&str, &str) = ("accept", "application/json");
pub const KEYS: &str = "test:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The SQLite store, made to fail from its n-th call on when asked: the
/// way to test a database that goes away in the middle of a request.
pub type FlakyStore = Watched<SqliteStore>;

fn flaky(inner: SqliteStore, calls: i64) -> FlakyStore {
    let calls_left = AtomicI64::new(calls);
    Watched::new(inner, move |_| {
        if calls_left.fetch_sub(1, Ordering::SeqCst) <= 0 {
            return Err(StoreError("injected failure".to_owned()));
        }
        Ok(())
    })
}

pub struct Harness {
    pub functions: Arc<Functions<FlakyStore, OutboxMailer>>,
    pub router: Router,
    pub site: MemoryOutput,
    outbox: tempfile::TempDir,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// An email read back from the outbox.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub list_unsubscribe: Option<String>,
    pub list_unsubscribe_post: bool,
    pub attachments: Vec<String>,
}

impl Mail {
    /// The first link of the text part containing `marker`, as a path.
    pub fn link(&self, marker: &str) -> String {
        let start = self
            .text
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in:\n{}", self.text));
        let end = self.text[start..]
            .find(|c: char| c.is_whitespace() || c == ')' || c == '>')
            .map_or(self.text.len(), |e| start + e);
        self.text[start..end].to_owned()
    }
}

pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn send(
    router: &Router,
    method: &str,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::build(|_| {}, i64::MAX).await
    }

    pub async fn with_rate_limit(requests: u32) -> Harness {
        Harness::build(|m| m.config.forms.rate_limit.requests = requests, i64::MAX).await
    }

    pub async fn with_capacity(capacity: u32) -> Harness {
        Harness::build(
            |m| {
                for event in &mut m.events {
                    event.capacity = Some(capacity);
                }
            },
            i64::MAX,
        )
        .await
    }

    pub async fn failing_after(calls: i64) -> Harness {
        Harness::build(|_| {}, calls).await
    }

    /// A harness whose clock reads `seconds` (Unix time), which the test
    /// moves; `adjust` changes the build's manifest first.
    pub async fn with_clock(
        seconds: Arc<AtomicI64>,
        adjust: impl FnOnce(&mut Manifest),
    ) -> Harness {
        Harness::build_with(adjust, i64::MAX, Some(seconds), None).await
    }

    /// A harness whose donations go to `payments`, its clock at
    /// `seconds` (Unix time), which the test moves; `adjust` changes the
    /// build's manifest first.
    pub async fn with_payments(
        payments: Payments,
        seconds: Arc<AtomicI64>,
        adjust: impl FnOnce(&mut Manifest),
    ) -> Harness {
        Harness::build_with(adjust, i64::MAX, Some(seconds), Some(payments)).await
    }

    async fn build(adjust: impl FnOnce(&mut Manifest), calls: i64) -> Harness {
        Harness::build_with(adjust, calls, None, None).await
    }

    async fn build_with(
        adjust: impl FnOnce(&mut Manifest),
        calls: i64,
        clock: Option<Arc<AtomicI64>>,
        payments: Option<Payments>,
    ) -> Harness {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/valid");
        let options = SiteOptions {
            now: "2027-03-01T10:00:00Z".parse().unwrap(),
            ..SiteOptions::default()
        };
        let site = Site::load(&root, options).unwrap();
        let output = MemoryOutput::default();
        site.render(&output, None).unwrap();
        let mut manifest: Manifest =
            serde_json::from_slice(&output.get("_estrade/manifest.json").unwrap()).unwrap();
        adjust(&mut manifest);
        let outbox = tempfile::tempdir().unwrap();
        let store = flaky(SqliteStore::in_memory().unwrap(), calls);
        let settings = Settings {
            manifest,
            keys: Keys::parse(KEYS).unwrap(),
            site_url: "https://jane.example".to_owned(),
        };
        let mut functions = Functions::new(store, OutboxMailer::new(outbox.path()), settings);
        functions.payments = payments;
        functions.clock = match clock {
            Some(seconds) => Arc::new(move || {
                Timestamp::from_second(seconds.load(std::sync::atomic::Ordering::SeqCst)).unwrap()
            }),
            None => Arc::new(|| "2027-03-01T10:00:00Z".parse().unwrap()),
        };
        let functions = Arc::new(functions);
        let router = router(functions.clone());
        Harness {
            functions,
            router,
            site: output,
            outbox,
        }
    }

    pub fn manifest(&self) -> Manifest {
        self.functions.settings().manifest.clone()
    }

    pub async fn post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        self.post_form(path, body, headers).await
    }

    pub async fn post_form(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        send(&self.router, "POST", path, body.as_bytes().to_vec(), &all).await
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !all.iter().any(|(n, _)| *n == "content-type") {
            all.push(("content-type", "application/x-www-form-urlencoded"));
        }
        send(&self.router, "POST", path, body, &all).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        send(&self.router, "GET", path, Vec::new(), &[]).await
    }

    /// The fields of the form posting to `action` on a built page: name
    /// and value of each input, in order (the first of a checkbox group).
    pub fn form_fields(&self, page: &str, action: &str) -> Vec<(String, String)> {
        let html = String::from_utf8(self.site.get(page).unwrap().to_vec()).unwrap();
        let start = html
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form posting to {action} on {page}"));
        let end = start + html[start..].find("</form>").unwrap();
        let form = &html[start..end];
        let attribute = |tag: &str, name: &str| -> Option<String> {
            let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
            Some(tag[at..at + tag[at..].find('"')?].to_owned())
        };
        let mut fields: Vec<(String, String)> = Vec::new();
        for tag in form.split('<').filter(|t| {
            t.starts_with("input") || t.starts_with("textarea") || t.starts_with("select")
        }) {
            let Some(name) = attribute(tag, "name") else {
                continue;
            };
            if fields.iter().any(|(n, _)| *n == name) {
                continue;
            }
            fields.push((name, attribute(tag, "value").unwrap_or_default()));
        }
        fields
    }

    /// Every email sent, newest first.
    pub fn emails(&self) -> Vec<Mail> {
        outbox::list(self.outbox.path())
            .unwrap()
            .into_iter()
            .map(|entry| {
                let raw = outbox::read(self.outbox.path(), &entry.file_name)
                    .unwrap()
                    .unwrap();
                let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
                Mail {
                    to: entry.to.clone(),
                    subject: parsed.subject().unwrap_or_default().to_owned(),
                    html: parsed
                        .body_html(0)
                        .map(|h| h.into_owned())
                        .unwrap_or_default(),
                    text: parsed
                        .body_text(0)
                        .map(|t| t.into_owned())
                        .unwrap_or_default(),
                    list_unsubscribe: parsed
                        .header_raw("List-Unsubscribe")
                        .map(|v| {
                            v.trim()
                                .trim_start_matches('<')
                                .trim_end_matches('>')
                                .to_owned()
                        })
                        .map(|url| {
                            url.strip_prefix("https://jane.example")
                                .unwrap_or(&url)
                                .to_owned()
                        }),
                    list_unsubscribe_post: parsed
                        .header_raw("List-Unsubscribe-Post")
                        .is_some_and(|v| v.trim() == "List-Unsubscribe=One-Click"),
                    attachments: parsed
                        .attachments()
                        .map(|a| a.attachment_name().unwrap_or_default().to_owned())
                        .collect(),
                }
            })
            .collect()
    }

    pub fn only_email(&self) -> Mail {
        let mut emails = self.emails();
        assert_eq!(emails.len(), 1, "expected one email");
        emails.remove(0)
    }
}
