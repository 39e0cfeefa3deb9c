//! Table-driven tests of every format and every check, asserting the exact
//! messages.

use super::*;

fn run(name: &str, text: &str, opts: &Options) -> Report {
    check(Path::new(name), text.as_bytes(), opts)
}

fn errors(name: &str, text: &str) -> Vec<String> {
    run(name, text, &Options::default())
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect()
}

fn warnings(name: &str, text: &str) -> Vec<String> {
    run(name, text, &Options::default())
        .warnings
        .iter()
        .map(|e| e.to_string())
        .collect()
}

fn one_error(text: &str) -> String {
    let errs = errors("rules.txt", text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs[0].clone()
}

/// (source, key as text, target, status, flags as "qsd")
fn rules(name: &str, text: &str, opts: &Options) -> Vec<(String, String, String, u16, String)> {
    let report = run(name, text, opts);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
        .rules
        .iter()
        .map(|r| {
            let f = r.flags;
            let flags: String = [
                (f.preserve_query, 'q'),
                (f.preserve_suffix, 's'),
                (f.include_subdomains, 'd'),
            ]
            .iter()
            .filter(|x| x.0)
            .map(|x| x.1)
            .collect();
            (
                r.source.clone(),
                String::from_utf8_lossy(&r.key()).replace('\0', "\\0"),
                r.target.clone(),
                r.status.code(),
                flags,
            )
        })
        .collect()
}

fn row(s: &str, k: &str, t: &str, c: u16, f: &str) -> (String, String, String, u16, String) {
    (s.into(), k.into(), t.into(), c, f.into())
}

#[test]
fn text_format() {
    let got = rules(
        "rules.txt",
        "# a comment\n\n/old /new\n  /a\thttps://example.com/b?x=1#frag 308  \r\n   # indented\n/caf%C3%A9 /coffee 302\n\
         /docs/* /manual/:splat\nhttps://Shop.Example.com/sale /deals 307 preserve-query\nhttp://*.example.org/x /y\n\
         /search?q=old /search?q=new\n/blog/* https://blog.example.com preserve-suffix\n/a/b/ /ab\n",
        &Options::default(),
    );
    assert_eq!(
        got,
        vec![
            row("/old", "=/old", "/new", 301, ""),
            row("/a", "=/a", "https://example.com/b?x=1#frag", 308, ""),
            row("/caf%C3%A9", "=/café", "/coffee", 302, ""),
            row("/docs/*", "*/docs", "/manual/:splat", 301, ""),
            row(
                "https://Shop.Example.com/sale",
                "=shop.example.com/sale",
                "/deals",
                307,
                "q"
            ),
            row("http://*.example.org/x", "=example.org/x", "/y", 301, "d"),
            row(
                "/search?q=old",
                "=/search\\0q=old",
                "/search?q=new",
                301,
                ""
            ),
            row("/blog/*", "*/blog", "https://blog.example.com", 301, "s"),
            row("/a/b/", "=/a/b", "/ab", 301, ""),
        ]
    );
}

#[test]
fn options_apply() {
    let opts = Options {
        default_status: Status::Found,
        default_flags: Flags {
            preserve_query: true,
            ..Flags::default()
        },
        table: TableOptions {
            case_insensitive: true,
            strict_trailing_slash: true,
        },
        format: None,
        report: None,
    };
    assert_eq!(
        rules("r", "/A/B/ /x\n/C /y 308", &opts),
        vec![
            row("/A/B/", "=/a/b/", "/x", 302, "q"),
            row("/C", "=/c", "/y", 308, "q")
        ]
    );
}

#[test]
fn csv_format() {
    let text = "source_url,target_url,status_code,preserve_query_string,include_subdomains,subpath_matching,preserve_path_suffix\n\
                example.com/old,https://example.com/new,,,,,\n\
                https://example.com/docs,https://docs.example.com,308,TRUE,false,true,\n\
                \"example.com/a,b\",\"/x?\"\"q\"\"\",302,false,true,false,false\n\
                /any-host,/landing,307,,,,\n\
                example.com/nosuffix,/n,,,,true,false\n";
    assert_eq!(
        rules("bulk.csv", text, &Options::default()),
        vec![
            row(
                "example.com/old",
                "=example.com/old",
                "https://example.com/new",
                301,
                ""
            ),
            row(
                "https://example.com/docs",
                "*example.com/docs",
                "https://docs.example.com",
                308,
                "qs"
            ),
            // `"` may not stand in a URI: escaped.
            row(
                "example.com/a,b",
                "=example.com/a,b",
                "/x?%22q%22",
                302,
                "d"
            ),
            row("/any-host", "=/any-host", "/landing", 307, ""),
            row(
                "example.com/nosuffix",
                "*example.com/nosuffix",
                "/n",
                301,
                ""
            ),
        ]
    );
    // Columns may come in any order, and only the two URLs are required.
    assert_eq!(
        rules(
            "x.csv",
            "target_url,source_url\n/b,/a\n",
            &Options::default()
        ),
        vec![row("/a", "=/a", "/b", 301, "")]
    );
}

#[test]
fn csv_errors() {
    assert_eq!(
        errors("bulk.csv", "source,target\n/a,/b\n"),
        ["bulk.csv:1: unknown column `source` (expected source_url, target_url, status_code, preserve_query_string, include_subdomains, subpath_matching, preserve_path_suffix)"]
    );
    assert_eq!(
        errors("bulk.csv", "source_url,status_code\n"),
        ["bulk.csv:1: the header must name `source_url` and `target_url`"]
    );
    assert_eq!(
        errors(
            "bulk.csv",
            "source_url,target_url,include_subdomains\n/a,/b\n/c,/d,maybe\n\"/e,/f,true\n/g,,\n"
        ),
        [
            "bulk.csv:2: expected 3 fields as in the header, found 2",
            "bulk.csv:3: `include_subdomains` must be true or false, not `maybe`",
            "bulk.csv:4: unterminated quote",
            "bulk.csv:5: rule `/g` has no target",
        ]
    );
}

#[test]
fn netlify_format() {
    let text = "# Netlify\n/news/*  /blog/:splat  301\n/old  /new\n/temp /t 302!\nhttps://blog.example.com/* https://example.com/blog/:splat 301!\n";
    assert_eq!(
        rules("_redirects", text, &Options::default()),
        vec![
            row("/news/*", "*/news", "/blog/:splat", 301, "q"),
            row("/old", "=/old", "/new", 301, "q"),
            row("/temp", "=/temp", "/t", 302, "q"),
            row(
                "https://blog.example.com/*",
                "*blog.example.com",
                "https://example.com/blog/:splat",
                301,
                "q"
            ),
        ]
    );
    assert_eq!(
        warnings("_redirects", text),
        [
            "_redirects:4: warning: `!` (force) is ignored: rules always apply",
            "_redirects:5: warning: `!` (force) is ignored: rules always apply",
        ]
    );
}

#[test]
fn netlify_refusals() {
    assert_eq!(
        errors(
            "_redirects",
            "/blog/:year/:slug /posts/:slug\n/store id=:id /products/:id 301\n/app/* /index.html 200\n/gone /404.html 404\n/fr/* /fr/:splat 302 Country=fr\n"
        ),
        [
            "_redirects:1: unsupported: Netlify `:placeholder` segments (use `/path/*` and `:splat`)",
            "_redirects:2: unsupported: Netlify query parameter matching (`key=:value` after the source)",
            "_redirects:3: unsupported: Netlify status 200 (rewrites and proxies): only redirects",
            "_redirects:4: unsupported: Netlify custom error pages: only redirects",
            "_redirects:5: unsupported: Netlify conditions (`Country=fr`)",
        ]
    );
}

#[test]
fn netlify_shadowing() {
    assert_eq!(
        warnings("_redirects", "/docs/* /manual/:splat\n/docs/intro /start\n/docs/a/* /a/:splat\n/other /o\n"),
        [
            "_redirects:2: warning: shadowed in Netlify by the splat rule on line 1; here the more specific rule wins",
            "_redirects:3: warning: shadowed in Netlify by the splat rule on line 1; here the more specific rule wins",
        ]
    );
}

#[test]
fn format_from_file_name() {
    assert_eq!(Format::for_path(Path::new("a/_redirects")), Format::Netlify);
    assert_eq!(
        Format::for_path(Path::new("site.redirects")),
        Format::Netlify
    );
    assert_eq!(Format::for_path(Path::new("Bulk.CSV")), Format::Csv);
    assert_eq!(Format::for_path(Path::new("rules.txt")), Format::Text);
}

#[test]
fn bad_lines() {
    let cases = [
        ("/ok /fine\n/lonely\n", "rules.txt:2: rule `/lonely` has no target"),
        ("/a /b 301 extra", "rules.txt:1: unknown field `extra` (expected a status or `preserve-query`, `preserve-suffix`)"),
        ("\nold /new", "rules.txt:2: source `old` must start with `/` or be an http(s):// URL"),
        ("ftp://x/a /new", "rules.txt:1: source `ftp://x/a` must start with `/` or be an http(s):// URL"),
        ("https://example.com:8080/a /b", "rules.txt:1: invalid host `example.com:8080` (a host name, optionally `*.` before it; no port)"),
        ("https:///a /b", "rules.txt:1: invalid host `` (a host name, optionally `*.` before it; no port)"),
        ("/a%zz /b", "rules.txt:1: source `/a%zz` has an invalid %-escape (or an escaped NUL)"),
        ("/a%00 /b", "rules.txt:1: source `/a%00` has an invalid %-escape (or an escaped NUL)"),
        ("/a/*?x=1 /b", "rules.txt:1: prefix rule `/a/*?x=1` cannot name a query"),
        ("/a /b/:splat", "rules.txt:1: target `/b/:splat` uses `:splat` but the source does not end in `/*`"),
        ("/a /b\r\n/a\r /c\n", "rules.txt:2: control character 0x0D at column 3 (CR, LF and other control characters are not allowed in rules)"),
        ("/a /b\0x", "rules.txt:1: control character 0x00 at column 6 (CR, LF and other control characters are not allowed in rules)"),
        ("/a\x1b[0m /b", "rules.txt:1: control character 0x1B at column 3 (CR, LF and other control characters are not allowed in rules)"),
    ];
    for (text, want) in cases {
        assert_eq!(one_error(text), want, "{text:?}");
    }
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
    for status in ["200", "304", "3010", "399"] {
        assert_eq!(
            one_error(&format!("/a /b {status}")),
            format!("rules.txt:1: unknown status `{status}` (expected 301, 302, 303, 307 or 308)")
        );
    }
    let long = format!("/{}", "a".repeat(MAX_URL_LEN));
    assert_eq!(
        one_error(&format!("{long} /b")),
        "rules.txt:1: source is 8193 bytes long (at most 8192)"
    );
    assert_eq!(
        one_error(&format!("/b {long}")),
        "rules.txt:1: target is 8193 bytes long (at most 8192)"
    );
    let errs = check(
        Path::new("rules.txt"),
        b"/a /b\n/\xff /c\n",
        &Options::default(),
    )
    .errors;
    assert_eq!(errs[0].to_string(), "rules.txt:2: line is not valid UTF-8");
}

#[test]
fn duplicates_after_normalisation() {
    assert_eq!(
        errors(
            "rules.txt",
            "/a /b\n/x /y\n/a/ /c\n/caf%C3%A9 /1\n/café /2\n//x/./ /3\n/docs/* /d\n/docs/* /e\n"
        ),
        [
            "rules.txt:3: duplicate source `/a/` (first defined on line 1)",
            "rules.txt:5: duplicate source `/café` (first defined on line 4)",
            "rules.txt:6: duplicate source `//x/./` (first defined on line 2)",
            "rules.txt:8: duplicate source `/docs/*` (first defined on line 7)",
        ]
    );
    // Different hosts, queries and kinds are different sources.
    assert!(errors(
        "rules.txt",
        "/a /b\nhttps://h.com/a /b\n/a?x=1 /b\n/a/* /b\n"
    )
    .is_empty());
}

#[test]
fn self_redirects_and_loops() {
    assert_eq!(
        errors(
            "rules.txt",
            "/self /self\n/slash /slash/\n/q /q?ref=1\nhttps://h.com/p https://H.com/p\n/a /b\n/b /c\n/c /a\n/x /y\n/y /x\n"
        ),
        [
            "rules.txt:1: rule `/self` redirects to itself",
            "rules.txt:2: rule `/slash` redirects to itself",
            "rules.txt:3: rule `/q` redirects to itself",
            "rules.txt:4: rule `https://h.com/p` redirects to itself",
            "rules.txt:5: redirect loop: /a (line 5) -> /b (line 6) -> /c (line 7) -> /a",
            "rules.txt:8: redirect loop: /x (line 8) -> /y (line 9) -> /x",
        ]
    );
    // Not loops: another host, a target with a query that a query rule takes.
    assert!(errors(
        "rules.txt",
        "/a https://other.com/a\n/b /c?v=2\n/c?v=2 /final\n"
    )
    .is_empty());
}

#[test]
fn chains_are_collapsed() {
    let text = "/a /b 302\n/b /c\n/c https://final.example/x\n/d /b\n/lone /z\n";
    let report = run("rules.txt", text, &Options::default());
    assert!(report.errors.is_empty());
    let targets: Vec<_> = report
        .rules
        .iter()
        .map(|r| (r.source.as_str(), r.target.as_str(), r.status.code()))
        .collect();
    assert_eq!(
        targets,
        [
            ("/a", "https://final.example/x", 302),
            ("/b", "https://final.example/x", 301),
            ("/c", "https://final.example/x", 301),
            ("/d", "https://final.example/x", 301),
            ("/lone", "/z", 301),
        ]
    );
    assert_eq!(
        warnings("rules.txt", text),
        [
            "rules.txt:1: warning: chain collapsed: `/a` -> `/b` -> ... now redirects straight to `https://final.example/x`",
            "rules.txt:2: warning: chain collapsed: `/b` -> `/c` -> ... now redirects straight to `https://final.example/x`",
            "rules.txt:4: warning: chain collapsed: `/d` -> `/b` -> ... now redirects straight to `https://final.example/x`",
        ]
    );
}

#[test]
fn every_error_is_reported() {
    let errs = errors("rules.txt", "nope /a\n/b\n/c /d 999\n");
    let lines: Vec<_> = errs
        .iter()
        .map(|e| e.split(':').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(lines, ["1", "2", "3"]);
}

#[test]
fn summary_line() {
    let report = run(
        "r",
        "/a /b\n/c/* /d\nhttps://h.com/e /f\n/g /h\n/g /i\n",
        &Options::default(),
    );
    assert_eq!(
        report.summary(),
        "4 rules (3 exact, 1 prefix, 1 with a host): 1 error(s), 0 warning(s)"
    );
}

#[test]
fn big_files_are_parsed_in_two_halves_with_the_right_line_numbers() {
    let mut text = String::new();
    let mut n = 0;
    while text.len() < PARALLEL_PARSE_BYTES + 1000 {
        n += 1;
        text.push_str(&format!("/page/{n} /target/{n}\n"));
    }
    // Errors near the start, at the middle and at the end.
    let lines: Vec<&str> = text.lines().collect();
    let bad = [3, n / 2, n / 2 + 1, n - 1];
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for &i in &bad {
        edited[i - 1] = format!("/bad/{i} not-a-url");
    }
    let report = run("big.txt", &(edited.join("\n") + "\n"), &Options::default());
    let err_lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(err_lines, bad);
    assert_eq!(report.rules.len(), n - bad.len());
    assert_eq!(report.rules[0].source, "/page/1");
    assert_eq!(report.rules.last().unwrap().source, format!("/page/{n}"));
}

/// Issue 11, item 1: the checks follow a target the way the lookup does
/// (parent `*.` domains, prefix rules, other hosts this table serves).
#[test]
fn loops_and_chains_follow_the_lookup() {
    assert_eq!(
        errors(
            "rules.txt",
            "https://*.example.org/a https://x.example.org/b\nhttps://x.example.org/b https://y.example.org/a\n"
        ),
        ["rules.txt:1: redirect loop: https://*.example.org/a (line 1) -> https://x.example.org/b (line 2) -> https://*.example.org/a"]
    );
    assert_eq!(
        errors("rules.txt", "/a/* /b/:splat\n/b/* /a/:splat\n"),
        ["rules.txt:1: redirect loop: /a/* (line 1) -> /b/* (line 2) -> /a/*"]
    );
    assert_eq!(
        errors("rules.txt", "/old/* /new\n/new /old/x\n"),
        ["rules.txt:1: redirect loop: /old/* (line 1) -> /new (line 2) -> /old/*"]
    );
    // A chain through a prefix rule, and one onto a host that a rule
    // names and back (the end made absolute), are collapsed.
    let text = "/old /docs/intro\n/docs/* /manual/:splat\n/x https://shop.example.com/y\nhttps://shop.example.com/y /z\n";
    let report = run("rules.txt", text, &Options::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let targets: Vec<_> = report.rules.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/manual/intro",
            "/manual/:splat",
            "https://shop.example.com/z",
            "/z"
        ]
    );
    // A target on a host no rule names is another site: not followed.
    assert!(errors("rules.txt", "/a https://elsewhere.example/a\n").is_empty());
}

/// Issue 11, item 2.
#[test]
fn prefix_targets_under_their_own_prefix_are_errors() {
    assert_eq!(
        errors(
            "rules.txt",
            "/docs/* /docs/x/:splat\n/blog/* /blog/archive preserve-suffix\n/* /new/:splat\nhttps://a.com/p/* https://A.com/p/q/:splat\n/s/* /s/search?q=:splat\n"
        ),
        [
            "rules.txt:1: prefix rule `/docs/*` redirects under its own prefix with the rest of the path (`/docs/x/:splat`): every answer matches it again, without end",
            "rules.txt:2: prefix rule `/blog/*` redirects under its own prefix with the rest of the path (`/blog/archive`): every answer matches it again, without end",
            "rules.txt:3: prefix rule `/*` redirects under its own prefix with the rest of the path (`/new/:splat`): every answer matches it again, without end",
            "rules.txt:4: prefix rule `https://a.com/p/*` redirects under its own prefix with the rest of the path (`https://A.com/p/q/:splat`): every answer matches it again, without end",
            "rules.txt:5: prefix rule `/s/*` redirects under its own prefix with the rest of the path (`/s/search?q=:splat`): every answer matches it again, without end",
        ]
    );
    // Beside the prefix, on another site, or without the rest of the path.
    assert!(errors(
        "rules.txt",
        "/docs/* /docs-new/:splat\n/a/* https://other.example/a/:splat\n/loop/* /loop/a\n/b/* /manual/:splat\n"
    )
    .is_empty());
}

/// Issue 11, item 3: a target's own bytes are escaped when compiling.
#[test]
fn targets_are_valid_uris() {
    let report = run(
        "rules.txt",
        "/nt /t/café/x\n/q /s?q=a|b&r=caf%C3%A9\n/p /100%\n",
        &Options::default(),
    );
    let targets: Vec<_> = report.rules.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        ["/t/caf%C3%A9/x", "/s?q=a%7Cb&r=caf%C3%A9", "/100%25"]
    );
    let table =
        redirects_format::Table::from_bytes(build_table(&report, &Options::default())).unwrap();
    let r = table
        .resolve(&redirects_format::Request {
            path: "/nt",
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.location, "/t/caf%C3%A9/x");
}

/// Issue 11, item 4, end to end through the compiler: the splat keeps the
/// request's case in a case-insensitive table.
#[test]
fn case_insensitive_splats_keep_their_case() {
    let opts = Options {
        table: TableOptions {
            case_insensitive: true,
            ..TableOptions::default()
        },
        ..Options::default()
    };
    let report = run("rules.txt", "/Docs/* /manual/:splat\n", &opts);
    let table = redirects_format::Table::from_bytes(build_table(&report, &opts)).unwrap();
    let r = table
        .resolve(&redirects_format::Request {
            path: "/docs/AbC",
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.location, "/manual/AbC");
}

/// Issue 11, item 7: a splat may not choose the host.
#[test]
fn splats_stay_in_the_path_or_query() {
    for target in [
        "https://:splat",
        "https://:splat/x",
        "https://a.com:splat/x",
        "https://:splat@a.com/x",
        "http://x.:splat",
    ] {
        assert_eq!(
            one_error(&format!("/y/* {target}")),
            format!("rules.txt:1: target `{target}` puts `:splat` in its scheme, host, port or userinfo: a request could pick the site it is sent to (open redirect); a splat may stand only in the path or query")
        );
    }
    assert!(errors(
        "rules.txt",
        "/a/* https://a.com/:splat\n/b/* https://a.com?to=:splat\n/c/* /:splat\n"
    )
    .is_empty());
    // And `/:splat` never answers `//host`.
    let report = run("rules.txt", "/x/* /:splat\n", &Options::default());
    let table =
        redirects_format::Table::from_bytes(build_table(&report, &Options::default())).unwrap();
    for path in ["/x/%2F%2Fevil.com", "/x//evil.com", "/x/%5C%5Cevil.com"] {
        let r = table
            .resolve(&redirects_format::Request {
                path,
                ..Default::default()
            })
            .unwrap();
        assert!(!r.location.starts_with("//"), "{path}: {}", r.location);
        assert!(r.location.starts_with('/'), "{path}: {}", r.location);
    }
}

/// Issue 11, item 5: at most 20 lines of each kind on screen, then counts.
#[test]
fn screen_reports_are_capped_by_kind() {
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!("/a{i} /b{i}\n/b{i} /c{i}\n"));
    }
    for i in 0..3 {
        text.push_str(&format!("/a{i} /dup\n"));
    }
    let report = run("rules.txt", &text, &Options::default());
    let shown = report.render(SHOWN_PER_KIND);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3 + 20 + 1, "{shown}");
    assert!(lines[..3].iter().all(|l| l.contains("duplicate source")));
    assert_eq!(
        lines[23],
        "... and 10 more `chain collapsed` warnings (30 in all)"
    );
    assert!(report.is_capped(SHOWN_PER_KIND));
    assert_eq!(report.render_all().lines().count(), 33);
}

#[test]
fn distinct_counts_each_string_once() {
    assert_eq!(
        super::distinct(["/a", "/b", "/a", "", "/b", ""].into_iter()),
        3
    );
    assert_eq!(super::distinct(std::iter::empty()), 0);
    let many: Vec<String> = (0..10_000).map(|i| format!("/t/{}", i % 777)).collect();
    assert_eq!(super::distinct(many.iter().map(String::as_str)), 777);
}
