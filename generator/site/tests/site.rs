//! The library on the fixture sites: the clock decides what is upcoming,
//! and an edit re-renders only what it must.

use estrade_site::output::MemoryOutput;
use estrade_site::{Site, SiteOptions};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn page(out: &MemoryOutput, path: &str) -> String {
    String::from_utf8(
        out.get(path)
            .unwrap_or_else(|| panic!("{path} missing"))
            .to_vec(),
    )
    .unwrap()
}

fn build_at(now: &str) -> MemoryOutput {
    let options = SiteOptions {
        now: now.parse().unwrap(),
        ..SiteOptions::default()
    };
    let site = Site::load(&fixture("valid"), options).unwrap();
    let out = MemoryOutput::default();
    site.render(&out, None).unwrap();
    out
}

#[test]
fn an_event_is_upcoming_until_it_ends() {
    // The rally runs 18:30-21:00 London time (UTC+1 in June).
    let during = build_at("2099-06-01T19:00:00Z");
    assert!(page(&during, "events/index.html").contains("Future rally"));
    assert!(
        page(&during, "index.html").contains("Future rally"),
        "the home page lists it"
    );
    let after = build_at("2099-06-01T20:01:00Z");
    assert!(!page(&after, "events/index.html").contains("Future rally"));
    let archive = page(&after, "events/archives/index.html");
    let (rally, meeting) = (
        archive.find("Future rally").unwrap(),
        archive.find("Past meeting").unwrap(),
    );
    assert!(rally < meeting, "the archive lists the most recent first");
}

#[test]
fn a_body_edit_re_renders_that_page_alone() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("valid"), dir.path());
    let mut site = Site::load(dir.path(), SiteOptions::default()).unwrap();
    let out = MemoryOutput::default();
    site.render(&out, None).unwrap();
    let listing_before = out.get("news/index.html").unwrap();

    let file = dir.path().join("content/news/post-1.md");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("More about post 1.", "Freshly edited words."),
    )
    .unwrap();
    assert!(site.update_page("content/news/post-1.md", &out).unwrap());
    assert!(page(&out, "news/post-1/index.html").contains("Freshly edited words."));
    assert!(
        std::sync::Arc::ptr_eq(&listing_before, &out.get("news/index.html").unwrap()),
        "listings untouched"
    );

    // A new title shows in listings: the whole site must be rendered again.
    std::fs::write(
        &file,
        text.replace("title: Post number 1", "title: Renamed"),
    )
    .unwrap();
    assert!(!site.update_page("content/news/post-1.md", &out).unwrap());

    // A broken edit is reported and leaves the served page as it was.
    std::fs::write(&file, "---\ntitle: [unclosed\n---\n").unwrap();
    let report = site
        .update_page("content/news/post-1.md", &out)
        .unwrap_err();
    assert!(
        report
            .to_string()
            .starts_with("error: content/news/post-1.md:2:8: front matter: title:")
    );
    assert!(page(&out, "news/post-1/index.html").contains("Freshly edited words."));
}

#[test]
fn a_site_without_a_theme_folder_uses_the_built_in_theme() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("campaign.yaml"),
        "title: Minimal\nbase_url: https://minimal.example\nlanguage: fr\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("content")).unwrap();
    std::fs::write(
        dir.path().join("content/page.md"),
        "---\ntitle: Bonjour\ndate: 2027-02-01\n---\nTexte.\n",
    )
    .unwrap();
    let site = Site::load(dir.path(), SiteOptions::default()).unwrap();
    let out = MemoryOutput::default();
    site.render(&out, None).unwrap();
    let html = page(&out, "page/index.html");
    assert!(html.contains("lang=\"fr\""));
    assert!(html.contains("Bonjour"));
}

#[test]
fn the_example_campaign_builds_without_a_problem() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let site = Site::load(&root, SiteOptions::default()).unwrap_or_else(|r| panic!("{r}"));
    let out = MemoryOutput::default();
    let stats = site.render(&out, None).unwrap_or_else(|r| panic!("{r}"));
    assert!(stats.pages >= 20, "{stats:?}");
    assert!(
        site.content
            .pages
            .iter()
            .any(|p| p.event.as_ref().is_some_and(|e| e.rsvp))
    );
}
