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
