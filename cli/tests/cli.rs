//! The `redirects` binary: exit codes, messages and atomic output of every
//! subcommand on good and bad input. (Serving over HTTP is tested end to
//! end in `xtask/tests/e2e.rs`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn redirects(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redirects"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes `rules.txt` with `rules` into `dir` and builds `app.wasm` from
/// it; returns both paths.
fn build_app(dir: &Path, rules: &str) -> (PathBuf, PathBuf) {
    let (file, app) = (dir.join("rules.txt"), dir.join("app.wasm"));
    std::fs::write(&file, rules).unwrap();
    let out = redirects(&[
        "build".as_ref(),
        file.as_os_str(),
        "-o".as_ref(),
        app.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    (file, app)
}

/// `redirects check-urls URLS --app APP` with `more` arguments.
fn check_urls(urls: &Path, app: &Path, more: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "check-urls".as_ref(),
        urls.as_os_str(),
        "--app".as_ref(),
        app.as_os_str(),
    ];
    args.extend(more.iter().map(|a| std::ffi::OsStr::new(*a)));
    redirects(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn builds_and_answers_urls() {
    let dir = scratch("ok");
    let rules = dir.join("rules.txt");
    std::fs::write(&rules, "# c\n/a /b\n/c https://x.example/d 302\n").unwrap();
    let app = dir.join("app.wasm");
    let out = redirects(&[
        "build".as_ref(),
        rules.as_os_str(),
        "-o".as_ref(),
        app.as_os_str(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("built 2 rules (2 distinct targets)"),
        "{stderr}"
    );
    assert_eq!(
        files(&dir),
        ["app.wasm", "lookup.wasm", "router.wasm", "rules.txt"]
    );
    let urls = dir.join("urls.txt");
    std::fs::write(&urls, "/a/\nhttps://any.example/c?x=1\n# comment\n/none\n").unwrap();
    let out = check_urls(&urls, &app, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "301\t/b\t/a/\n302\thttps://x.example/d\thttps://any.example/c?x=1\n404\t-\t/none\n"
    );
    assert_eq!(
        text(&out.stderr),
        "3 URLs: 2 redirect, 1 have no rule (404)\n"
    );
    // The lookup component alone answers the same.
    let out = check_urls(&urls, &dir.join("lookup.wasm"), &["--fail-on-404"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("301\t/b\t/a/\n"));
}

#[test]
fn bad_rules_exit_1_and_leave_the_old_output() {
    let dir = scratch("bad");
    let rules = dir.join("bad.txt");
    std::fs::write(&rules, "/a /b\n/a /c\n/x\n").unwrap();
    let app = dir.join("app.wasm");
    std::fs::write(&app, b"previous").unwrap();
    let out = redirects(&[
        "build".as_ref(),
        rules.as_os_str(),
        "-o".as_ref(),
        app.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let name = rules.display();
    assert_eq!(
        text(&out.stderr),
        format!(
            "{name}:2: duplicate source `/a` (first defined on line 1)\n{name}:3: rule `/x` has no target\n2 error(s); nothing was written\n"
        )
    );
    assert_eq!(std::fs::read(&app).unwrap(), b"previous");
    assert_eq!(
        files(&dir),
        ["app.wasm", "bad.txt"],
        "something was left behind"
    );
    // serve refuses the same rules before listening.
    let out = redirects(&[
        "serve".as_ref(),
        rules.as_os_str(),
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&format!("{name}:2: duplicate source")));
}

/// Keys of over 128 symbols sharing fewer than 128 with the key before:
/// `check` loads the table as the lookup does, so it passes exactly when
/// `build` can snapshot it, and the built lookup answers its rules.
/// (Before 56e2e53 such rules passed `check` and trapped in `build`.)
#[test]
fn check_and_build_agree_on_long_keys() {
    let dir = scratch("long-keys");
    let x = |n: usize| "/x".repeat(n);
    let mut rules = String::new();
    for i in 0..80 {
        rules.push_str(&format!("{}/q/{i}{} /other/{i}\n", x(50), x(70)));
    }
    for i in 0..10 {
        rules.push_str(&format!("{}/{i} /new/{i}\n", x(70 + i)));
    }
    let file = dir.join("rules.txt");
    std::fs::write(&file, &rules).unwrap();
    let out = redirects(&["check".as_ref(), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (_, app) = build_app(&dir, &rules);
    let urls = dir.join("urls.txt");
    std::fs::write(&urls, format!("{}/q/7{}\n{}/1\n", x(50), x(70), x(71))).unwrap();
    let out = check_urls(&urls, &app, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answers: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| l.split('\t').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(answers, ["301 /other/7", "301 /new/1"]);
}

#[test]
fn check_reports_without_writing() {
    let dir = scratch("check");
    let rules = dir.join("_redirects");
    std::fs::write(&rules, "/a /b 301!\n/b /c\n").unwrap();
    let out = redirects(&["check".as_ref(), rules.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    let name = rules.display();
    assert_eq!(
        text(&out.stdout),
        format!(
            "{name}:1: warning: `!` (force) is ignored: rules always apply\n\
             {name}:1: warning: chain collapsed: `/a` -> `/b` -> ... now redirects straight to `/c`\n\
             2 rules (2 exact, 0 prefix, 0 with a host): 0 error(s), 2 warning(s)\n"
        )
    );
    assert_eq!(files(&dir), ["_redirects"], "check wrote a file");
    std::fs::write(&rules, "/a /a\n").unwrap();
    let out = redirects(&["check".as_ref(), rules.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with(&format!("{name}:1: rule `/a` redirects to itself\n")));
}

#[test]
fn missing_input_and_bad_usage_exit_2_and_write_nothing() {
    let dir = scratch("usage");
    let app = dir.join("app.wasm");
    let nope = dir.join("nope.txt");
    for sub in ["check", "build", "serve"] {
        let out = redirects(
            &[
                sub.as_ref(),
                nope.as_os_str(),
                "-o".as_ref(),
                app.as_os_str(),
            ]
            .into_iter()
            .filter(|a| sub == "build" || (*a != "-o" && *a != app.as_os_str()))
            .collect::<Vec<_>>(),
        );
        assert_eq!(out.status.code(), Some(2), "{sub}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("nope.txt") && stderr.contains("No such file"),
            "{sub}: {stderr}"
        );
    }
    let out = check_urls(&nope, &app, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("app.wasm"),
        "{}",
        text(&out.stderr)
    );
    for bad in [
        &["build", "x.txt", "--default-status", "200"][..],
        &["serve", "--addr", "nowhere"],
        &["serve", "--engine", "fastest"],
        &["frobnicate"],
    ] {
        let args: Vec<&std::ffi::OsStr> = bad.iter().map(|a| a.as_ref()).collect();
        let out = redirects(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(text(&out.stderr).contains("error"), "{bad:?}");
    }
    assert_eq!(files(&dir), Vec::<String>::new());
}

#[test]
fn check_urls_names_the_line_of_a_bad_url() {
    let dir = scratch("urls");
    let (rules, app) = build_app(&dir, "/a /b\n");
    let urls = dir.join("urls.txt");
    std::fs::write(&urls, "/a\nnot a url\n").unwrap();
    let out = check_urls(&urls, &app, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("{}:2: `not a url`", urls.display())),
        "{}",
        text(&out.stderr)
    );
    // A file that is not a redirects component.
    let out = check_urls(&urls, &rules, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a redirects component"));
}

/// Issue 11, item 5: thousands of findings print at most 20 lines per
/// kind; `--report FILE` has every one, with file and line.
#[test]
fn reports_are_capped_on_screen_and_complete_in_the_file() {
    let dir = scratch("report");
    let rules = dir.join("rules.txt");
    let mut rules_text = String::new();
    for i in 0..1000 {
        rules_text.push_str(&format!("/a{i} /b{i}\n/b{i} /c{i}\n"));
    }
    std::fs::write(&rules, rules_text).unwrap();
    let full = dir.join("findings.txt");
    let out = redirects(&[
        "check".as_ref(),
        rules.as_os_str(),
        "--report".as_ref(),
        full.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 20 + 3, "{stdout}");
    assert_eq!(
        lines[20],
        "... and 980 more `chain collapsed` warnings (1000 in all)"
    );
    assert_eq!(lines[21], format!("every finding is in {}", full.display()));
    let all = std::fs::read_to_string(&full).unwrap();
    assert_eq!(all.lines().count(), 1000);
    let name = rules.display();
    assert!(all.starts_with(&format!(
        "{name}:1: warning: chain collapsed: `/a0` -> `/b0` -> ... now redirects straight to `/c0`\n"
    )));
    assert!(all.contains(&format!("{name}:1999: warning: chain collapsed")));

    // Building: warnings capped the same way on stderr, file complete.
    let app = dir.join("app.wasm");
    let full2 = dir.join("build-findings.txt");
    let out = redirects(&[
        "build".as_ref(),
        rules.as_os_str(),
        "-o".as_ref(),
        app.as_os_str(),
        "--report".as_ref(),
        full2.as_os_str(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.lines().count(), 20 + 3, "{stderr}");
    assert_eq!(std::fs::read_to_string(&full2).unwrap(), all);
}

#[test]
fn precompiled_lookups_serve_only_natively() {
    let dir = scratch("precompile");
    let (rules, app) = build_app(&dir, "/a /b\n");
    let out = redirects(&["precompile".as_ref(), app.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cwasm = dir.join("app.cwasm");
    assert!(std::fs::read(&cwasm).unwrap().starts_with(b"\x7fELF"));
    let out = redirects(&[
        "serve".as_ref(),
        cwasm.as_os_str(),
        "--engine".as_ref(),
        "component".as_ref(),
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("serves only with --engine native"),
        "{}",
        text(&out.stderr)
    );
    // Not a redirects file at all.
    let out = redirects(&["precompile".as_ref(), rules.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("rules.cwasm").exists());
}
