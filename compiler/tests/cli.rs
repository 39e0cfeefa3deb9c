//! The `redirects-compile` binary: exit codes, messages, and atomic output.

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
    let got = table.get(b"/c").unwrap();
    assert_eq!(
        (got.location.as_str(), got.status.code()),
        ("https://x.example/d", 302)
    );
    assert_eq!(table.get(b"/a").unwrap().status.code(), 301);
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
