//! The AWS side of the form functions: [`DynamoStore`] keeps supporters,
//! consent and RSVPs in one DynamoDB table, [`SesMailer`] sends through
//! SES v2. Both pass the same contract as the embedded store and outbox.
//!
//! Clients come from `aws_config::load_defaults`, so the region, the
//! credentials and the endpoint are the environment's: the Lambda role in
//! production, the moto emulator in tests (`AWS_ENDPOINT_URL`). Nothing
//! here knows which.

pub mod dynamo;
pub mod ses;

pub use dynamo::{DynamoStore, create_table};
pub use ses::SesMailer;
