//! The unsubscribe function on AWS Lambda.

#[tokio::main]
async fn main() {
    estrade_lambda::serve(estrade_functions::http::unsubscribe_routes).await;
}
