//! The matching cases (`xtask/tests/fixtures/matching-cases.txt`, one file
//! shared with the e2e tests) against the rules of `matching.txt`, natively:
//! compiled by the compiler, answered by `redirects_format::route` over
//! `Table::resolve`, as the routers answer them.

use redirects_compiler::{build_table, check, Options};
use redirects_format::route::route;
use redirects_format::Table;
use std::path::Path;

const RULES: &str = include_str!("../../xtask/tests/fixtures/matching.txt");
const CASES: &str = include_str!("../../xtask/tests/fixtures/matching-cases.txt");

/// One case: host (`None` for `-`), request target, status, `Location`.
type Case<'a> = (Option<&'a str>, &'a str, u16, Option<&'a str>);

fn cases() -> Vec<Case<'static>> {
    CASES
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() == 3 || f.len() == 4, "bad case line {l:?}");
            let host = Some(f[0]).filter(|h| *h != "-");
            (
                host,
                f[1],
                f[2].parse().expect("a status"),
                f.get(3).copied(),
            )
        })
        .collect()
}

#[test]
fn every_matching_case_answers_as_written() {
    let opts = Options::default();
    let report = check(Path::new("matching.txt"), RULES.as_bytes(), &opts);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let table = Table::from_bytes(build_table(&report, &opts)).unwrap();
    let cases = cases();
    assert!(cases.len() > 30, "the cases file was read");
    for (host, target, status, location) in cases {
        let answer = route(host, target, |r| table.resolve(&r));
        assert_eq!(
            (answer.status, answer.location.as_deref()),
            (status, location),
            "{host:?} {target}"
        );
    }
}
