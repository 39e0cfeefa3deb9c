//! The `redirects-compile` binary: exit codes, messages, and atomic output.

use redirects_format::Request;
use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn compile(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_redirects-compile"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn compiles_and_round_trips() {
    let dir = scratch("ok");
    let rules = dir.join("rules.txt");
    std::fs::write(&rules, "# c\n/a /b\n/c https://x.example/d 302\n").unwrap();
    let out = dir.join("rules.bin");
    let (code, stderr) = compile(&[rules.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("compiled 2 rules (2 distinct targets)"),
        "{stderr}"
    );
    let table = redirects_format::Table::from_bytes(std::fs::read(&out).unwrap()).unwrap();
    let resolve = |path| {
        let r = table
            .resolve(&Request {
                path,
                ..Request::default()
            })
            .unwrap();
        (r.location, r.status.code())
    };
    assert_eq!(resolve("/c"), ("https://x.example/d".to_string(), 302));
    assert_eq!(resolve("/a/"), ("/b".to_string(), 301));
}

#[test]
fn bad_rules_exit_1_and_leave_the_old_output() {
    let dir = scratch("bad");
    let rules = dir.join("bad.txt");
    std::fs::write(&rules, "/a /b\n/a /c\n/x\n").unwrap();
    let out = dir.join("rules.bin");
    std::fs::write(&out, b"previous").unwrap();
    let (code, stderr) = compile(&[rules.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(code, 1);
    let name = rules.display();
    assert_eq!(
        stderr,
        format!(
            "{name}:2: duplicate source `/a` (first defined on line 1)\n{name}:3: rule `/x` has no target\n2 error(s); nothing was written\n"
        )
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        2,
        "a temporary file was left behind"
    );
}

#[test]
fn check_reports_without_writing() {
    let dir = scratch("check");
    let rules = dir.join("_redirects");
    std::fs::write(&rules, "/a /b 301!\n/b /c\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_redirects-compile"))
        .arg("check")
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let name = rules.display();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "{name}:1: warning: `!` (force) is ignored: rules always apply\n\
             {name}:1: warning: chain collapsed: `/a` -> `/b` -> ... now redirects straight to `/c`\n\
             2 rules (2 exact, 0 prefix, 0 with a host): 0 error(s), 2 warning(s)\n"
        )
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "check wrote a file"
    );
    std::fs::write(&rules, "/a /a\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_redirects-compile"))
        .arg("check")
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with(&format!("{name}:1: rule `/a` redirects to itself\n")));
}

#[test]
fn missing_input_and_bad_usage_exit_2() {
    let dir = scratch("usage");
    let out = dir.join("rules.bin");
    let (code, stderr) = compile(&[
        dir.join("nope.txt").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nope.txt: No such file"), "{stderr}");
    assert!(!out.exists());
    let (code, stderr) = compile(&["--default-status".as_ref(), "200".as_ref()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--default-status takes"), "{stderr}");
}

/// Issue 11, item 5: thousands of findings print at most 20 lines per
/// kind; `--report FILE` has every one, with file and line.
#[test]
fn reports_are_capped_on_screen_and_complete_in_the_file() {
    let dir = scratch("report");
    let rules = dir.join("rules.txt");
    let mut text = String::new();
    for i in 0..1000 {
        text.push_str(&format!("/a{i} /b{i}\n/b{i} /c{i}\n"));
    }
    std::fs::write(&rules, text).unwrap();
    let full = dir.join("findings.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_redirects-compile"))
        .arg("check")
        .arg(&rules)
        .arg("--report")
        .arg(&full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
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
    let table = dir.join("rules.bin");
    let full2 = dir.join("build-findings.txt");
    let (code, stderr) = compile(&[
        rules.as_os_str(),
        "-o".as_ref(),
        table.as_os_str(),
        "--report".as_ref(),
        full2.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.lines().count(), 20 + 3, "{stderr}");
    assert_eq!(std::fs::read_to_string(&full2).unwrap(), all);
}
