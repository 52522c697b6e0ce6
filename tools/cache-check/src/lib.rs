//! Reads a serverless cache's state from the ElastiCache control plane. This is deploy-time
//! tooling: the functions never call the control plane (their data path is the Redis
//! protocol), and a cache that is not `available` is reported with what to do about it.

use aws_sdk_elasticache::types::ServerlessCache;

/// What a healthy cache tells its clients.
#[derive(Debug, PartialEq, Eq)]
pub struct Ready {
    pub endpoint: String,
    pub engine: String,
}

impl Ready {
    /// The `REDIS_URL` the functions use: ElastiCache Serverless only accepts TLS.
    pub fn redis_url(&self) -> String {
        format!("rediss://{}", self.endpoint)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum NotReady {
    Missing(String),
    Status(String),
    NoEndpoint,
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(name) => write!(f, "no serverless cache named {name} in this region"),
            Self::Status(status) => write!(
                f,
                "cache status is {status}; wait for `available` (creating takes a few minutes)"
            ),
            Self::NoEndpoint => f.write_str("cache is available but reports no endpoint"),
        }
    }
}

pub fn assess(name: &str, caches: &[ServerlessCache]) -> Result<Ready, NotReady> {
    let cache = caches
        .iter()
        .find(|c| c.serverless_cache_name() == Some(name))
        .ok_or_else(|| NotReady::Missing(name.to_owned()))?;
    let status = cache.status().unwrap_or("unknown");
    if status != "available" {
        return Err(NotReady::Status(status.to_owned()));
    }
    let endpoint = cache.endpoint().ok_or(NotReady::NoEndpoint)?;
    let (Some(address), Some(port)) = (endpoint.address(), endpoint.port()) else {
        return Err(NotReady::NoEndpoint);
    };
    Ok(Ready {
        endpoint: format!("{address}:{port}"),
        engine: format!(
            "{} {}",
            cache.engine().unwrap_or("?"),
            cache.full_engine_version().unwrap_or("")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticache::types::Endpoint;

    fn cache(name: &str, status: &str, endpoint: Option<(&str, i32)>) -> ServerlessCache {
        let mut builder = ServerlessCache::builder()
            .serverless_cache_name(name)
            .status(status)
            .engine("valkey")
            .full_engine_version("8.0");
        if let Some((address, port)) = endpoint {
            builder = builder.endpoint(Endpoint::builder().address(address).port(port).build());
        }
        builder.build()
    }

    #[test]
    fn an_available_cache_gives_its_tls_url() {
        let caches = [
            cache("other", "available", Some(("x", 1))),
            cache(
                "auth-cache",
                "available",
                Some(("auth.serverless.use1.cache.amazonaws.com", 6379)),
            ),
        ];
        let ready = assess("auth-cache", &caches).unwrap();
        assert_eq!(
            ready.redis_url(),
            "rediss://auth.serverless.use1.cache.amazonaws.com:6379"
        );
        assert_eq!(ready.engine, "valkey 8.0");
    }

    #[test]
    fn anything_else_says_why() {
        assert_eq!(
            assess("auth-cache", &[]),
            Err(NotReady::Missing("auth-cache".into()))
        );
        let creating = [cache("auth-cache", "creating", None)];
        assert_eq!(
            assess("auth-cache", &creating),
            Err(NotReady::Status("creating".into()))
        );
        let no_endpoint = [cache("auth-cache", "available", None)];
        assert_eq!(
            assess("auth-cache", &no_endpoint),
            Err(NotReady::NoEndpoint)
        );
    }
}
