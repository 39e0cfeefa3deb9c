#![no_main]
//! Request-time matching against the end-to-end fixture: arbitrary host,
//! path and query never panic, and a Location never carries a byte outside
//! visible ASCII (the fixture's targets are ASCII), and the same table
//! with its keys hashed (`Table::hash_keys`) answers alike.
use redirects_compiler::{build_table, check, Options};
use redirects_format::{Request, Table};
use std::sync::OnceLock;

fn load() -> Table {
    let text = include_bytes!("../../xtask/tests/fixtures/matching.txt");
    let opts = Options::default();
    let report = check(std::path::Path::new("matching.txt"), text, &opts);
    Table::from_bytes(build_table(&report, &opts)).unwrap()
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(load)
}

fn hashed() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let table = load();
        table.hash_keys([0x5eed, 2026]).unwrap();
        table
    })
}

libfuzzer_sys::fuzz_target!(|input: (Option<&str>, &str, Option<&str>)| {
    let (host, path, query) = input;
    let req = Request { host, path, query };
    let answer = table().resolve(&req);
    assert_eq!(answer, hashed().resolve(&req), "{req:?}");
    if let Some(r) = answer {
        assert!(
            r.location.bytes().all(|b| (0x21..0x7f).contains(&b)),
            "{:?}",
            r.location
        );
    }
});
