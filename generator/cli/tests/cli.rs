//! The `estrade` command run on the fixture sites of `tests/fixtures`, with
//! the exact text users see.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn estrade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_estrade"))
        .args(args)
        .output()
        .expect("the estrade binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn build_valid(extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let root = fixture("valid");
    let mut args = vec![
        "build",
        "--root",
        root.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ];
    args.extend(extra);
    let result = estrade(&args);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let stdout = text(&result.stdout);
    assert!(stdout.starts_with("Built "), "{stdout}");
    out
}

#[test]
fn builds_every_kind_of_output() {
    let out = build_valid(&[]);
    let dir = out.path();
    for file in [
        "index.html",
        "404.html",
        "robots.txt",
        "sitemap.xml",
        "atom.xml",
        "news/index.html",
        "news/page/2/index.html",
        "news/atom.xml",
        "news/post-1/index.html",
        "events/index.html",
        "events/archives/index.html",
        "events/calendar.ics",
        "events/future-rally/future-rally.ics",
        "tags/index.html",
        "tags/housing/index.html",
        "tags/ecology/index.html",
        "about/index.html",
        "about/jane.svg",
        "images/banner.svg",
        "thanks/index.html",
    ] {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
    assert!(
        !dir.join("news/secret/index.html").exists(),
        "drafts stay out"
    );
    let about = read(dir, "about/index.html");
    assert!(
        about.contains("href=\"/news/post-1/#details\""),
        "a .md link becomes the page's path"
    );
    assert!(about.contains("src=\"/about/jane.svg\""));
    let home = read(dir, "index.html");
    assert!(
        home.contains("action=\"/api/signup\""),
        "the signup form posts to the functions"
    );
    assert!(home.contains("name=\"email\""));
    let css = std::fs::read_dir(dir.join("assets/css"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let css_name = css.file_name().to_string_lossy().into_owned();
    assert!(
        home.contains(&format!("/assets/css/{css_name}")),
        "pages use the fingerprinted CSS"
    );
}

#[test]
fn calendars_and_feeds_hold_the_content() {
    let out = build_valid(&[]);
    let ics = read(out.path(), "events/future-rally/future-rally.ics");
    assert!(
        ics.contains("DTSTART:20990601T173000Z\r\n"),
        "London summer time is UTC+1: {ics}"
    );
    assert!(ics.contains("SUMMARY:Future rally\\; with\\, punctuation\r\n"));
    let calendar = read(out.path(), "events/calendar.ics");
    assert_eq!(calendar.matches("BEGIN:VEVENT").count(), 2);
    let agenda = read(out.path(), "events/index.html");
    assert!(agenda.contains("Future rally"));
    assert!(!agenda.contains("Past meeting"), "past events are archived");
    assert!(read(out.path(), "events/archives/index.html").contains("Past meeting"));
    let feed = read(out.path(), "news/atom.xml");
    assert_eq!(feed.matches("<entry>").count(), 3);
    assert!(feed.contains(
        "<link rel=\"alternate\" type=\"text/html\" href=\"https://jane.example/news/post-3/\"/>"
    ));
    let sitemap = read(out.path(), "sitemap.xml");
    assert!(
        sitemap
            .contains("<loc>https://jane.example/news/post-2/</loc><lastmod>2026-02-10</lastmod>")
    );
}

#[test]
fn drafts_are_published_when_asked() {
    let out = build_valid(&["--drafts"]);
    assert!(out.path().join("news/secret/index.html").is_file());
}

#[test]
fn a_yaml_mistake_is_reported_at_its_place_in_words() {
    let root = fixture("broken-front-matter");
    let out = tempfile::tempdir().unwrap();
    let result = estrade(&[
        "build",
        "--root",
        root.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(!result.status.success());
    assert_eq!(
        text(&result.stderr),
        "error: content/events/rally.md:4:7: front matter: tags: invalid type: string \"housing\", \
         expected a sequence\n  hint: write a list, like `tags: [ecologie, logement]`\n1 problem found\n"
    );
    assert!(
        !out.path().join("index.html").exists(),
        "a broken site is not written"
    );
}

#[test]
fn check_lists_every_problem_at_once() {
    let root = fixture("broken-links");
    let result = estrade(&["check", "--root", root.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(1));
    assert_eq!(
        text(&result.stderr),
        "\
error: content/news/four.md:4:1: front matter: unknown field `autor`, expected one of `title`, `description`, `date`, `updated`, `draft`, `tags`, `slug`, `template`, `kind`, `weight`, `image`, `event`, `extra`
  hint: check the spelling; keys of your own go under `extra:`
error: content/news/one.md:7:3: broken link: nothing is published at `/nowhere/`
error: content/news/one.md:7:32: broken link: nothing is published at `/news/two`
  hint: pages end with a slash: write `/news/two/`
error: content/news/one.md:7:64: broken anchor: `/news/two/` has no heading `#nope`
  hint: its headings are: #only-heading
error: content/news/one.md:8:3: `three.md` links to `content/news/three.md`, which is not a page of this site
error: content/news/one.md:8:51: missing image: nothing is published at `/images/none.png`
  hint: put the image in `static/` (published at the site root) or beside the Markdown file
error: content/news/one.md:10:1: there is no shortcode `petition`: add `templates/shortcodes/petition.html` to the site or the theme
error: content/news/three-rally.md:3: front matter: event: `Europe/Pari` is not an IANA time zone; write it like `Europe/Paris`
8 problems found
"
    );
}

#[test]
fn a_template_mistake_names_the_site_template_line_and_column() {
    let root = fixture("broken-template");
    let result = estrade(&["check", "--root", root.to_str().unwrap()]);
    assert_eq!(
        text(&result.stderr),
        "error: templates/page.html:5:19: template syntax: expected `or`, `and`, `not`, `<=`, \
         `>=`, `<`, `>`, `==`, `!=`, `+`, `-`, `*`, `/`, `%`, a filter, or a variable end (`}}`)\n\
         1 problem found\n"
    );
}

#[test]
fn a_folder_that_is_not_a_campaign_is_explained() {
    let empty = tempfile::tempdir().unwrap();
    let result = estrade(&["check", "--root", empty.path().to_str().unwrap()]);
    let stderr = text(&result.stderr);
    assert!(
        stderr.starts_with("error: campaign.yaml: cannot read it: "),
        "{stderr}"
    );
    assert!(stderr.contains("hint: is `"), "{stderr}");
    assert!(
        stderr.contains("a campaign's folder? `estrade new DIR` creates one"),
        "{stderr}"
    );
}

#[test]
fn build_refuses_to_empty_a_folder_it_did_not_write() {
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("precious.txt"), "keep me").unwrap();
    let root = fixture("valid");
    let result = estrade(&[
        "build",
        "--root",
        root.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(!result.status.success());
    assert!(text(&result.stderr).contains("already holds files that estrade did not write"));
    assert_eq!(read(out.path(), "precious.txt"), "keep me");
    // A folder estrade wrote is emptied and rebuilt.
    let ours = build_valid(&[]);
    std::fs::write(ours.path().join("stale.html"), "old").unwrap();
    let again = estrade(&[
        "build",
        "--root",
        root.to_str().unwrap(),
        "--out",
        ours.path().to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(!ours.path().join("stale.html").exists());
}

#[test]
fn new_creates_the_example_campaign_which_builds_cleanly() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("campagne");
    let created = estrade(&["new", dir.to_str().unwrap()]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(dir.join("campaign.yaml").is_file());
    assert!(dir.join("content/_index.md").is_file());
    let checked = estrade(&["check", "--root", dir.to_str().unwrap()]);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    let built = estrade(&["build", "--root", dir.to_str().unwrap()]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert!(dir.join("public/index.html").is_file());
    let again = estrade(&["new", dir.to_str().unwrap()]);
    assert!(!again.status.success(), "new never writes into a campaign");
}

#[test]
fn campaign_emails_and_automations_reach_the_manifest() {
    let root = fixture("emails");
    let checked = estrade(&["check", "--root", root.to_str().unwrap()]);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    let out = tempfile::tempdir().unwrap();
    let built = estrade(&[
        "build",
        "--root",
        root.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert!(
        !out.path().join("automations").exists(),
        "automations are not published"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&read(out.path(), "_estrade/manifest.json")).unwrap();
    let letter = &manifest["emails"]["housing-letter"];
    assert_eq!(letter["send_at"], "2099-03-14T17:00:00Z", "Paris time");
    assert_eq!(letter["audience"]["within"]["of"]["name"], "Valenciennes");
    assert!(letter["audience"]["within"]["of"]["lat"].is_f64());
    let follow_up = &manifest["emails"]["follow-up"];
    assert_eq!(follow_up["from_name"], "Jane's team");
    assert_eq!(follow_up["reply_to"], "team@jane.example");
    assert!(
        follow_up["text"]
            .as_str()
            .unwrap()
            .contains("{nearest_events}")
    );
    let welcome = &manifest["automations"][0];
    assert_eq!(welcome["id"], "welcome");
    assert_eq!(welcome["trigger"], serde_json::json!({ "form": "signup" }));
    assert_eq!(
        welcome["steps"][0],
        serde_json::json!({ "id": "wait-a-day", "wait": "1d" })
    );
    assert_eq!(
        welcome["steps"][1]["if"]["any"][1]["not"]["within"]["of"]["name"],
        "Valenciennes"
    );
}

#[test]
fn check_reports_every_email_and_automation_mistake() {
    let root = fixture("broken-emails");
    let result = estrade(&["check", "--root", root.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(1));
    assert_eq!(
        text(&result.stderr),
        "\
error: content/automations/onboarding.yaml:1: trigger: tag_added: `sport` is not an interest declared in campaign.yaml; declared: housing
error: content/automations/onboarding.yaml:3: step `first`: send: there is no email `nowhere`: write `content/emails/nowhere.md`
error: content/automations/onboarding.yaml:5: step `check`: then: no step has the id `gone`; the steps are first, check, first
error: content/automations/onboarding.yaml:8: step `first`: `parking` is not an interest declared in campaign.yaml; declared: housing
error: content/automations/onboarding.yaml:8: step `first`: another step has this id: each step needs its own, since a supporter's place is kept by it
error: content/automations/twice.yaml:3:3: steps: step `both` does two things (`send` and `stop`): make them two steps, each with its own id
error: content/automations/typo.yaml:3:3: steps: step `pause`: wait: `2 days` is not a duration; write a whole number and a unit, like `90m`, `48h`, `2d` or `1w`
error: content/automations/unknown-key.yaml:4:5: steps[0]: unknown field `sned`, expected one of `id`, `send`, `wait`, `if`, `then`, `else`, `add_tag`, `remove_tag`, `stop`
  hint: check the spelling; keys of your own go under `extra:`
error: content/emails/letter.md:3: front matter: audience: `housnig` is not an interest declared in campaign.yaml; declared: housing
error: content/emails/letter.md:3: front matter: audience: within: no French commune is called `Atlantis`; check the spelling, or give coordinates: `of: { lat: 50.36, lon: 3.52 }`
error: content/emails/letter.md:6: front matter: send_at: `next tuesday` is not a date; write it like `2026-09-14` or `2026-09-14 18:30`
error: content/emails/letter.md:10:7: `{event_title}` is filled only in the RSVP emails, which are about one event
  hint: this email's places are {hello}, {first_name}, {site_title}, {site_url}, {signature}, {confirm_url}, {unsubscribe_url}, {share_url}, {nearest_events}
error: content/emails/note.md:3: a send time needs an audience to send to
  hint: add `audience: {}` for every confirmed supporter, or narrow it, like `audience: { tags: [logement] }`
error: content/emails/welcome.md:3: `welcome` is sent by the forms, to one supporter at a time: it takes no `audience`
  hint: write a broadcast as an email of its own, like `content/emails/lettre-mars.md`
error: content/emails/welcome.md:5:18: unknown place `{frist_name}`
  hint: this email's places are {hello}, {first_name}, {site_title}, {site_url}, {signature}, {confirm_url}, {unsubscribe_url}, {share_url}
15 problems found
"
    );
}

#[test]
fn a_broadcast_is_paused_shown_and_resumed_in_the_embedded_store() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_str().unwrap();
    let missing = estrade(&["broadcast", "status", "lettre", "--root", dir]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("run `estrade serve` in this campaign first"),
        "{}",
        text(&missing.stderr)
    );

    // The store `estrade serve` makes, made here without serving.
    std::fs::create_dir_all(root.path().join(".estrade")).unwrap();
    estrade_functions::sqlite::SqliteStore::open(root.path().join(".estrade/serve.sqlite"))
        .unwrap();
    let status = estrade(&["broadcast", "status", "lettre", "--root", dir]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert_eq!(
        text(&status.stdout),
        "lettre: not paused; nothing sent yet\n"
    );

    let paused = estrade(&[
        "broadcast",
        "pause",
        "lettre",
        "--reason",
        "relecture",
        "--root",
        dir,
    ]);
    assert!(paused.status.success(), "{}", text(&paused.stderr));
    let shown = text(&estrade(&["broadcast", "status", "lettre", "--root", dir]).stdout);
    assert!(shown.starts_with("lettre: paused since "), "{shown}");
    assert!(
        shown.contains(": relecture\n  sent 0, complaints 0;"),
        "{shown}"
    );

    let resumed = estrade(&["broadcast", "resume", "lettre", "--root", dir]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert!(
        text(&resumed.stdout).starts_with("lettre: sending (resumed "),
        "{}",
        text(&resumed.stdout)
    );

    let bad = estrade(&["broadcast", "pause", "Lettre Été", "--root", dir]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("cannot name a broadcast"));
}
