//! The rsvp function on AWS Lambda.

use estrade_functions::http::rsvp_routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let functions = estrade_lambda::functions().await?;
    lambda_http::run(rsvp_routes(functions)).await
}
