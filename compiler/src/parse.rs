use crate::{ErrorKind, RuleError};
use redirects_format::{path_key, Status};
use std::collections::HashMap;
use std::path::Path;

/// One parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The line it came from, counting from 1.
    pub line: usize,
    /// The source as written.
    pub source: String,
    /// The lookup key of the source ([`redirects_format::path_key`]).
    pub key: Vec<u8>,
    /// The target as written.
    pub target: String,
    /// The status (the default when the line names none).
    pub status: Status,
}

/// Parses rules text; `file` is only used in error messages. Returns every
/// rule, or every error found.
pub fn parse_rules(
    file: &Path,
    text: &[u8],
    default_status: Status,
) -> Result<Vec<Rule>, Vec<RuleError>> {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    let err = |line, kind| RuleError {
        file: file.to_path_buf(),
        line,
        kind,
    };
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        match parse_line(raw, default_status) {
            Ok(None) => {}
            Ok(Some((source, key, target, status))) => {
                if let Some(&first_line) = seen.get(&key) {
                    errors.push(err(line, ErrorKind::DuplicateSource { source, first_line }));
                    continue;
                }
                seen.insert(key.clone(), line);
                rules.push(Rule {
                    line,
                    source,
                    key,
                    target,
                    status,
                });
            }
            Err(kind) => errors.push(err(line, kind)),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

type Parsed = (String, Vec<u8>, String, Status);

fn parse_line(raw: &[u8], default_status: Status) -> Result<Option<Parsed>, ErrorKind> {
    let text = std::str::from_utf8(raw).map_err(|_| ErrorKind::NotUtf8)?;
    let trimmed = text.trim_matches([' ', '\t']);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    if let Some((column, byte)) = text
        .bytes()
        .enumerate()
        .find(|&(_, b)| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(ErrorKind::ControlCharacter {
            byte,
            column: column + 1,
        });
    }
    let fields: Vec<&str> = trimmed
        .split([' ', '\t'])
        .filter(|f| !f.is_empty())
        .collect();
    let (source, target, status) = match fields.as_slice() {
        [source] => {
            return Err(ErrorKind::MissingTarget {
                source: source.to_string(),
            })
        }
        [source, target] => (*source, *target, None),
        [source, target, status] => (*source, *target, Some(*status)),
        _ => {
            return Err(ErrorKind::TooManyFields {
                count: fields.len(),
            })
        }
    };
    if !source.starts_with('/') {
        return Err(ErrorKind::SourceNotAbsolute {
            source: source.to_string(),
        });
    }
    let key = path_key(source).ok_or_else(|| ErrorKind::BadEscape {
        source: source.to_string(),
    })?;
    if !valid_target(target) {
        return Err(ErrorKind::BadTarget {
            target: target.to_string(),
        });
    }
    let status = match status {
        None => default_status,
        Some(s) => s
            .parse::<u16>()
            .ok()
            .and_then(Status::from_code)
            .ok_or_else(|| ErrorKind::UnknownStatus {
                status: s.to_string(),
            })?,
    };
    Ok(Some((source.to_string(), key, target.to_string(), status)))
}

/// A target is a path (`/...`) or an absolute http(s) URL with a host.
fn valid_target(target: &str) -> bool {
    if target.starts_with('/') {
        return !target.starts_with("//");
    }
    ["http://", "https://"].iter().any(|scheme| {
        target
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
            && target[scheme.len()..]
                .chars()
                .next()
                .is_some_and(|c| c != '/' && c != '?' && c != '#')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Rule>, Vec<String>> {
        parse_rules(Path::new("rules.txt"), text.as_bytes(), Status::DEFAULT)
            .map_err(|errs| errs.iter().map(|e| e.to_string()).collect())
    }

    fn one_error(text: &str) -> String {
        let errs = parse(text).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        errs[0].clone()
    }

    #[test]
    fn parses_rules_comments_and_blank_lines() {
        let rules = parse(
            "# a comment\n\n/old /new\n  /a\thttps://example.com/b?x=1#frag 308  \r\n   # indented comment\n/caf%C3%A9 /coffee 302\n",
        )
        .unwrap();
        let got: Vec<_> = rules
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.source.as_str(),
                    r.target.as_str(),
                    r.status.code(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "/old", "/new", 301),
                (4, "/a", "https://example.com/b?x=1#frag", 308),
                (6, "/caf%C3%A9", "/coffee", 302),
            ]
        );
        assert_eq!(rules[2].key, "/café".as_bytes());
    }

    #[test]
    fn default_status_applies() {
        let rules = parse_rules(Path::new("r"), b"/a /b\n/c /d 308", Status::Found).unwrap();
        assert_eq!(rules[0].status, Status::Found);
        assert_eq!(rules[1].status, Status::PermanentRedirect);
    }

    #[test]
    fn missing_target() {
        assert_eq!(
            one_error("/ok /fine\n/lonely\n"),
            "rules.txt:2: rule `/lonely` has no target"
        );
    }

    #[test]
    fn too_many_fields() {
        assert_eq!(
            one_error("/a /b 301 extra"),
            "rules.txt:1: expected `source target [status]`, found 4 fields"
        );
    }

    #[test]
    fn source_not_absolute() {
        assert_eq!(
            one_error("\nold /new"),
            "rules.txt:2: source `old` must start with `/`"
        );
        assert_eq!(
            one_error("https://example.com/a /new"),
            "rules.txt:1: source `https://example.com/a` must start with `/`"
        );
    }

    #[test]
    fn bad_escape() {
        assert_eq!(
            one_error("/a%zz /b"),
            "rules.txt:1: source `/a%zz` has an invalid %-escape"
        );
    }

    #[test]
    fn bad_target() {
        for target in [
            "new",
            "//evil.example",
            "ftp://x/y",
            "https://",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                one_error(&format!("/a {target}")),
                format!("rules.txt:1: target `{target}` must be a path starting with `/` or an http(s):// URL")
            );
        }
    }

    #[test]
    fn unknown_status() {
        for status in ["200", "304", "abc", "3010", "-1"] {
            assert_eq!(
                one_error(&format!("/a /b {status}")),
                format!(
                    "rules.txt:1: unknown status `{status}` (expected 301, 302, 303, 307 or 308)"
                )
            );
        }
    }

    #[test]
    fn duplicate_source_including_escaped_spelling() {
        let errs = parse("/a /b\n/x /y\n/a /c\n/caf%C3%A9 /1\n/café /2\n").unwrap_err();
        assert_eq!(
            errs,
            vec![
                "rules.txt:3: duplicate source `/a` (first defined on line 1)",
                "rules.txt:5: duplicate source `/café` (first defined on line 4)",
            ]
        );
    }

    #[test]
    fn control_characters() {
        assert_eq!(
            one_error("/a /b\r\n/a\r /c\n"),
            "rules.txt:2: control character 0x0D at column 3 (CR, LF and other control characters are not allowed in rules)"
        );
        assert_eq!(
            one_error("/a /b\0x"),
            "rules.txt:1: control character 0x00 at column 6 (CR, LF and other control characters are not allowed in rules)"
        );
        assert_eq!(
            one_error("/a\x1b[0m /b"),
            "rules.txt:1: control character 0x1B at column 3 (CR, LF and other control characters are not allowed in rules)"
        );
    }

    #[test]
    fn not_utf8() {
        let errs = parse_rules(
            Path::new("rules.txt"),
            b"/a /b\n/\xff /c\n",
            Status::DEFAULT,
        )
        .unwrap_err();
        assert_eq!(errs[0].to_string(), "rules.txt:2: line is not valid UTF-8");
    }

    #[test]
    fn reports_every_error() {
        let errs = parse("nope /a\n/b\n/c /d 999\n").unwrap_err();
        let lines: Vec<_> = errs
            .iter()
            .map(|e| e.split(':').nth(1).unwrap().to_string())
            .collect();
        assert_eq!(lines, ["1", "2", "3"]);
    }
}
