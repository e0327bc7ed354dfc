//! `estrade serve`: the site from memory on 127.0.0.1, rebuilt on every
//! change and reloaded in the browser. A change to one page's body
//! re-renders that page alone; anything else rebuilds the whole site from
//! disk. A build that fails keeps the last good one served and shows the
//! problems over the page.

mod email_preview;

use crate::checkout::{self, LocalCheckout};
use crate::functions::{DataDir, LocalFunctions, manifest_of, settings_for};
use crate::outbox_view;
use axum::Router;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use estrade_functions::payments::Payments;
use estrade_site::output::MemoryOutput;
use estrade_site::{Site, SiteOptions};
use notify::{RecursiveMode, Watcher};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tower::ServiceExt;

#[derive(Args)]
pub struct ServeArgs {
    /// The campaign's folder, holding campaign.yaml.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Show pages marked `draft: true` too.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub drafts: bool,
}

/// What the HTTP side shares with the rebuilder.
struct Shared {
    /// The last good build.
    site: RwLock<MemoryOutput>,
    /// The current build problem, shown to every new page.
    problem: RwLock<Option<String>>,
    /// Tells open pages to reload (`{"reload":true}`) or show a problem.
    events: broadcast::Sender<String>,
    /// The form functions, once a build has produced their manifest.
    functions: RwLock<Option<(Arc<LocalFunctions>, Router)>>,
    data: DataDir,
    site_url: String,
    /// Stands in for Stripe Checkout unless `STRIPE_SECRET_KEY` is set.
    checkout: Arc<LocalCheckout>,
}

pub fn serve(args: ServeArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the server: {e}"))?;
    runtime.block_on(run(args))
}

async fn run(args: ServeArgs) -> Result<(), String> {
    let root = args.root.clone();
    let options = SiteOptions {
        drafts: args.drafts,
        live_reload: true,
        ..SiteOptions::default()
    };
    let (events, _) = broadcast::channel(16);
    let shared = Arc::new(Shared {
        site: RwLock::new(MemoryOutput::default()),
        problem: RwLock::new(None),
        events,
        functions: RwLock::new(None),
        data: DataDir::new(&root),
        site_url: format!("http://127.0.0.1:{}", args.port),
        checkout: Arc::new(LocalCheckout::new(&format!(
            "http://127.0.0.1:{}",
            args.port
        ))?),
    });
    let started = Instant::now();
    let site = full_build(&root, &options, &shared);
    if site.is_some() {
        println!("Built the site in {} ms", started.elapsed().as_millis());
    }
    let watcher = spawn_rebuilder(root.clone(), options, site, shared.clone())?;

    let app = router(shared);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("error: cannot listen on {address}: {e}"))?;
    println!(
        "Serving {} at http://{address}/ (Ctrl+C to stop)",
        root.display()
    );
    println!(
        "Forms post to http://{address}/api/; emails land in http://{address}/__estrade/outbox"
    );
    println!(
        "Every email of the site, filled for a sample supporter: http://{address}/__estrade/emails"
    );
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("error: the server stopped: {e}"));
    drop(watcher);
    result
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__estrade/events", get(live_events))
        .route("/__estrade/outbox", get(outbox_list))
        .route("/__estrade/outbox/{file}", get(outbox_message))
        .route("/__estrade/outbox/{file}/html", get(outbox_html))
        .route("/__estrade/emails", get(emails_list))
        .route("/__estrade/emails/{name}", get(email_show))
        .route("/__estrade/emails/{name}/html", get(email_html))
        .route("/__estrade/checkout/{id}", get(checkout_page))
        .route(
            "/__estrade/checkout/{id}/pay",
            axum::routing::post(checkout_pay),
        )
        .route("/api/{*rest}", axum::routing::any(api))
        .fallback(get(static_file))
        .with_state(shared)
}

/// Loads and renders the whole site into a fresh memory output; on success
/// it becomes the served site, on failure the problem is shown.
fn full_build(root: &Path, options: &SiteOptions, shared: &Shared) -> Option<Site> {
    let output = MemoryOutput::default();
    let result = Site::load(root, options.clone()).and_then(|site| {
        site.render(&output, None)?;
        Ok(site)
    });
    match result {
        Ok(site) => {
            if let Err(problem) = update_functions(shared, &output) {
                failed(shared, problem);
                return None;
            }
            *shared.site.write().unwrap_or_else(|p| p.into_inner()) = output;
            succeeded(shared, None);
            Some(site)
        }
        Err(report) => {
            failed(shared, report.to_string());
            None
        }
    }
}

/// Tells open pages the build succeeded: `pages` lists the paths that
/// changed alone, `None` means everything may have.
/// Gives the functions the new build's manifest, opening the store and
/// the outbox after the first good build.
fn update_functions(shared: &Shared, output: &MemoryOutput) -> Result<(), String> {
    let Some(manifest) = manifest_of(output) else {
        return Err("error: the build left no manifest for the form functions".to_owned());
    };
    let mut functions = shared.functions.write().unwrap_or_else(|p| p.into_inner());
    match functions.as_ref() {
        Some((current, _)) => settings_for(current, manifest),
        None => {
            let payments = match Payments::from_env().map_err(|e| format!("error: {e}"))? {
                Some(stripe) => {
                    println!("Donations go to Stripe (STRIPE_SECRET_KEY is set)");
                    stripe
                }
                None => {
                    println!(
                        "Donations go to a local test checkout: no money moves (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET to use Stripe)"
                    );
                    shared.checkout.payments()
                }
            };
            *functions = Some(
                shared
                    .data
                    .open(manifest, &shared.site_url, Some(payments))?,
            )
        }
    }
    Ok(())
}

/// `/api/...`: the form functions, once the site has built.
async fn api(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let routes = shared
        .functions
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|(_, routes)| routes.clone());
    match routes {
        Some(routes) => match routes.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the site has not built yet",
        )
            .into_response(),
    }
}

async fn checkout_page(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    checkout::page(&shared.checkout, &id)
}

async fn checkout_pay(State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>) -> Response {
    let routes = shared
        .functions
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|(_, routes)| routes.clone());
    match routes {
        Some(routes) => checkout::pay(&shared.checkout, routes, &id).await,
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the site has not built yet",
        )
            .into_response(),
    }
}

async fn outbox_list(State(shared): State<Arc<Shared>>) -> Response {
    outbox_view::list(&shared.data.outbox())
}

async fn outbox_message(
    State(shared): State<Arc<Shared>>,
    UrlPath(file): UrlPath<String>,
) -> Response {
    outbox_view::message(&shared.data.outbox(), &file)
}

async fn outbox_html(
    State(shared): State<Arc<Shared>>,
    UrlPath(file): UrlPath<String>,
) -> Response {
    outbox_view::html_part(&shared.data.outbox(), &file)
}

/// The manifest of the last good build, its links pointing here.
fn served_manifest(shared: &Shared) -> Option<estrade_domain::manifest::Manifest> {
    let mut manifest = manifest_of(&shared.site.read().unwrap_or_else(|p| p.into_inner()))?;
    manifest.config.base_url = shared.site_url.clone();
    Some(manifest)
}

async fn emails_list(State(shared): State<Arc<Shared>>) -> Response {
    email_preview::list(served_manifest(&shared))
}

async fn email_show(State(shared): State<Arc<Shared>>, UrlPath(name): UrlPath<String>) -> Response {
    email_preview::show(served_manifest(&shared), &name)
}

async fn email_html(State(shared): State<Arc<Shared>>, UrlPath(name): UrlPath<String>) -> Response {
    email_preview::html(served_manifest(&shared), &name)
}

fn succeeded(shared: &Shared, pages: Option<Vec<String>>) {
    *shared.problem.write().unwrap_or_else(|p| p.into_inner()) = None;
    let message = match pages {
        Some(pages) => serde_json::json!({ "reload": true, "pages": pages }),
        None => serde_json::json!({ "reload": true }),
    };
    let _ = shared.events.send(message.to_string());
}

fn failed(shared: &Shared, report: String) {
    eprintln!("{report}");
    let message = serde_json::json!({ "error": report }).to_string();
    *shared.problem.write().unwrap_or_else(|p| p.into_inner()) = Some(message.clone());
    let _ = shared.events.send(message);
}

/// Watches the site's sources and rebuilds on a thread of its own.
fn spawn_rebuilder(
    root: PathBuf,
    options: SiteOptions,
    mut site: Option<Site>,
    shared: Arc<Shared>,
) -> Result<notify::RecommendedWatcher, String> {
    let (sender, changes) = std::sync::mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(sender)
        .map_err(|e| format!("error: cannot watch files: {e}"))?;
    for name in ["content", "templates", "static", "assets", "i18n", "themes"] {
        let path = root.join(name);
        if path.is_dir() {
            watcher
                .watch(&path, RecursiveMode::Recursive)
                .map_err(|e| format!("error: cannot watch {}: {e}", path.display()))?;
        }
    }
    watcher
        .watch(
            &root.join(estrade_site::config::FILE),
            RecursiveMode::NonRecursive,
        )
        .map_err(|e| format!("error: cannot watch campaign.yaml: {e}"))?;
    let root_for_thread = root.canonicalize().unwrap_or(root.clone());
    std::thread::spawn(move || {
        while let Ok(first) = changes.recv() {
            let mut paths = Vec::new();
            collect_paths(first, &mut paths);
            // Editors write a file in several steps: take them together.
            while let Ok(next) = changes.recv_timeout(Duration::from_millis(5)) {
                collect_paths(next, &mut paths);
            }
            paths.sort();
            paths.dedup();
            let started = Instant::now();
            let files: Vec<String> = paths
                .iter()
                .filter_map(|p| p.strip_prefix(&root_for_thread).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect();
            if files.is_empty() {
                continue;
            }
            let alone = match &mut site {
                Some(current) => update_pages(current, &files, &shared),
                None => false,
            };
            if !alone {
                site = full_build(&root, &options, &shared);
            }
            println!(
                "Rebuilt {} after a change to {} in {} ms",
                if alone { "one page" } else { "the site" },
                files.join(", "),
                started.elapsed().as_millis()
            );
        }
    });
    Ok(watcher)
}

fn collect_paths(event: notify::Result<notify::Event>, paths: &mut Vec<PathBuf>) {
    if let Ok(event) = event
        && !matches!(event.kind, notify::EventKind::Access(_))
    {
        paths.extend(event.paths);
    }
}

/// Re-renders just the pages whose Markdown changed, when nothing else is
/// affected. `false` asks for a full rebuild.
fn update_pages(site: &mut Site, files: &[String], shared: &Shared) -> bool {
    if !files
        .iter()
        .all(|f| f.starts_with("content/") && f.ends_with(".md") && !f.ends_with("_index.md"))
    {
        return false;
    }
    let output = shared
        .site
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut pages = Vec::new();
    for file in files {
        match site.update_page(file, &output) {
            Ok(true) => pages.extend(
                site.content
                    .pages
                    .iter()
                    .filter(|p| &p.file == file)
                    .map(|p| p.path.clone()),
            ),
            // A failed page goes through a full build, whose report lists
            // every problem and which stays failed until all are fixed.
            Ok(false) | Err(_) => return false,
        }
    }
    succeeded(shared, Some(pages));
    true
}

async fn live_events(
    State(shared): State<Arc<Shared>>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let receiver = shared.events.subscribe();
    let pending = shared
        .problem
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let stream =
        futures_util::stream::unfold((receiver, pending), |(mut receiver, pending)| async move {
            if let Some(problem) = pending {
                return Some((Ok(Event::default().data(problem)), (receiver, None)));
            }
            loop {
                match receiver.recv().await {
                    Ok(message) => {
                        return Some((Ok(Event::default().data(message)), (receiver, None)));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn static_file(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let site = shared
        .site
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let path = uri.path().trim_start_matches('/');
    let path = percent_decode(path);
    if path.split('/').any(|part| part == "..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let file = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.clone()
    };
    if let Some(bytes) = site.get(&file) {
        return file_response(StatusCode::OK, &file, bytes.as_ref().clone());
    }
    if site.get(&format!("{path}/index.html")).is_some() {
        let location = format!("/{path}/");
        return (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response();
    }
    match site.get("404.html") {
        Some(page) => file_response(StatusCode::NOT_FOUND, "404.html", page.as_ref().clone()),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn file_response(status: StatusCode, file: &str, bytes: Vec<u8>) -> Response {
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(file)),
    );
    // Fingerprinted assets never change under their name: the browser
    // keeps them across reloads, as a CDN would.
    let cache = if file.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

pub fn content_type(file: &str) -> &'static str {
    let extension = file.rsplit_once('.').map_or("", |(_, e)| e);
    match extension {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => {
            if file.ends_with("atom.xml") {
                "application/atom+xml"
            } else {
                "application/xml"
            }
        }
        "ics" => "text/calendar; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
