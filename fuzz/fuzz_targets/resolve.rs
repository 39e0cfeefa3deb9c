#![no_main]
//! Request-time matching against the end-to-end fixture: arbitrary host,
//! path and query never panic, and a Location never carries a byte outside
//! visible ASCII (the fixture's targets are ASCII).
use redirects_compiler::{build_table, check, Options};
use redirects_format::{Request, Table};
use std::sync::OnceLock;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let text = include_bytes!("../../xtask/tests/fixtures/matching.txt");
        let opts = Options::default();
        let report = check(std::path::Path::new("matching.txt"), text, &opts);
        Table::from_bytes(build_table(&report, &opts)).unwrap()
    })
}

libfuzzer_sys::fuzz_target!(|input: (Option<&str>, &str, Option<&str>)| {
    let (host, path, query) = input;
    if let Some(r) = table().resolve(&Request { host, path, query }) {
        assert!(
            r.location.bytes().all(|b| (0x21..0x7f).contains(&b)),
            "{:?}",
            r.location
        );
    }
});
