//! DynamoStore and SesMailer against the moto emulator (see `support`).

mod automation;
mod dynamo;
mod ses;
mod support;
