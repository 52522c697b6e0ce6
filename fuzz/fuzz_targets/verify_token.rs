#![no_main]
//! Any bytes as the Authorization header: see `testkit::fuzz::verify_token`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    testkit::fuzz::verify_token(data);
});
