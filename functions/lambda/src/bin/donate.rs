//! The donate function on AWS Lambda: the donation form, sent on to
//! Stripe Checkout, and Stripe's webhook, which records the gifts.

#[tokio::main]
async fn main() {
    estrade_lambda::serve(estrade_functions::http::donate_routes).await;
}
