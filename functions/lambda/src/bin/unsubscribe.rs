//! The unsubscribe function on AWS Lambda.

use estrade_functions::http::unsubscribe_routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let functions = estrade_lambda::functions().await?;
    lambda_http::run(unsubscribe_routes(functions)).await
}
