//! The moto emulator these tests run against, and its inspection API.
//!
//! The endpoint comes from `AWS_ENDPOINT_URL`, which the SDK reads too:
//! the code under test builds its clients exactly as in production. With
//! no emulator the tests fail, saying how to start one: a skipped AWS test
//! would pass while testing nothing.
//!
//! moto applies a request in several steps under no lock (a failed
//! transaction even puts back a copy of the whole table taken before it),
//! so two requests at once can undo each other's writes, which DynamoDB
//! never does. The tests' clients therefore send one request at a time:
//! each request is atomic, as on DynamoDB, while the code under test
//! still interleaves its reads and writes across tasks as in production.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
    http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const HOW_TO_START: &str = "the AWS tests need the moto emulator: run `tests/run`, which \
starts it, or start it yourself with `.venv/bin/moto_server -H 127.0.0.1 -p 5005` (after \
`python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'`) and set \
AWS_ENDPOINT_URL=http://127.0.0.1:5005 AWS_REGION=eu-west-3 AWS_ACCESS_KEY_ID=test \
AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true";

/// `host:port` of the emulator, after checking that it answers.
pub fn moto_address() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .unwrap_or_else(|_| panic!("AWS_ENDPOINT_URL is not set; {HOW_TO_START}"));
    let address = endpoint
        .strip_prefix("http://")
        .unwrap_or_else(|| {
            panic!("AWS_ENDPOINT_URL={endpoint} is not http://HOST:PORT; {HOW_TO_START}")
        })
        .trim_end_matches('/')
        .to_owned();
    match http_get(&address, "/moto-api/") {
        Ok((200, _)) => address,
        Ok((status, _)) => {
            panic!("{endpoint}/moto-api/ answered {status}, not moto; {HOW_TO_START}")
        }
        Err(e) => panic!("moto does not answer at {endpoint} ({e}); {HOW_TO_START}"),
    }
}

/// The SDK configuration of the environment, as a function builds it,
/// sending one request at a time (see above).
pub async fn aws() -> SdkConfig {
    moto_address();
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    // The SDK's default client, built as the SDK builds it when none is set.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    config
        .into_builder()
        .http_client(one_at_a_time(http))
        .build()
}

/// Whose turn it is to talk to moto, across every test of the binary.
static MOTO_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn one_at_a_time(http: SharedHttpClient) -> SharedHttpClient {
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(OneAtATime(http.http_connector(settings, components)))
    })
}

#[derive(Debug)]
struct OneAtATime(SharedHttpConnector);

impl HttpConnector for OneAtATime {
    /// Holds the turn until the response head arrives: moto has applied
    /// the request by then.
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let connector = self.0.clone();
        HttpConnectorFuture::new(async move {
            let _turn = MOTO_TURN.lock().await;
            connector.call(request).await
        })
    }
}

/// A table name no other test (or earlier run) uses.
pub fn unique_name(what: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("estrade-test-{what}-{}-{nanos}-{count}", std::process::id())
}

/// Everything moto holds, as its `/moto-api/data.json` shows it.
pub fn moto_data() -> serde_json::Value {
    let (status, body) = http_get(&moto_address(), "/moto-api/data.json").unwrap();
    assert_eq!(status, 200, "GET /moto-api/data.json");
    serde_json::from_slice(&body).unwrap()
}

/// A plain HTTP/1.1 GET over loopback: status and body.
fn http_get(address: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(address)?;
    // The data dump of a long-running moto grows with every request.
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let invalid = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of headers"))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status"))?;
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body).ok_or_else(|| invalid("bad chunked body"))?;
    }
    Ok((status, body))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}
