//! Shared properties of the fuzz targets.

use redirects_compiler::{build_table, check, Format, Options};
use redirects_format::{Request, Table};
use std::path::Path;

/// Parses rules in `format`; rules without errors must build, read back
/// with every rule's target and status under its key, and every exact rule
/// without host or query must resolve to a redirect whose Location holds
/// no control character.
pub fn rules(data: &[u8], format: Format) {
    let opts = Options {
        format: Some(format),
        ..Options::default()
    };
    let report = check(Path::new("fuzz"), data, &opts);
    for e in &report.errors {
        let _ = e.to_string();
    }
    if !report.errors.is_empty() {
        return;
    }
    let table = Table::from_bytes(build_table(&report, &opts)).expect("a built table reads back");
    assert_eq!(table.len(), report.rules.len());
    for rule in &report.rules {
        let got = table.get(&rule.key()).expect("every rule reads back");
        assert_eq!(
            (got.location.as_str(), got.status),
            (rule.target.as_str(), rule.status)
        );
    }
    for rule in report
        .rules
        .iter()
        .filter(|r| !r.prefix && r.host.is_none() && r.query.is_none())
    {
        let path = String::from_utf8_lossy(&rule.path).into_owned();
        if let Some(r) = table.resolve(&Request {
            path: &percent_encode(&path),
            ..Request::default()
        }) {
            assert!(
                !r.location.bytes().any(|b| b < 0x20 || b == 0x7f),
                "{:?}",
                r.location
            );
        }
    }
}

/// Escapes `%` and non-printable bytes so a normalised path can be sent again.
fn percent_encode(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_graphic() && b != b'%' && b != b'?' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
