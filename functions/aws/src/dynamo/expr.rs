//! Expression attribute names and values, collected as an expression is
//! written, then turned into a transaction item.
//!
//! Every attribute goes through a `#name` alias: DynamoDB reserves many
//! plain words (`status`, `position`, `capacity`...).

use super::table::Item;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use estrade_functions::store::{StoreError, StoreResult};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub(crate) struct Expr {
    names: HashMap<String, String>,
    values: Item,
}

impl Expr {
    pub(crate) fn new() -> Expr {
        Expr::default()
    }

    /// `#attribute`, the alias of an attribute name.
    pub(crate) fn name(&mut self, attribute: &str) -> String {
        let alias = format!("#{attribute}");
        self.names.insert(alias.clone(), attribute.to_owned());
        alias
    }

    /// `:placeholder`, bound to `value`.
    pub(crate) fn value(&mut self, placeholder: &str, value: AttributeValue) -> String {
        let bound = format!(":{placeholder}");
        self.values.insert(bound.clone(), value);
        bound
    }

    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// DynamoDB refuses an empty map of values: `None` then.
    pub(crate) fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    pub(crate) fn update(
        self,
        table: &str,
        key: Item,
        update: &str,
        condition: Option<&str>,
    ) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
            .build()
            .map_err(|_| StoreError("DynamoDB: an update could not be built".into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(crate) fn put(
        self,
        table: &str,
        item: Item,
        condition: Option<&str>,
    ) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
            .build()
            .map_err(|_| StoreError("DynamoDB: a put could not be built".into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

pub(crate) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

pub(crate) fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}
