//! The shapes every part of Estrade agrees on.
//!
//! The generator reads them from a campaign's `campaign.yaml` and front
//! matter; the form functions read the same shapes from what the generator
//! built. Nothing here depends on AWS, tokio or a web framework, so each
//! function binary stays small and the two sides cannot drift apart.

pub mod audience;
pub mod automation;
pub mod config;
pub mod dates;
pub mod donation;
pub mod event;
pub mod forms;
pub mod geo;
pub mod ics;
pub mod import;
pub mod manifest;
pub mod submission;
pub mod supporter;
pub mod text;
pub mod token;
pub mod validate;

pub use config::CampaignConfig;
pub use event::{Event, EventFrontMatter};
pub use forms::{Field, FieldKind, FormDefinition, FormName};
