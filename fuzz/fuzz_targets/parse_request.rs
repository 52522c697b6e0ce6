#![no_main]
//! Any bytes as a sign-up or sign-in body: see `testkit::fuzz::parse_request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::parse_request(data));
