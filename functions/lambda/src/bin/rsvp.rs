//! The rsvp function on AWS Lambda.

#[tokio::main]
async fn main() {
    estrade_lambda::serve(estrade_functions::http::rsvp_routes).await;
}
