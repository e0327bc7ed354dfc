//! The signup function on AWS Lambda.

use estrade_functions::http::signup_routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let functions = estrade_lambda::functions().await?;
    lambda_http::run(signup_routes(functions)).await
}
