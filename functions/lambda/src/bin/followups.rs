//! The followups function on AWS Lambda: the scheduled sender.

#[tokio::main]
async fn main() {
    estrade_lambda::serve_followups().await;
}
