//! The mail-events function on AWS Lambda: SES bounces and complaints,
//! delivered by SNS.

#[tokio::main]
async fn main() {
    estrade_lambda::serve_mail_events().await;
}
