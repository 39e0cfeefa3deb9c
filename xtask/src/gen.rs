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

/// The rule shapes [`generate_shape`] writes, for measuring a table format
/// on more than one kind of rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// What [`generate`] writes (and `examples/rules.txt` holds): blog,
    /// shop, docs, language, subpath, host and campaign rules whose targets
    /// mostly repeat part of their source; a mix of statuses.
    Mixed,
    /// A site reorganisation: word paths (`/section/topic/some-words`)
    /// moved to targets unrelated to their sources, about one distinct
    /// target per 4 rules; all 301.
    Reorg,
    /// Numeric ids: `/product/123456` → `/p/123456-some-slug`; all 301.
    Numeric,
    /// Query-string sources of old scripts: `/index.php?id=N` → `/page/N`
    /// (and `?p=N`, `viewtopic.php?t=N`, `?option=...&id=N`); 301, some 302.
    Query,
    /// Host-heavy: at least 1,000 hosts (one per 1,000 rules beyond 1M),
    /// a fifth of the rules for `*.host` (every subdomain), targets on the
    /// same site or a relative path; 301, some 302.
    Hosts,
    /// Long slugs of 5-10 words (`/blog/2019/05/how-...`), half of them
    /// kept under a new prefix and half rewritten; all 301.
    Slugs,
}

impl Shape {
    /// Every shape, in the order reports list them.
    pub const ALL: [Shape; 6] = [
        Shape::Mixed,
        Shape::Reorg,
        Shape::Numeric,
        Shape::Query,
        Shape::Hosts,
        Shape::Slugs,
    ];

    /// The name `--shape` takes.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Mixed => "mixed",
            Shape::Reorg => "reorg",
            Shape::Numeric => "numeric",
            Shape::Query => "query",
            Shape::Hosts => "hosts",
            Shape::Slugs => "slugs",
        }
    }

    /// Parses a name from [`Shape::name`].
    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }

    /// One line describing the shape, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Mixed => "today's generator (examples/rules.txt): targets repeat part of the source, mixed statuses",
            Shape::Reorg => "site reorganisation: word paths to unrelated word-path targets, ~1 distinct target per 4 rules",
            Shape::Numeric => "`/product/123456` -> `/p/123456-some-slug`",
            Shape::Query => "`/index.php?id=N` -> `/page/N` and other old scripts' query strings",
            Shape::Hosts => ">= 1,000 hosts, a fifth `https://*.hostN.example/...`, targets on the same site",
            Shape::Slugs => "long slugs of 5-10 words, half kept under a new prefix, half rewritten",
        }
    }
}

/// The vocabulary of the shapes other than [`Shape::Mixed`]: the common
/// words first, then 8,000 made-up words (`kobiter`, `sunaly`, ...), picked
/// by [`Vocab::pick`] with a falling frequency, as words in URLs are.
struct Vocab(Vec<String>);

impl Vocab {
    fn new() -> Vocab {
        const CONSONANTS: &[u8] = b"bcdfghklmnprstvwz";
        const VOWELS: &[u8] = b"aeiou";
        const ENDINGS: &[&str] = &["", "n", "r", "s", "t", "er", "ing", "ly"];
        let syllables: Vec<[u8; 2]> = CONSONANTS
            .iter()
            .flat_map(|&c| VOWELS.iter().map(move |&v| [c, v]))
            .collect();
        let s = syllables.len();
        let space = s * s * ENDINGS.len();
        let mut words: Vec<String> = WORDS
            .iter()
            .chain(CATEGORIES)
            .map(|w| w.to_string())
            .collect();
        let mut seen: HashSet<String> = words.iter().cloned().collect();
        // A prime step visits the whole space in a scattered order.
        let mut i = 0usize;
        while words.len() < 8192 {
            i = (i + 7919) % space;
            let (a, b, e) = (i % s, (i / s) % s, i / (s * s));
            let mut w = String::from_utf8(syllables[a].to_vec()).expect("ASCII");
            w.push_str(std::str::from_utf8(&syllables[b]).expect("ASCII"));
            w.push_str(ENDINGS[e]);
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        Vocab(words)
    }

    /// A word, the first ones the most likely: a scale of 8 · 2^k words
    /// (k uniform), then a word uniform below it.
    fn pick(&self, rng: &mut Rng) -> &str {
        let scale = (8usize << rng.below(11)).min(self.0.len());
        &self.0[rng.below(scale as u64) as usize]
    }

    /// `n` words joined with `-`.
    fn slug(&self, rng: &mut Rng, n: u64) -> String {
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push('-');
            }
            s.push_str(self.pick(rng));
        }
        s
    }
}

/// First path segments of the shapes' sources and of their targets: the two
/// sets are disjoint, so no target is another rule's source (no chains).
const OLD_SECTIONS: &[&str] = &[
    "blog",
    "news",
    "articles",
    "stories",
    "products",
    "catalog",
    "support",
    "help",
    "kb",
    "docs",
    "resources",
    "events",
    "press",
    "about",
    "careers",
    "solutions",
    "industries",
    "customers",
    "partners",
    "community",
];
const NEW_SECTIONS: &[&str] = &[
    "insights",
    "library",
    "learn",
    "shop",
    "store",
    "hub",
    "explore",
    "company",
    "topics",
    "guides",
    "updates",
    "journal",
    "collections",
    "discover",
    "service",
    "info",
];

/// Ids that rise with gaps of 1 to `gap`, as a catalogue's do.
struct Ids {
    next: u64,
    gap: u64,
}

impl Ids {
    fn take(&mut self, rng: &mut Rng) -> u64 {
        self.next += 1 + rng.below(self.gap);
        self.next
    }
}

/// The state of one shape's generator.
struct ShapeGen {
    shape: Shape,
    rng: Rng,
    vocab: Vocab,
    count: usize,
    ids: [Ids; 4],
    hosts: Vec<String>,
}

impl ShapeGen {
    fn new(shape: Shape, count: usize, seed: u64) -> ShapeGen {
        let mut rng = Rng(seed ^ (shape as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let vocab = Vocab::new();
        let hosts = if shape == Shape::Hosts {
            let n = 1000 + count.saturating_sub(1_000_000) / 1000;
            (0..n)
                .map(|i| match rng.below(3) {
                    0 => format!("host{i}.example"),
                    1 => format!("{}{i}.example.com", vocab.pick(&mut rng)),
                    _ => format!(
                        "{}-{}{i}.example.net",
                        vocab.pick(&mut rng),
                        vocab.pick(&mut rng)
                    ),
                })
                .collect()
        } else {
            Vec::new()
        };
        let ids = [
            Ids {
                next: 100_000,
                gap: 8,
            },
            Ids { next: 0, gap: 3 },
            Ids { next: 1000, gap: 5 },
            Ids { next: 0, gap: 2 },
        ];
        ShapeGen {
            shape,
            rng,
            vocab,
            count,
            ids,
            hosts,
        }
    }

    /// The `k`th of the reorganisation's targets: a function of `k` alone,
    /// so rules that draw the same `k` share a target.
    fn reorg_target(&self, k: u64) -> String {
        let mut rng = Rng(k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED);
        let section = rng.pick(NEW_SECTIONS);
        let depth = rng.below(3);
        let mut t = format!("/{section}");
        for _ in 0..depth {
            t.push('/');
            t.push_str(self.vocab.pick(&mut rng));
        }
        let words = 1 + rng.below(4);
        t.push('/');
        t.push_str(&self.vocab.slug(&mut rng, words));
        t
    }

    /// One rule: `(source, target, status)`.
    fn rule(&mut self) -> (String, String, &'static str) {
        let rng = &mut self.rng;
        let v = &self.vocab;
        match self.shape {
            Shape::Mixed => unreachable!("Mixed is generate()"),
            Shape::Reorg => {
                let section = rng.pick(OLD_SECTIONS);
                let mut source = format!("/{section}");
                for _ in 0..rng.below(3) {
                    source.push('/');
                    source.push_str(v.pick(rng));
                }
                let words = 2 + rng.below(4);
                source.push('/');
                source.push_str(&v.slug(rng, words));
                if rng.below(5) == 0 {
                    source.push_str(".html");
                }
                let k = rng.below((self.count as u64 / 4).max(1));
                (source, self.reorg_target(k), "")
            }
            Shape::Numeric => {
                let id = self.ids[0].take(rng);
                let words = 2 + rng.below(4);
                let slug = v.slug(rng, words);
                let (source, target) = match rng.below(10) {
                    0 => (format!("/product.php?id={id}"), format!("/p/{id}-{slug}")),
                    1 => (format!("/products/{id}"), format!("/p/{id}-{slug}")),
                    _ => (format!("/product/{id}"), format!("/p/{id}-{slug}")),
                };
                (source, target, "")
            }
            Shape::Query => {
                let status = if rng.below(10) == 0 { " 302" } else { "" };
                let (source, target) = match rng.below(10) {
                    0..=4 => {
                        let n = self.ids[1].take(rng);
                        (format!("/index.php?id={n}"), format!("/page/{n}"))
                    }
                    5..=6 => {
                        let n = self.ids[2].take(rng);
                        let words = 3 + rng.below(4);
                        (format!("/?p={n}"), format!("/blog/{}", v.slug(rng, words)))
                    }
                    7..=8 => {
                        let n = self.ids[3].take(rng);
                        (
                            format!("/forum/viewtopic.php?t={n}"),
                            format!("/community/t/{n}"),
                        )
                    }
                    _ => {
                        let n = self.ids[1].take(rng);
                        let words = 2 + rng.below(3);
                        (
                            format!("/index.php?option=com_content&view=article&id={n}"),
                            format!("/articles/{n}-{}", v.slug(rng, words)),
                        )
                    }
                };
                (source, target, status)
            }
            Shape::Hosts => {
                let status = if rng.below(10) == 0 { " 302" } else { "" };
                let host = &self.hosts[rng.below(self.hosts.len() as u64) as usize];
                let wildcard = if rng.below(5) == 0 { "*." } else { "" };
                let section = rng.pick(OLD_SECTIONS);
                let words = 1 + rng.below(4);
                let source = format!("https://{wildcard}{host}/{section}/{}", v.slug(rng, words));
                let new = rng.pick(NEW_SECTIONS);
                let words = 1 + rng.below(3);
                let target = if rng.below(2) == 0 {
                    format!("https://www.{host}/{new}/{}", v.slug(rng, words))
                } else {
                    format!("/{new}/{}", v.slug(rng, words))
                };
                (source, target, status)
            }
            Shape::Slugs => {
                let words = 5 + rng.below(6);
                let slug = v.slug(rng, words);
                let source = match rng.below(3) {
                    0 => format!(
                        "/{}/{}/{:02}/{slug}",
                        rng.pick(OLD_SECTIONS),
                        2005 + rng.below(20),
                        1 + rng.below(12)
                    ),
                    _ => format!("/{}/{slug}", rng.pick(OLD_SECTIONS)),
                };
                let new = rng.pick(NEW_SECTIONS);
                let target = if rng.below(2) == 0 {
                    format!("/{new}/{slug}")
                } else {
                    let words = 5 + rng.below(6);
                    format!("/{new}/{}", v.slug(rng, words))
                };
                (source, target, "")
            }
        }
    }
}

/// Writes `count` distinct rules of `shape`. [`Shape::Mixed`] writes
/// exactly what [`generate`] writes; every shape is deterministic in
/// `(count, seed)` and checks with no error (no duplicate, no loop: no
/// target is another rule's source).
pub fn generate_shape(
    shape: Shape,
    count: usize,
    seed: u64,
    out: &mut impl Write,
) -> io::Result<()> {
    if shape == Shape::Mixed {
        return generate(count, seed, out);
    }
    writeln!(
        out,
        "# {count} rules of shape {} generated by `cargo xtask gen-rules {count} --shape {} --seed {seed}`",
        shape.name(),
        shape.name()
    )?;
    writeln!(out, "# source target [status]")?;
    let mut g = ShapeGen::new(shape, count, seed);
    let mut seen: HashSet<String> = HashSet::with_capacity(count);
    while seen.len() < count {
        let (source, target, status) = g.rule();
        // `*.host/x` and `host/x` are the same key to the compiler.
        let key = source.replacen("://*.", "://", 1);
        if seen.insert(key) {
            writeln!(out, "{source} {target}{status}")?;
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

    fn shape_checks(shape: Shape) {
        let mut a = Vec::new();
        let mut b = Vec::new();
        generate_shape(shape, 2000, 7, &mut a).unwrap();
        generate_shape(shape, 2000, 7, &mut b).unwrap();
        assert_eq!(a, b, "{shape:?} is not deterministic");
        let mut other = Vec::new();
        generate_shape(shape, 2000, 8, &mut other).unwrap();
        assert_ne!(a, other, "{shape:?} ignores the seed");
        let report = redirects_compiler::check(
            std::path::Path::new("gen"),
            &a,
            &redirects_compiler::Options::default(),
        );
        assert!(report.errors.is_empty(), "{shape:?}: {:?}", report.errors);
        assert_eq!(report.rules.len(), 2000, "{shape:?}");
    }

    #[test]
    fn shape_mixed() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        generate_shape(Shape::Mixed, 2000, 7, &mut a).unwrap();
        generate(2000, 7, &mut b).unwrap();
        assert_eq!(a, b, "Mixed is generate()");
        shape_checks(Shape::Mixed);
    }

    #[test]
    fn shape_reorg() {
        shape_checks(Shape::Reorg);
    }

    #[test]
    fn shape_numeric() {
        shape_checks(Shape::Numeric);
    }

    #[test]
    fn shape_query() {
        shape_checks(Shape::Query);
    }

    #[test]
    fn shape_hosts() {
        shape_checks(Shape::Hosts);
    }

    #[test]
    fn shape_slugs() {
        shape_checks(Shape::Slugs);
    }

    #[test]
    fn shape_names_round_trip() {
        for shape in Shape::ALL {
            assert_eq!(Shape::from_name(shape.name()), Some(shape));
        }
    }
}
