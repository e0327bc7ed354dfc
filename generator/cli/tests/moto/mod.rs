//! The tests' DynamoDB tables, on the moto emulator that `tests/run`
//! starts. A test that needs one fails, saying how to start moto, when it
//! does not answer.

const HOW_TO_START_MOTO: &str = "this test needs the moto emulator: run `tests/run`, which \
starts it, or start `.venv/bin/moto_server -H 127.0.0.1 -p 5005` and set \
AWS_ENDPOINT_URL=http://127.0.0.1:5005 AWS_REGION=eu-west-3 AWS_ACCESS_KEY_ID=test \
AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true";

/// The store on `table`, with the client the environment configures.
pub async fn store(table: &str) -> estrade_aws::DynamoStore {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    estrade_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)
}

/// A new, empty table named after `purpose` and the time.
pub async fn new_table(purpose: &str) -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .unwrap_or_else(|_| panic!("AWS_ENDPOINT_URL is not set; {HOW_TO_START_MOTO}"));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let table = format!("estrade-cli-{purpose}-{nanos}");
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    estrade_aws::create_table(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("moto at {endpoint}: {e}; {HOW_TO_START_MOTO}"));
    table
}
