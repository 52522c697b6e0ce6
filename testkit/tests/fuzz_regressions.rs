#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Replays every input kept in `fuzz/regressions/<target>/` (seeds and anything a fuzzer
//! once found) through the fuzz targets' own checks, on stable Rust, in `make test`.

fn replay(target: &str, check: impl Fn(&str, &[u8]) + std::panic::RefUnwindSafe) -> usize {
    let dir = testkit::root().join("fuzz/regressions").join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(panic) = std::panic::catch_unwind(|| check(&name, &data)) {
            panic!("{target}: {name} fails again: {panic:?}");
        }
        count += 1;
    }
    count
}

#[test]
fn parse_request_inputs_still_pass() {
    assert!(
        replay("parse_request", |_, data| testkit::fuzz::parse_request(
            data
        )) >= 5
    );
}

/// Only the seeds named `genuine*` carry the genuine token (with `Bearer` or bare, as the
/// contract allows); every other kept input (another key, `alg: none`, a `kid`, `typ: JWT`,
/// another scheme, junk) must be refused.
#[test]
fn verify_token_inputs_still_pass() {
    let replayed = replay("verify_token", |name, data| {
        let accepted = testkit::fuzz::verify_token(data);
        assert_eq!(accepted, name.starts_with("genuine"), "{name}");
    });
    assert!(replayed >= 5);
}

/// Only the seeds named `genuine*` are well-formed key sets (public keys only: no private key
/// is kept in the repository); every other kept input must be refused without a panic.
#[test]
fn key_documents_inputs_still_pass() {
    let replayed = replay("key_documents", |name, data| {
        let accepted = testkit::fuzz::parse_key_documents(data);
        assert_eq!(accepted, name.starts_with("genuine"), "{name}");
    });
    assert!(replayed >= 5);
}

/// The seed reaches the accepting path (so the fuzzer explores past the signature check),
/// and the property notices a token that verifies without being the genuine one.
#[test]
fn the_token_property_can_fail() {
    let seed = testkit::root().join("fuzz/regressions/verify_token/genuine");
    assert!(testkit::fuzz::verify_token(&std::fs::read(seed).unwrap()));
    let genuine = testkit::fuzz::genuine_token();
    assert!(!testkit::fuzz::verify_token(
        format!("Bearer {genuine}x").as_bytes()
    ));
    // Signed with the same key but not the genuine token: it verifies, so the property fails.
    // (The committed key's private half was never kept: the test key stands in for it.)
    let published = testkit::test_key_set().published().clone();
    let tokens = shared::token::TokenService::new(
        &testkit::config("fuzz", "redis://unused", &[]).tokens,
        testkit::verify_keys(published),
    );
    let claims = |jti: &str| {
        serde_json::json!({"sub": "6f1c1a52-7d3e-4c55-9d2e-0b8a3c1f2e11", "iat": 1,
                           "exp": 4_102_444_800i64, "iss": "testkit", "jti": jti,
                           "sid": "4c559d2e0b8a3c1f2e116f1c1a527d3e"})
    };
    let genuine = testkit::forge_token(&claims("a"));
    assert!(testkit::fuzz::check_token(
        &tokens,
        &genuine,
        genuine.as_bytes()
    ));
    let impostor = testkit::forge_token(&claims("b"));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        testkit::fuzz::check_token(&tokens, &genuine, impostor.as_bytes())
    }));
    assert!(
        caught.is_err(),
        "a validly signed but different token must trip the property"
    );
}
