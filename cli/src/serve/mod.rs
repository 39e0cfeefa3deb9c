//! Serving: what is served ([`Source`]: a rules file, built on the fly, or
//! a built component), the two engines ([`component`], [`native`]), and
//! reloading without downtime ([`watch`]).

pub mod component;
pub mod native;

use crate::artifact;
use anyhow::{bail, Context, Result};
use redirects_compiler::Options;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What `serve` serves.
#[derive(Debug, Clone)]
pub struct Source {
    /// A rules file, a composed component (`*.wasm`) or a precompiled
    /// lookup (`*.cwasm`), told apart by their first bytes.
    pub path: PathBuf,
    /// How to compile rules (ignored for a component).
    pub compile: Options,
}

/// A loaded source: the lookup component, and the composed component when
/// the engine needs it.
pub struct Loaded {
    /// The lookup component (imports nothing).
    pub lookup: Vec<u8>,
    /// The composed component.
    pub composed: Option<Vec<u8>>,
    /// How many rules (for the log line).
    pub rules: Option<usize>,
}

impl Source {
    /// Reads the source: a component as it is (its lookup taken from
    /// inside it), or rules compiled, Wizer-initialised and, when
    /// `composed` is asked for, plugged into the router, all in memory.
    pub fn load(&self, composed: bool) -> Result<Loaded> {
        let bytes = std::fs::read(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))?;
        if crate::lookup::is_precompiled(&bytes) {
            if composed {
                bail!(
                    "{}: a precompiled lookup serves only with --engine native",
                    self.path.display()
                );
            }
            return Ok(Loaded {
                lookup: bytes,
                composed: None,
                rules: None,
            });
        }
        if bytes.starts_with(b"\0asm") {
            let lookup = find_lookup(&bytes)
                .with_context(|| format!("{}: no lookup component inside", self.path.display()))?;
            return Ok(Loaded {
                lookup,
                composed: Some(bytes),
                rules: None,
            });
        }
        let work = std::env::temp_dir().join(format!(
            "redirects-serve-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&work)?;
        let result = (|| {
            let table = work.join(artifact::TABLE_FILE);
            let summary = redirects_compiler::compile(&self.path, &table, &self.compile)
                .map_err(artifact::compile_error)?;
            for w in &summary.warnings {
                eprintln!("{w}");
            }
            let wizened = artifact::wizer(crate::modules::LOOKUP_CORE, &table)?;
            let (lookup, composed) = if composed {
                let parts = artifact::compose(&wizened, crate::modules::ROUTER_CORE)?;
                (parts.lookup, Some(parts.composed))
            } else {
                (artifact::lookup_component(&wizened)?, None)
            };
            Ok(Loaded {
                lookup,
                composed,
                rules: Some(summary.rules),
            })
        })();
        let _ = std::fs::remove_dir_all(&work);
        result
    }
}

/// The lookup component inside a composed component: the nested component
/// that exports [`crate::lookup::INTERFACE`].
pub fn find_lookup(composed: &[u8]) -> Result<Vec<u8>> {
    if wasmparser::Parser::is_component(composed) && exports_lookup(composed) {
        // A lookup component itself.
        return Ok(composed.to_vec());
    }
    let sections = crate::budget::sections(composed)?;
    for (id, contents) in sections {
        if id == 4 && exports_lookup(contents) {
            return Ok(contents.to_vec());
        }
    }
    bail!("no component inside exports {}", crate::lookup::INTERFACE)
}

fn exports_lookup(component: &[u8]) -> bool {
    use wasmparser::{Parser, Payload};
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload {
            Ok(Payload::ModuleSection { .. } | Payload::ComponentSection { .. }) => depth += 1,
            Ok(Payload::End(_)) if depth > 0 => depth -= 1,
            Ok(Payload::ComponentExportSection(exports)) if depth == 0 => {
                if exports
                    .into_iter()
                    .flatten()
                    .any(|e| e.name.name == crate::lookup::INTERFACE)
                {
                    return true;
                }
            }
            Err(_) => return false,
            _ => {}
        }
    }
    false
}

/// What [`watch`] compares to notice a change: the file's modification
/// time and size, or `None` while it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(Option<(Option<SystemTime>, u64)>);

impl Stamp {
    /// The file's stamp now.
    pub fn of(path: &Path) -> Stamp {
        Stamp(
            std::fs::metadata(path)
                .ok()
                .map(|m| (m.modified().ok(), m.len())),
        )
    }
}

/// Watches `path` for changes (modification time and size, polled twice a
/// second) and SIGHUP; calls `reload` for each, on the current tokio
/// runtime. `loaded` is the stamp taken before the running version was
/// read, so that a change made while it loaded is not missed. Runs until
/// the process ends.
pub async fn watch(path: &Path, loaded: Stamp, mut reload: impl FnMut()) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    let mut last = loaded;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                eprintln!("SIGHUP: reloading {}", path.display());
                last = Stamp::of(path);
                reload();
            }
            _ = tick.tick() => {
                let now = Stamp::of(path);
                if now != last && now.0.is_some() {
                    // Let a writer finish: wait until two looks agree.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if Stamp::of(path) != now {
                        continue;
                    }
                    eprintln!("{} changed: reloading", path.display());
                    last = now;
                    reload();
                }
            }
        }
    }
}
