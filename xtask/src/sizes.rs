//! `./x sizes`: the table's size per rule for each generated rule shape
//! ([`crate::gen::Shape`]) and size, beside what general-purpose
//! compressors make of the same rules (`xz -9`, `zstd -19` of the sorted
//! rules file), and optionally the composed artifact's size. Writes the
//! "Sizes by rule shape" section of BENCHMARKS.md.
//!
//! It reports; it judges nothing: the 10 B/rule target of issue 12 is named
//! in the report, not enforced.

use crate::gen::Shape;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `./x sizes` measures.
#[derive(Debug, Clone)]
pub struct SizesOptions {
    /// Rule counts (default 1M and 5M).
    pub rules: Vec<usize>,
    /// Shapes (default all).
    pub shapes: Vec<Shape>,
    /// Also build the composed artifact (`redirects::artifact::build`).
    pub artifact: bool,
    /// The generator's seed.
    pub seed: u64,
    /// Run the compressors only on rule sets of at most this many rules
    /// (all when `None`).
    pub compress_up_to: Option<usize>,
}

impl Default for SizesOptions {
    fn default() -> Self {
        SizesOptions {
            rules: vec![1_000_000, 5_000_000],
            shapes: Shape::ALL.to_vec(),
            artifact: false,
            seed: crate::gen::DEFAULT_SEED,
            compress_up_to: None,
        }
    }
}

/// The B/rule target of issue 12 (5M rules of any shape).
pub const TARGET_BYTES_PER_RULE: f64 = 10.0;

/// One shape and size measured.
#[derive(Debug, Clone)]
pub struct Row {
    /// The shape.
    pub shape: Shape,
    /// Rules in the table.
    pub rules: usize,
    /// Distinct targets.
    pub targets: usize,
    /// The rules file's size.
    pub text_bytes: u64,
    /// The table file's size.
    pub table_bytes: u64,
    /// `xz -9` of the sorted rules, if xz ran.
    pub xz_bytes: Option<u64>,
    /// `zstd -19` of the sorted rules, if zstd is installed.
    pub zstd_bytes: Option<u64>,
    /// The composed artifact's size and initial memory, with `--artifact`.
    pub artifact: Option<(u64, u64)>,
    /// How long compiling (or the whole artifact build) took.
    pub build_time: Duration,
}

impl Row {
    fn per_rule(&self, bytes: u64) -> f64 {
        bytes as f64 / self.rules as f64
    }
}

/// The compressor pipeline for `rules` (comment lines dropped, sorted
/// bytewise), its output counted.
fn compressor_pipeline(rules: &Path, compressor: &str) -> String {
    format!(
        "grep -v '^#' '{}' | LC_ALL=C sort -S 1G | {compressor} | wc -c",
        rules.display()
    )
}

fn spawn_compressor(rules: &Path, compressor: &str) -> Result<Child> {
    Command::new("sh")
        .arg("-c")
        .arg(compressor_pipeline(rules, compressor))
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {compressor}"))
}

fn wait_count(child: Child, what: &str) -> Result<u64> {
    let out = child.wait_with_output()?;
    anyhow::ensure!(out.status.success(), "{what} failed ({})", out.status);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| format!("{what}: no byte count"))
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Measures one shape and size in `dir`.
fn measure(dir: &Path, shape: Shape, n: usize, opts: &SizesOptions) -> Result<Row> {
    let rules_file = dir.join(format!("{}-{n}.txt", shape.name()));
    let mut text = Vec::new();
    crate::gen::generate_shape(shape, n, opts.seed, &mut text)?;
    std::fs::write(&rules_file, &text)?;
    let text_bytes = text.len() as u64;
    drop(text);
    // The compressors run beside the build (two cores): their sizes do
    // not depend on timing, and the build time is reported only as a guide.
    let compress = opts.compress_up_to.is_none_or(|max| n <= max);
    let xz = if !compress {
        None
    } else if have("xz") {
        Some(spawn_compressor(&rules_file, "xz -9 -T1")?)
    } else {
        eprintln!("sizes: xz not found (apt-get install xz-utils): no xz column");
        None
    };
    let zstd = if compress && have("zstd") {
        Some(spawn_compressor(&rules_file, "zstd -19 -T1 -q -c")?)
    } else {
        None
    };
    let t = Instant::now();
    let (summary, artifact) = if opts.artifact {
        let out = dir.join(format!("{}-{n}.wasm", shape.name()));
        let mut build = redirects::artifact::BuildOptions::new(rules_file.clone(), out.clone());
        build.budget_check = false;
        build.publish_parts = false;
        let report = redirects::artifact::build(&build, &|_| {})
            .with_context(|| format!("building the artifact for {} {n}", shape.name()))?;
        let _ = std::fs::remove_file(&out);
        (
            report.summary,
            Some((report.usage.app_bytes, report.usage.memory_bytes)),
        )
    } else {
        let table = dir.join(format!("{}-{n}.table", shape.name()));
        let summary = redirects_compiler::compile(
            &rules_file,
            &table,
            &redirects_compiler::Options::default(),
        )
        .map_err(|e| anyhow::anyhow!("compiling {} {n}: {e}", shape.name()))?;
        let _ = std::fs::remove_file(&table);
        (summary, None)
    };
    let build_time = t.elapsed();
    anyhow::ensure!(
        summary.rules == n,
        "{} {n}: the table holds {} rules",
        shape.name(),
        summary.rules
    );
    let xz_bytes = xz.map(|c| wait_count(c, "xz")).transpose()?;
    let zstd_bytes = zstd.map(|c| wait_count(c, "zstd")).transpose()?;
    let _ = std::fs::remove_file(&rules_file);
    Ok(Row {
        shape,
        rules: summary.rules,
        targets: summary.targets,
        text_bytes,
        table_bytes: summary.bytes as u64,
        xz_bytes,
        zstd_bytes,
        artifact,
        build_time,
    })
}

/// Measures every shape and size, one after another, and returns the
/// BENCHMARKS.md section.
pub fn sizes(opts: &SizesOptions) -> Result<String> {
    let dir = crate::target_dir().join("sizes");
    std::fs::create_dir_all(&dir)?;
    let mut rows = Vec::new();
    // Every shape at the first size before any at the next: a run cut
    // short still has the small sizes of every shape in BENCHMARKS.md,
    // which is rewritten after each row.
    for &n in &opts.rules {
        for &shape in &opts.shapes {
            eprintln!("sizes: {} {n} ...", shape.name());
            let row = measure(&dir, shape, n, opts)?;
            eprintln!(
                "sizes: {} {n}: table {} bytes, {:.2} B/rule, xz {}, zstd {} ({:.1?})",
                shape.name(),
                row.table_bytes,
                row.per_rule(row.table_bytes),
                opt_per_rule(&row, row.xz_bytes),
                opt_per_rule(&row, row.zstd_bytes),
                row.build_time
            );
            rows.push(row);
            crate::write_benchmarks_section(&render(opts, &rows))?;
        }
    }
    Ok(render(opts, &rows))
}

/// Issue 12's build time target, seconds per million rules (warm).
const TARGET_BUILD_SECS_PER_MILLION: f64 = 5.0;

fn opt_per_rule(row: &Row, bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |b| format!("{:.2}", row.per_rule(b)))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

/// The command line that reproduces `opts`.
pub fn command_line(opts: &SizesOptions) -> String {
    let mut cmd = String::from("./x sizes");
    let defaults = SizesOptions::default();
    if opts.rules != defaults.rules {
        let list: Vec<String> = opts.rules.iter().map(|n| n.to_string()).collect();
        write!(cmd, " --rules {}", list.join(",")).unwrap();
    }
    if opts.shapes != defaults.shapes {
        let list: Vec<&str> = opts.shapes.iter().map(|s| s.name()).collect();
        write!(cmd, " --shapes {}", list.join(",")).unwrap();
    }
    if opts.seed != defaults.seed {
        write!(cmd, " --seed {}", opts.seed).unwrap();
    }
    if opts.artifact {
        cmd.push_str(" --artifact");
    }
    if let Some(n) = opts.compress_up_to {
        write!(cmd, " --compress-up-to {n}").unwrap();
    }
    cmd
}

fn render(opts: &SizesOptions, rows: &[Row]) -> String {
    let date = crate::tools::output(Command::new("date").args(["-u", "+%Y-%m-%d"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut s = String::from("## Sizes by rule shape\n\n");
    writeln!(
        s,
        "Run on {date} at commit {}: `{}`. Table format v{} (`redirects_compiler::compile`, default options); \
         the compressors take the same rules file without its comment lines, sorted: \
         `grep -v '^#' rules.txt | LC_ALL=C sort | xz -9 -T1 | wc -c` (and `zstd -19 -T1`). \
         The rules come from `./x gen-rules N --shape S` (seed {}).\n",
        crate::commit(),
        command_line(opts),
        redirects_format::VERSION,
        opts.seed,
    )
    .unwrap();
    let planned = opts.rules.len() * opts.shapes.len();
    if rows.len() < planned {
        writeln!(
            s,
            "**Partial:** {} of the {planned} shape and size pairs measured so far.\n",
            rows.len()
        )
        .unwrap();
    }
    s.push_str("Shapes:\n\n");
    for shape in &opts.shapes {
        writeln!(s, "- `{}`: {}", shape.name(), shape.describe()).unwrap();
    }
    s.push('\n');
    let artifact = rows.iter().any(|r| r.artifact.is_some());
    s.push_str("| shape | rules | distinct targets | rules file B/rule | table bytes | table B/rule | xz -9 B/rule | zstd -19 B/rule |");
    if artifact {
        s.push_str(" composed artifact | initial memory |");
    }
    s.push_str(" build s | s per 1M rules |");
    s.push_str("\n|---|---:|---:|---:|---:|---:|---:|---:|");
    if artifact {
        s.push_str("---:|---:|");
    }
    s.push_str("---:|---:|");
    s.push('\n');
    for r in rows {
        write!(
            s,
            "| {} | {} | {} | {:.1} | {} | **{:.2}** | {} | {} |",
            r.shape.name(),
            r.rules,
            r.targets,
            r.per_rule(r.text_bytes),
            r.table_bytes,
            r.per_rule(r.table_bytes),
            opt_per_rule(r, r.xz_bytes),
            opt_per_rule(r, r.zstd_bytes),
        )
        .unwrap();
        if artifact {
            match r.artifact {
                Some((app, memory)) => {
                    write!(s, " {:.1} MiB | {:.1} MiB |", mib(app), mib(memory)).unwrap()
                }
                None => s.push_str(" - | - |"),
            }
        }
        let took = r.build_time.as_secs_f64();
        write!(
            s,
            " {took:.2} | {:.2} |",
            took * 1e6 / r.rules.max(1) as f64
        )
        .unwrap();
        s.push('\n');
    }
    s.push('\n');
    writeln!(
        s,
        "Build: {}, timed in this process with the rules file just written (warm){}. \
         Issue 12 asks for at most {TARGET_BUILD_SECS_PER_MILLION} s per 1M rules.\n",
        if artifact {
            "the whole `redirects::artifact::build` (what `redirects build` runs)"
        } else {
            "the rules compiler alone (`redirects_compiler::compile`)"
        },
        if rows.iter().any(|r| r.xz_bytes.is_some() || r.zstd_bytes.is_some()) {
            "; where a compressor column has a figure, xz and zstd ran beside the build on the other core, \
             so read that row's time as a guide only"
        } else {
            ", no compressor running"
        },
    )
    .unwrap();
    if artifact {
        s.push_str(
            "The composed artifact (`redirects::artifact::build`, budget check off) adds the lookup and router \
             code to the table; Akamai Functions allows 50 MiB per app and 128 MiB of memory.\n\n",
        );
    }
    let largest = rows.iter().map(|r| r.rules).max().unwrap_or(0);
    let over: Vec<String> = rows
        .iter()
        .filter(|r| r.rules == largest && r.per_rule(r.table_bytes) > TARGET_BYTES_PER_RULE)
        .map(|r| format!("`{}` ({:.2})", r.shape.name(), r.per_rule(r.table_bytes)))
        .collect();
    if largest > 0 {
        if over.is_empty() {
            writeln!(
                s,
                "At {largest} rules every shape is within issue 12's target of {TARGET_BYTES_PER_RULE} B/rule."
            )
            .unwrap();
        } else {
            writeln!(
                s,
                "Over issue 12's target of {TARGET_BYTES_PER_RULE} B/rule at {largest} rules: {}.",
                over.join(", ")
            )
            .unwrap();
        }
    }
    s
}

/// Parses `--shapes a,b` (or `all`).
pub fn parse_shapes(list: &str) -> Result<Vec<Shape>> {
    if list == "all" {
        return Ok(Shape::ALL.to_vec());
    }
    list.split(',')
        .map(|name| {
            Shape::from_name(name.trim()).with_context(|| {
                let names: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
                format!("unknown shape `{name}` (one of {})", names.join(", "))
            })
        })
        .collect()
}

/// Parses `--rules 1000000,5000000`.
pub fn parse_counts(list: &str) -> Result<Vec<usize>> {
    list.split(',')
        .map(|n| {
            n.trim()
                .replace('_', "")
                .parse()
                .with_context(|| format!("--rules takes numbers, not `{n}`"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        assert_eq!(parse_counts("1000,5_000").unwrap(), vec![1000, 5000]);
        assert_eq!(
            parse_shapes("reorg,hosts").unwrap(),
            vec![Shape::Reorg, Shape::Hosts]
        );
        assert_eq!(parse_shapes("all").unwrap(), Shape::ALL.to_vec());
        assert!(parse_shapes("nope").is_err());
    }

    #[test]
    fn measures_a_small_table() {
        let dir = crate::target_dir().join("sizes-test");
        std::fs::create_dir_all(&dir).unwrap();
        let opts = SizesOptions {
            rules: vec![500],
            shapes: vec![Shape::Numeric],
            ..SizesOptions::default()
        };
        let row = measure(&dir, Shape::Numeric, 500, &opts).unwrap();
        assert_eq!(row.rules, 500);
        assert!(row.table_bytes > 0);
        let section = render(&opts, &[row]);
        assert!(section.starts_with("## Sizes by rule shape\n"));
        assert!(section.contains("| numeric | 500 |"));
        assert!(section.contains("./x sizes --rules 500 --shapes numeric"));
    }
}
