#![no_main]
//! Path normalisation on arbitrary text: never panics, and a normalised path
//! is absolute, has no empty or dot segments and no trailing slash.
use redirects_format::{normalize_path, TableOptions};

libfuzzer_sys::fuzz_target!(|path: &str| {
    for case_insensitive in [false, true] {
        let opts = TableOptions {
            case_insensitive,
            strict_trailing_slash: false,
        };
        if let Some(n) = normalize_path(path, opts) {
            assert!(n.starts_with(b"/"), "{n:?}");
            assert!(n == b"/" || !n.ends_with(b"/"), "{n:?}");
            for seg in n[1..].split(|&b| b == b'/').filter(|_| n.len() > 1) {
                assert!(
                    !seg.is_empty() && seg != b"." && seg != b"..",
                    "{path:?} -> {n:?}"
                );
            }
        }
    }
});
