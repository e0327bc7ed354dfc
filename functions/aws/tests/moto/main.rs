//! DynamoStore and SesMailer against the moto emulator (see `support`).

mod dynamo;
mod ses;
mod support;
