//! What every form function does before its first request: read the
//! build's manifest and the token keys, build the AWS clients once, and
//! hand its routes to the Lambda runtime.
//!
//! Environment: `ESTRADE_MANIFEST` (default `manifest.json`, packaged next
//! to `bootstrap`), `ESTRADE_TOKEN_KEYS` (`id:base64secret,...`, from the
//! secret store at deploy time), `ESTRADE_TABLE` (the DynamoDB table), and
//! the usual AWS variables the Lambda runtime sets.

use estrade_aws::{DynamoStore, SesMailer};
use estrade_domain::manifest::Manifest;
use estrade_domain::token::Keys;
use estrade_functions::http::{Functions, Settings};
use std::sync::Arc;

pub type LambdaFunctions = Functions<DynamoStore, SesMailer>;

/// Reads the manifest at `path`, saying what is wrong in words.
pub fn read_manifest(path: &str) -> Result<Manifest, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read the manifest `{path}`: {e}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("the manifest `{path}` is not one estrade wrote: {e}"))
}

/// Settings from the environment, before any client is built.
pub fn settings_from_env() -> Result<Settings, String> {
    let path = std::env::var("ESTRADE_MANIFEST").unwrap_or_else(|_| "manifest.json".to_owned());
    let manifest = read_manifest(&path)?;
    let keys = Keys::parse(&std::env::var("ESTRADE_TOKEN_KEYS").unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let site_url = manifest.config.base_url.trim_end_matches('/').to_owned();
    Ok(Settings {
        manifest,
        keys,
        site_url,
    })
}

/// The functions over DynamoDB and SES, clients built once from one
/// loading of the AWS configuration.
pub async fn functions() -> Result<Arc<LambdaFunctions>, String> {
    let settings = settings_from_env()?;
    let table = std::env::var("ESTRADE_TABLE")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or("ESTRADE_TABLE is not set: name the DynamoDB table")?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let email = &settings.manifest.config.email;
    let domain = email
        .from_address
        .rsplit('@')
        .next()
        .unwrap_or("estrade")
        .to_owned();
    let mut mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&aws), domain);
    if let Some(set) = &email.configuration_set {
        mailer = mailer.with_configuration_set(set.clone());
    }
    Ok(Arc::new(Functions::new(store, mailer, settings)))
}

/// Serves `routes` on Lambda; a function that cannot start says why in
/// words and exits non-zero, which Lambda reports as an init error.
pub async fn serve(routes: impl Fn(Arc<LambdaFunctions>) -> axum::Router) {
    let functions = match functions().await {
        Ok(functions) => functions,
        Err(problem) => {
            eprintln!("{{\"level\":\"error\",\"what\":\"init\",\"error\":{problem:?}}}");
            std::process::exit(1);
        }
    };
    if let Err(problem) = lambda_http::run(routes(functions)).await {
        eprintln!(
            "{{\"level\":\"error\",\"what\":\"runtime\",\"error\":{:?}}}",
            problem.to_string()
        );
        std::process::exit(1);
    }
}
