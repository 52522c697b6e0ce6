#![no_main]
//! Any bytes as a sign-up, sign-in, token validation or refresh body: see `testkit::fuzz::parse_request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::parse_request(data));
