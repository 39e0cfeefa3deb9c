//! A deterministic generator of realistic redirect rules, for the example
//! rules file, tests and benchmarks: deep shared path prefixes (blog
//! archives by year and month, product categories, versioned docs),
//! targets shared by many sources (category landing pages, campaign
//! pages), absolute-URL targets, non-ASCII and percent-encoded paths,
//! subpath rules (`/legacy/.../*` → `...:splat`), rules for one host, and a
//! mix of status codes. The same `(count, seed)` always gives the same
//! bytes.

use std::collections::HashSet;
use std::io::{self, Write};

/// The seed used for `examples/rules.txt`.
pub const DEFAULT_SEED: u64 = 2026;

/// SplitMix64: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "about", "account", "annual", "archive", "autumn", "basic", "best", "budget", "build",
    "camera", "career", "cloud", "coffee", "compare", "complete", "data", "deal", "design",
    "digital", "edge", "energy", "event", "family", "fast", "garden", "gift", "global", "green",
    "guide", "health", "home", "howto", "ideas", "insight", "kitchen", "launch", "learn", "light",
    "local", "market", "mobile", "modern", "music", "network", "news", "office", "open", "outdoor",
    "partner", "photo", "plan", "power", "premium", "press", "price", "product", "quick", "recipe",
    "report", "review", "road", "secure", "service", "smart", "social", "spring", "start", "story",
    "studio", "summer", "support", "team", "tech", "travel", "trend", "update", "video", "web",
    "winter", "world",
];
const ACCENTED: &[&str] = &[
    "café",
    "über",
    "niño",
    "façade",
    "straße",
    "crème",
    "jalapeño",
    "smörgåsbord",
];
const CATEGORIES: &[&str] = &[
    "shoes", "bags", "jackets", "watches", "lamps", "chairs", "tables", "phones", "laptops",
    "cables", "books", "games", "toys", "tools", "paint", "tents", "bikes", "skis", "boards",
    "kettles",
];
const DOC_SECTIONS: &[&str] = &[
    "install",
    "configure",
    "api",
    "cli",
    "tutorials",
    "reference",
    "faq",
    "migrate",
];
const LANGS: &[&str] = &["de", "fr", "es", "it", "nl", "sv"];

fn slug(rng: &mut Rng) -> String {
    let n = 2 + rng.below(3);
    let mut parts: Vec<String> = (0..n).map(|_| rng.pick(WORDS).to_string()).collect();
    if rng.below(20) == 0 {
        parts.push(rng.pick(ACCENTED).to_string());
    }
    parts.join("-")
}

/// Percent-encodes every non-ASCII byte (as a browser sends it).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn status(rng: &mut Rng) -> &'static str {
    match rng.below(100) {
        0..=69 => "",
        70..=79 => " 302",
        80..=87 => " 308",
        88..=92 => " 307",
        93..=96 => " 301",
        _ => " 303",
    }
}

/// One rule: `(source, target)`.
fn rule(rng: &mut Rng, serial: u64) -> (String, String) {
    match rng.below(10) {
        0..=2 => {
            let (y, m, s) = (2005 + rng.below(20), 1 + rng.below(12), slug(rng));
            let target = if rng.below(4) == 0 {
                format!("https://archive.example.org/{y}/{s}")
            } else {
                format!("/articles/{s}")
            };
            (format!("/blog/{y}/{m:02}/{s}"), target)
        }
        3..=5 => {
            let (cat, s) = (rng.pick(CATEGORIES), slug(rng));
            let target = if rng.below(3) == 0 {
                format!("/shop/{cat}/") // many products -> one landing page
            } else {
                format!("/shop/{cat}/{s}")
            };
            (format!("/products/{cat}/{s}-{serial}.html"), target)
        }
        6..=7 => {
            let (v, sec, s) = (1 + rng.below(4), rng.pick(DOC_SECTIONS), slug(rng));
            let target = if rng.below(2) == 0 {
                format!("https://docs.example.com/{sec}/{s}")
            } else {
                format!("/manual/{sec}/{s}")
            };
            (format!("/docs/v{v}/{sec}/{s}"), target)
        }
        8 => {
            let (lang, s) = (rng.pick(LANGS), slug(rng));
            let source = format!("/{lang}/{}/{s}", rng.pick(ACCENTED));
            let source = if rng.below(2) == 0 {
                encode(&source)
            } else {
                source
            };
            (source, format!("/{lang}/pages/{s}"))
        }
        9 if rng.below(3) == 0 => {
            // Subpath rules: a whole old section moves, the rest of the path kept.
            let (sec, s) = (rng.pick(DOC_SECTIONS), rng.pick(WORDS));
            (
                format!("/legacy/{s}-{serial}/{sec}/*"),
                format!("https://archive.example.org/{s}/{sec}/:splat"),
            )
        }
        9 if rng.below(2) == 0 => {
            // Host rules: country sites folded into one.
            let (lang, s) = (rng.pick(LANGS), slug(rng));
            (
                format!("https://{lang}.example.com/{s}"),
                format!("/{lang}/{s}"),
            )
        }
        _ => {
            let campaign = rng.pick(WORDS);
            (
                format!("/promo/{campaign}/{serial}"),
                format!("https://shop.example.com/sale/{campaign}?utm_source=redirect"),
            )
        }
    }
}

/// Writes `count` distinct rules in the text format.
pub fn generate(count: usize, seed: u64, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "# {count} rules generated by `cargo xtask gen-rules {count} --seed {seed}`"
    )?;
    writeln!(out, "# source target [status]")?;
    let mut rng = Rng(seed);
    let mut seen = HashSet::with_capacity(count);
    let mut serial = 0u64;
    while seen.len() < count {
        serial += 1;
        let (source, target) = rule(&mut rng, serial);
        // Distinct after decoding, as the compiler compares sources.
        let key = redirects_format::percent_decode(&source).expect("generated sources are valid");
        if seen.insert(key) {
            writeln!(out, "{source} {target}{}", status(&mut rng))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        generate(2000, 7, &mut a).unwrap();
        generate(2000, 7, &mut b).unwrap();
        assert_eq!(a, b);
        let report = redirects_compiler::check(
            std::path::Path::new("gen"),
            &a,
            &redirects_compiler::Options::default(),
        );
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.rules.len(), 2000);
    }

    #[test]
    fn committed_example_matches_generator() {
        let committed = std::fs::read(crate::example_rules()).unwrap();
        let mut fresh = Vec::new();
        generate(crate::EXAMPLE_RULE_COUNT, DEFAULT_SEED, &mut fresh).unwrap();
        assert!(
            committed == fresh,
            "examples/rules.txt is stale: run `cargo xtask gen-rules {} -o examples/rules.txt`",
            crate::EXAMPLE_RULE_COUNT
        );
    }
}
