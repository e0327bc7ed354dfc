//! The signup function on AWS Lambda.

#[tokio::main]
async fn main() {
    estrade_lambda::serve(estrade_functions::http::signup_routes).await;
}
