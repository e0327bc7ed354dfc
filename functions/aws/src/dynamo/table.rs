//! The table's keys, and the table itself.

use super::store_error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use estrade_functions::store::{StoreError, StoreResult};
use std::collections::HashMap;
use std::time::Duration;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
/// The sparse local index of waitlisted RSVPs, by `waitlist_position`.
pub(crate) const WAITLIST_INDEX: &str = "waitlist";
pub(crate) const WAITLIST_POSITION: &str = "waitlist_position";
/// The sparse global index of the send queue: `queue` is `due` while an
/// item waits (sorted by `queue_key`, its due time then id) and `sending`
/// while the mailer has it (sorted by the end of its lease).
pub(crate) const QUEUE_INDEX: &str = "queue";
pub(crate) const QUEUE: &str = "queue";
pub(crate) const QUEUE_KEY: &str = "queue_key";
/// The TTL attribute: epoch seconds after which DynamoDB may delete.
pub(crate) const EXPIRES_AT: &str = "expires_at";

pub(crate) const PROFILE: &str = "PROFILE";
pub(crate) const COUNTER: &str = "COUNTER";
pub(crate) const CONSENT_PREFIX: &str = "CONSENT#";
pub(crate) const RSVP_PREFIX: &str = "RSVP#";

pub(crate) fn supporter_pk(email: &str) -> String {
    format!("SUPPORTER#{email}")
}

pub(crate) fn event_pk(event: &str) -> String {
    format!("EVENT#{event}")
}

pub(crate) fn rsvp_sk(email: &str) -> String {
    format!("{RSVP_PREFIX}{email}")
}

pub(crate) fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk.into())),
    ])
}

/// Creates the table [`super::DynamoStore`] expects, waits until it is
/// active and turns on TTL over `expires_at`.
///
/// Tests use it for their own tables; in production the infrastructure
/// template declares the same: on-demand billing (a campaign's traffic is
/// spiky and mostly idle), `pk`/`sk` strings, the local secondary index
/// `waitlist` on `pk` + `waitlist_position` (number, all attributes
/// projected), the global secondary index `queue` on `queue` + `queue_key`
/// (strings, all attributes projected), TTL on `expires_at`.
pub async fn create_table(client: &Client, name: &str) -> StoreResult<()> {
    let built = |what: &str| StoreError(format!("DynamoDB CreateTable: {what} could not be built"));
    let attribute = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(|_| built("an attribute definition"))
    };
    let key_element = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|_| built("a key element"))
    };
    let waitlist = LocalSecondaryIndex::builder()
        .index_name(WAITLIST_INDEX)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(WAITLIST_POSITION, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|_| built("the waitlist index"))?;
    let queue = GlobalSecondaryIndex::builder()
        .index_name(QUEUE_INDEX)
        .key_schema(key_element(QUEUE, KeyType::Hash)?)
        .key_schema(key_element(QUEUE_KEY, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|_| built("the queue index"))?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PK, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(SK, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(WAITLIST_POSITION, ScalarAttributeType::N)?)
        .attribute_definitions(attribute(QUEUE, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(QUEUE_KEY, ScalarAttributeType::S)?)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(SK, KeyType::Range)?)
        .local_secondary_indexes(waitlist)
        .global_secondary_indexes(queue)
        .send()
        .await
        .map_err(|err| store_error("CreateTable", err))?;
    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(Duration::from_secs(120))
        .await
        .map_err(|_| StoreError(format!("DynamoDB table {name} did not become active")))?;
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(EXPIRES_AT)
        .build()
        .map_err(|_| built("the TTL specification"))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|err| store_error("UpdateTimeToLive", err))?;
    Ok(())
}
