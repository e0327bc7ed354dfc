//! JSON bodies (the theme's script posts forms as JSON): decoded as the
//! gate decodes them, then validated against every form.
#![no_main]

use estrade_domain::submission::{DecodeError, MAX_BODY_BYTES, Submission};
use estrade_fuzz::check_every_form;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match Submission::from_json(body) {
        Ok(submission) => {
            assert!(body.len() <= MAX_BODY_BYTES);
            check_every_form(&submission);
        }
        Err(DecodeError::TooLarge) => assert!(body.len() > MAX_BODY_BYTES),
        Err(_) => {}
    }
});
