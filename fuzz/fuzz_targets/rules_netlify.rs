#![no_main]
//! The netlify rules parser and checks on arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| redirects_fuzz::rules(
    data,
    redirects_compiler::Format::Netlify
));
