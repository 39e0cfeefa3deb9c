//! Shared properties of the fuzz targets.

use redirects_compiler::{build_table, check, Format, Options};
use redirects_format::{Request, Table};
use std::path::Path;

/// Parses rules in `format`; rules without errors must build, read back
/// with every rule's target and status under its key, and every exact rule
/// must resolve (through `Table::resolve`, host and query as the rule names
/// them) to its own target, status and flags, with a Location of visible
/// ASCII only.
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
    for rule in report.rules.iter().filter(|r| !r.prefix) {
        let path = percent_encode(&rule.path);
        let req = Request {
            host: rule.host.as_deref(),
            path: &path,
            query: rule.query.as_deref(),
        };
        let found = table
            .find(&req)
            .unwrap_or_else(|| panic!("{:?} does not resolve", rule.source));
        assert_eq!(found.key, rule.key(), "{:?}", rule.source);
        assert_eq!(found.flags, rule.flags, "{:?}", rule.source);
        let r = table
            .resolve(&req)
            .unwrap_or_else(|| panic!("{:?} redirects to itself", rule.source));
        let want = match &rule.query {
            Some(q) if rule.flags.preserve_query => {
                let (before, fragment) = match rule.target.split_once('#') {
                    Some((b, f)) => (b, Some(f)),
                    None => (rule.target.as_str(), None),
                };
                let sep = if before.contains('?') { '&' } else { '?' };
                let q = redirects_format::url::encode_query(q);
                match fragment {
                    Some(f) => format!("{before}{sep}{q}#{f}"),
                    None => format!("{before}{sep}{q}"),
                }
            }
            _ => rule.target.clone(),
        };
        assert_eq!((r.location.as_str(), r.status), (want.as_str(), rule.status));
        assert!(
            r.location.bytes().all(|b| (0x21..0x7f).contains(&b)),
            "{:?}",
            r.location
        );
    }
}

/// Escapes `%` and non-printable bytes so a normalised path can be sent again.
fn percent_encode(path: &[u8]) -> String {
    let mut out = String::new();
    for &b in path {
        if b.is_ascii_graphic() && b != b'%' && b != b'?' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
