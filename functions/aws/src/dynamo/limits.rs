//! Fixed-window rate limits.

use super::expr::{Expr, n, s};
use super::item::{Fields, KIND};
use super::table::{EXPIRES_AT, key};
use super::{DynamoStore, store_error};
use aws_sdk_dynamodb::types::ReturnValue;
use estrade_functions::store::StoreResult;
use jiff::Timestamp;

impl DynamoStore {
    /// One `ADD hits 1` on the item of `key`'s current window, reading the
    /// new count in the same request. The window's length and start are in
    /// the sort key: a request in a later window writes a fresh item, and
    /// an expired one (still there until TTL deletes it) is never read.
    pub(super) async fn count_request(
        &self,
        rate_key: &str,
        limit: u32,
        window_seconds: u32,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let window = i64::from(window_seconds.max(1));
        let start = at.as_second().div_euclid(window) * window;
        let mut expr = Expr::new();
        let expires_at = expr.name(EXPIRES_AT);
        let update = format!(
            "SET {} = {}, {expires_at} = if_not_exists({expires_at}, {}) ADD {} {}",
            expr.name(KIND),
            expr.value("kind", s("rate_limit")),
            expr.value("expires_at", n(start + window)),
            expr.name("hits"),
            expr.value("one", n(1)),
        );
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("RATE#{rate_key}"),
                format!("WINDOW#{window}#{start}"),
            )))
            .update_expression(update)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|err| store_error("UpdateItem (rate limit)", err))?;
        let attributes = updated.attributes.unwrap_or_default();
        let hits = Fields::new(&attributes, "rate limit").number("hits")?;
        Ok(hits <= u64::from(limit))
    }
}
