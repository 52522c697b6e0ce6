//! The dependencies of a handler, built once per Lambda instance at init.

use crate::config::{self, Config, ConfigError};
use crate::password::PasswordHasher;
use crate::store::DynamoUserStore;
use crate::token::TokenService;

pub struct App<S = DynamoUserStore> {
    pub store: S,
    pub tokens: TokenService,
    pub hasher: PasswordHasher,
}

impl App {
    /// Reads the configuration and builds the clients. No request to DynamoDB is made here:
    /// the first request opens the connection, so init stays at the runtime's floor.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let aws = config::aws().await;
        let config = Config::from_env(&aws).await?;
        let client = aws_sdk_dynamodb::Client::new(&aws);
        Ok(Self::new(
            DynamoUserStore::new(client, config.table_name.clone()),
            &config,
        ))
    }
}

impl<S> App<S> {
    pub fn new(store: S, config: &Config) -> Self {
        Self {
            store,
            tokens: TokenService::new(&config.tokens),
            hasher: PasswordHasher::new(),
        }
    }
}
