//! Everything the three functions share: configuration, request parsing into domain types,
//! password hashing, tokens, the user store and the one error type that becomes every
//! non-2xx response.

pub mod app;
pub mod cache;
pub mod code;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod lambda;
pub mod lockout;
pub mod password;
pub mod session;
pub mod store;
pub mod token;

pub use app::{App, Warmup};
pub use error::ApiError;
