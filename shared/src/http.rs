//! JSON in, JSON out: the one body parser and the one response renderer of every function.

use std::collections::HashMap;

use lambda_http::http::header::{
    HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER,
};
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::ApiError;

/// Bodies above this are refused before parsing; a sign-up is well under 2 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Reads the request body as a JSON object, refusing wrong media types, oversized bodies and
/// anything that is not an object with their own error codes.
pub fn json_object(req: &Request) -> Result<Map<String, Value>, ApiError> {
    if let Some(content_type) = req.headers().get(CONTENT_TYPE) {
        if !is_json_media_type(content_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => return Err(ApiError::MalformedBody),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge);
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::MalformedBody),
    }
}

/// `application/json` or any `application/*+json`, parameters (charset) allowed.
fn is_json_media_type(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// The token of `Authorization: Bearer <token>`; a bare `<token>` is accepted too, as the
/// original contract shows it that way. No header (or an empty one) is "Unauthorized"; any
/// other scheme is an invalid session.
pub fn bearer_token(req: &Request) -> Result<&str, ApiError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Err(ApiError::MissingToken);
    };
    let value = value.to_str().map_err(|_| ApiError::InvalidSession)?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return Err(ApiError::InvalidSession),
        None if value.eq_ignore_ascii_case("bearer") => "",
        None => value,
    };
    if token.is_empty() {
        Err(ApiError::MissingToken)
    } else {
        Ok(token)
    }
}

/// The claims of the token API Gateway's JWT authorizer checked (signature, `iss`, `aud`,
/// `exp`) before invoking a route declared behind it, each as a string. `None` when the
/// request did not come through the authorizer (a wiring mistake), which must never pass for
/// a signed-in call.
pub fn authorizer_claims(req: &Request) -> Option<&HashMap<String, String>> {
    let Some(RequestContext::ApiGatewayV2(context)) = req.request_context_ref() else {
        return None;
    };
    context
        .authorizer
        .as_ref()
        .and_then(|authorizer| authorizer.jwt.as_ref())
        .map(|jwt| &jwt.claims)
        .filter(|claims| claims.contains_key("sub"))
}

/// A JSON response with the given status.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => build(status, Body::Text(text)),
        Err(err) => error(&ApiError::internal(err)),
    }
}

/// The response for an error; the one place errors are logged and rendered.
pub fn error(err: &ApiError) -> Response<Body> {
    err.log();
    let text = serde_json::to_string(&err.body())
        .unwrap_or_else(|_| r#"{"message":"Internal server error","errorCode":5000}"#.to_owned());
    let mut response = build(err.status(), Body::Text(text));
    if let Some(seconds) = err.retry_after() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Renders a handler's outcome: the success body with its status, or the error.
pub fn respond<T: Serialize>(status: u16, outcome: Result<T, ApiError>) -> Response<Body> {
    match outcome {
        Ok(body) => json(status, &body),
        Err(err) => error(&err),
    }
}

/// A response without a body (204).
pub fn empty(status: u16) -> Response<Body> {
    build(status, Body::Empty)
}

fn build(status: u16, body: Body) -> Response<Body> {
    let has_body = !matches!(body, Body::Empty);
    let mut response = Response::new(body);
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status).unwrap_or_default();
    let headers = response.headers_mut();
    if has_body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Where a session is opened from, for the user's device list.
pub fn client_info(req: &Request) -> crate::session::ClientInfo {
    let ip = Some(client_ip(req)).filter(|ip| *ip != "unknown");
    let agent = req
        .headers()
        .get(lambda_http::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    crate::session::ClientInfo::new(ip, agent)
}

/// The https URL the request reached the API at (`https://` and the domain API Gateway
/// reports, never a header the client sets); `None` outside API Gateway.
pub fn api_url(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .domain_name
            .as_deref()
            .filter(|domain| !domain.is_empty())
            .map(|domain| format!("https://{domain}")),
        _ => None,
    }
}

/// The caller's address as API Gateway saw the connection: never a header the client can
/// set, so it cannot dodge its rate limit by claiming another address.
pub fn client_ip(req: &Request) -> &str {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.as_deref().unwrap_or("unknown")
        }
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: Option<&str>, body: Body) -> Request {
        let mut req = Request::new(body);
        if let Some(ct) = content_type {
            req.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        req
    }

    #[test]
    fn accepts_json_objects_with_or_without_content_type() {
        for ct in [
            None,
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/vnd.api+json"),
        ] {
            let map = json_object(&request(ct, Body::Text(r#"{"a":1}"#.into()))).unwrap();
            assert_eq!(map["a"], 1, "{ct:?}");
        }
    }

    #[test]
    fn refuses_other_media_types() {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "json",
            "",
        ] {
            let err = json_object(&request(Some(ct), Body::Text("{}".into()))).unwrap_err();
            assert!(matches!(err, ApiError::UnsupportedMediaType), "{ct}");
        }
    }

    #[test]
    fn refuses_non_objects_and_broken_json() {
        for body in ["", "[]", "null", "\"x\"", "42", "{", "{\"a\":}", "\u{0}"] {
            let err = json_object(&request(None, Body::Text(body.into()))).unwrap_err();
            assert!(matches!(err, ApiError::MalformedBody), "{body:?}");
        }
        let err = json_object(&request(None, Body::Binary(vec![0xff, 0xfe]))).unwrap_err();
        assert!(matches!(err, ApiError::MalformedBody));
    }

    #[test]
    fn refuses_bodies_over_the_limit() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let err = json_object(&request(None, Body::Text(big))).unwrap_err();
        assert!(matches!(err, ApiError::BodyTooLarge));
    }

    fn authorized(value: &str) -> Request {
        let mut req = Request::new(Body::Empty);
        req.headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        req
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(
            bearer_token(&authorized("Bearer abc.def")).unwrap(),
            "abc.def"
        );
        assert_eq!(
            bearer_token(&authorized("bearer  abc.def ")).unwrap(),
            "abc.def"
        );
        assert_eq!(bearer_token(&authorized("abc.def")).unwrap(), "abc.def");
        for missing in ["", "   ", "Bearer", "Bearer   "] {
            let err = bearer_token(&authorized(missing)).unwrap_err();
            assert!(matches!(err, ApiError::MissingToken), "{missing:?}");
        }
        assert!(matches!(
            bearer_token(&Request::new(Body::Empty)),
            Err(ApiError::MissingToken)
        ));
        assert!(matches!(
            bearer_token(&authorized("Basic dXNlcjpwYXNz")),
            Err(ApiError::InvalidSession)
        ));
    }

    #[test]
    fn errors_render_as_json_with_their_status() {
        let response = error(&ApiError::EmailTaken);
        assert_eq!(response.status(), 409);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let Body::Text(text) = response.body() else {
            panic!("text body expected")
        };
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"message": "E-mail already exists", "errorCode": 4090})
        );
    }
}
