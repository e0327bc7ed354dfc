//! `estrade serve` as a comms person uses it: edit, see the page change;
//! break a page, see the problem while the last good build stays served.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response))
}

/// Lines of the live-reload event stream, as they come.
fn events(port: u16) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /__estrade/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(data) = line.strip_prefix("data: ")
                && sender.send(data.to_owned()).is_err()
            {
                break;
            }
        }
    });
    receiver
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn serve_rebuilds_on_edit_and_shows_a_failed_build() {
    let site = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/valid"),
        site.path(),
    );
    let port = free_port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_estrade"))
            .args([
                "serve",
                "--root",
                site.path().to_str().unwrap(),
                "--port",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let home = loop {
        if let Some(answer) = get(port, "/") {
            break answer;
        }
        assert!(Instant::now() < deadline, "serve did not answer");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(home.0, 200);
    assert!(
        home.1.contains("/__estrade/events"),
        "pages carry the live-reload script"
    );
    assert_eq!(
        get(port, "/news").unwrap().0,
        308,
        "a path without its slash is redirected"
    );
    assert_eq!(get(port, "/no/such/page/").unwrap().0, 404);
    let (status, ics) = get(port, "/events/calendar.ics").unwrap();
    assert_eq!(status, 200);
    assert!(ics.contains("content-type: text/calendar"), "{ics}");

    let stream = events(port);
    let wait = Duration::from_secs(10);
    let post = site.path().join("content/news/post-2.md");
    let text = std::fs::read_to_string(&post).unwrap();
    std::fs::write(&post, text.replace("More about post 2.", "Edited live.")).unwrap();
    assert_eq!(
        stream.recv_timeout(wait).unwrap(),
        r#"{"pages":["/news/post-2/"],"reload":true}"#
    );
    assert!(
        get(port, "/news/post-2/")
            .unwrap()
            .1
            .contains("Edited live.")
    );

    std::fs::write(&post, "---\ntitle: Post\ndate: someday\n---\nBroken.\n").unwrap();
    let problem = stream.recv_timeout(wait).unwrap();
    assert!(
        problem.contains("content/news/post-2.md:3: front matter: date: `someday` is not a date"),
        "{problem}"
    );
    let still = get(port, "/news/post-2/").unwrap();
    assert_eq!(still.0, 200);
    assert!(
        still.1.contains("Edited live."),
        "the last good build is still served"
    );

    // The fix comes through a full build, which reloads every open page.
    std::fs::write(&post, &text).unwrap();
    assert_eq!(stream.recv_timeout(wait).unwrap(), r#"{"reload":true}"#);
    assert!(
        get(port, "/news/post-2/")
            .unwrap()
            .1
            .contains("More about post 2.")
    );
}

#[test]
fn serve_previews_every_email_with_a_sample_supporter() {
    let site = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/emails"),
        site.path(),
    );
    let port = free_port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_estrade"))
            .args([
                "serve",
                "--root",
                site.path().to_str().unwrap(),
                "--port",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let list = loop {
        if let Some(answer) = get(port, "/__estrade/emails") {
            break answer;
        }
        assert!(Instant::now() < deadline, "serve did not answer");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(list.0, 200, "{}", list.1);
    for expected in [
        "href=\"/__estrade/emails/confirm\"",
        "transactional (sent by the forms)",
        "<td>automation (welcome)</td>",
        "broadcast to confirmed · tags housing · within 50 km of Valenciennes · départements \
         59; sent at 2099-03-14T17:00:00Z",
    ] {
        assert!(list.1.contains(expected), "{expected} in {}", list.1);
    }
    let (status, follow_up) = get(port, "/__estrade/emails/follow-up").unwrap();
    assert_eq!(status, 200);
    assert!(
        follow_up.contains("Camille, meet us near you"),
        "{follow_up}"
    );
    assert!(
        follow_up.contains("- Town meeting, "),
        "nearest events listed"
    );
    assert!(follow_up.contains("Jane&#39;s team &lt;contact@example.org&gt;"));
    let (status, html) = get(port, "/__estrade/emails/follow-up/html").unwrap();
    assert_eq!(status, 200);
    assert!(
        html.contains("content-security-policy: script-src 'none'"),
        "{html}"
    );
    assert!(html.contains("Hello Camille,"), "{html}");
    assert!(!html.contains("{nearest_events}"));
    assert_eq!(get(port, "/__estrade/emails/nope").unwrap().0, 404);
}
