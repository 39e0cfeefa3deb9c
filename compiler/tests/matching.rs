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

const README: &str = include_str!("../../README.md");

/// The README's matching table is checked, not copied by hand: every
/// request it names (with its `Host`, if the row gives one) is a case of
/// the data file, and the row's status and first `Location` are that
/// case's answer for the row's first request.
#[test]
fn readme_matching_table_rows_are_cases() {
    let cases = cases();
    let rows: Vec<&str> = README
        .lines()
        .skip_while(|l| !l.starts_with("| request | rule | result |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(rows.len() >= 10, "the README's matching table was found");
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    for row in rows {
        let cells: Vec<&str> = row.split(" | ").collect();
        let (requests, result) = (cells[0].trim_start_matches("| "), cells[2]);
        let mut items = ticked(requests);
        let host = if requests.trim_start().starts_with("Host ") {
            Some(items.remove(0))
        } else {
            None
        };
        assert!(!items.is_empty(), "no request in row {row:?}");
        for target in &items {
            assert!(
                cases
                    .iter()
                    .any(|c| c.0 == host.as_deref() && c.1 == target.as_str()),
                "README row {row:?}: {host:?} {target} is not in matching-cases.txt"
            );
        }
        let case = cases
            .iter()
            .find(|c| c.0 == host.as_deref() && c.1 == items[0])
            .unwrap();
        let status: u16 = result
            .trim()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in row {row:?}"));
        assert_eq!(status, case.2, "row {row:?}");
        let location = result
            .split_once('→')
            .map(|(_, after)| ticked(after).into_iter().next());
        if let Some(location) = location {
            assert_eq!(location.as_deref(), case.3, "row {row:?}");
        }
    }
}
