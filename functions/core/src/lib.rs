//! The form functions: signup (and volunteer), RSVP and unsubscribe, as
//! one axum router over a [`store::Store`] and a [`mailer::Mailer`]. Each
//! Lambda binary serves it through `lambda_http`; `estrade serve` mounts
//! it at `/api` over the embedded store and the outbox.

pub mod automations;
pub mod broadcast;
pub mod broadcasts;
pub mod contract;
pub mod gifts;
pub mod http;
pub mod mail_events;
pub mod mailer;
pub mod messages;
pub mod mime;
pub mod outbox;
pub mod pace;
pub mod pages;
pub mod payments;
pub mod people;
pub mod queue;
pub mod sender;
pub mod sns;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;
pub mod watched;
