#![no_main]
//! Any bytes as the published JWKS document and the stored key set: see `testkit::fuzz::parse_key_documents`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    testkit::fuzz::parse_key_documents(data);
});
