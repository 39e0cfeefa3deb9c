#![no_main]
//! The csv rules parser and checks on arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| redirects_fuzz::rules(
    data,
    redirects_compiler::Format::Csv
));
