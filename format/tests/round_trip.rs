//! Every rule written by `TableBuilder` reads back from `Table` with its
//! target and status, and every exact rule resolves (through
//! `Table::resolve`, the request-time path) to its target, status and flags,
//! across the things format v3 encodes: dictionary
//! words, digits, bytes that the dictionary uses as codes, hosts, queries,
//! targets that repeat part of their path and targets that do not.

use redirects_format::raw::{exact_key, prefix_key};
use redirects_format::{Flags, Request, Status, Table, TableBuilder, TableOptions};
use std::collections::HashSet;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "blog", "products", "shoes", "2019", "html", "docs", "guide", "x",
];
const HOSTS: &[&str] = &["", "", "", "example.com", "shop.example.com"];

/// A path of one to `most` segments made by `segment`.
fn random_path(rng: &mut Rng, most: usize, segment: fn(&mut Rng) -> Vec<u8>) -> Vec<u8> {
    let mut path = Vec::new();
    for _ in 0..1 + rng.below(most) {
        path.push(b'/');
        path.extend(segment(rng));
    }
    path
}

fn segment(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 | 1 => WORDS[rng.below(WORDS.len())].as_bytes().to_vec(),
        2 => (0..1 + rng.below(8))
            .map(|_| b'0' + rng.below(10) as u8)
            .collect(),
        3 => format!("{}-{}", WORDS[rng.below(WORDS.len())], rng.below(1000)).into_bytes(),
        // Control and high bytes (decoded escapes), leaving other byte
        // values free for the dictionary's codes.
        _ => (0..1 + rng.below(4))
            .map(|_| match rng.below(2) {
                0 => 1 + rng.below(8) as u8,
                _ => 0x80 + rng.below(0x40) as u8,
            })
            .collect(),
    }
}

/// A request path for the raw path bytes.
fn escape(path: &[u8]) -> String {
    path.iter()
        .map(|&b| {
            if b.is_ascii_graphic() && b != b'%' && b != b'?' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn every_rule_reads_back() {
    for options in [
        TableOptions::default(),
        TableOptions {
            case_insensitive: true,
            strict_trailing_slash: true,
        },
    ] {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut builder = TableBuilder::new(options);
        let mut rules = Vec::new();
        let mut seen = HashSet::new();
        for i in 0..20_000 {
            let path = random_path(&mut rng, 4, segment);
            let host = HOSTS[rng.below(HOSTS.len())];
            let text = String::from_utf8_lossy(&path).into_owned();
            let target = match rng.below(4) {
                // Repeats part of the path (when the path is text).
                0 | 1 => {
                    let mut half = text.len() / 2;
                    while !text.is_char_boundary(half) {
                        half += 1;
                    }
                    format!("/new{}", &text[half..])
                }
                2 => format!("https://t.example/{}", rng.below(100_000)),
                _ => format!("/same/{}", i % 7),
            };
            let status = Status::ALL[rng.below(Status::ALL.len())];
            let flags = Flags {
                preserve_query: rng.below(2) == 0,
                preserve_suffix: false,
                include_subdomains: !host.is_empty() && rng.below(2) == 0,
            };
            let (key, request) = match rng.below(6) {
                0 => (prefix_key(host, &path), None),
                1 => (exact_key(host, &path, Some("q=1&x")), Some(Some("q=1&x"))),
                _ => (exact_key(host, &path, None), Some(None)),
            };
            if seen.insert(key.clone()) {
                builder.insert(key.clone(), target.clone(), status, flags);
                let request = request.map(|query| (host, escape(&path), query));
                rules.push((key, target, status, flags, request));
            }
        }
        let table = Table::from_bytes(builder.finish().unwrap()).unwrap();
        assert_eq!(table.len(), rules.len());
        assert!(table.dictionary_len() > 0, "the dictionary was used");
        assert!(table.template_count() < rules.len(), "targets were shared");
        for (key, target, status, flags, request) in &rules {
            let got = table.get(key).unwrap_or_else(|| panic!("missing {key:?}"));
            assert_eq!((&got.location, got.status), (target, *status), "{key:?}");
            let Some((host, path, query)) = request else {
                continue;
            };
            let req = Request {
                host: Some(host).filter(|h| !h.is_empty()).copied(),
                path,
                query: *query,
            };
            let want = match query {
                Some(q) if flags.preserve_query => format!("{target}?{q}"),
                _ => target.clone(),
            };
            let r = table
                .resolve(&req)
                .unwrap_or_else(|| panic!("{key:?} does not resolve"));
            assert_eq!((r.location, r.status), (want, *status), "{key:?}");
            let m = table.find(&req).unwrap();
            assert_eq!((&m.key, m.flags), (key, *flags), "{key:?}");
        }
        // Keys that were not inserted are not found, whatever byte they
        // add (every byte value, so the codes and the escape byte too).
        for (key, ..) in rules.iter().take(300) {
            for b in 1..=255u8 {
                let mut other = key.clone();
                other.push(b);
                if !seen.contains(&other) {
                    assert_eq!(table.get(&other), None, "{other:?}");
                }
            }
        }
    }
}

/// A table read back by the process that wrote it (`Table::from_written`,
/// which skips checking every key) answers every request as the same
/// bytes read with `Table::from_bytes` do, prefix rules included (their
/// filter is built from the keys given instead of the decoded ones).
#[test]
fn a_table_read_back_by_its_writer_answers_as_from_bytes() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for i in 0..6_000 {
        let path = random_path(&mut rng, 3, |rng| {
            format!("{}{}", WORDS[rng.below(WORDS.len())], rng.below(50)).into_bytes()
        });
        let host = HOSTS[rng.below(HOSTS.len())];
        let key = if i % 3 == 0 {
            prefix_key(host, &path)
        } else {
            exact_key(host, &path, None)
        };
        if seen.insert(key.clone()) {
            let target = format!("/to/{}", rng.below(500));
            entries.push((key, target, host, path));
        }
    }
    let built: Vec<_> = entries
        .iter()
        .map(|(k, t, ..)| (k.as_slice(), t.as_str(), Status::Found, Flags::default()))
        .collect();
    let bytes = TableBuilder::build(TableOptions::default(), &built).unwrap();
    let checked = Table::from_bytes(bytes.clone()).unwrap();
    let written = Table::from_written(bytes, entries.iter().map(|e| e.0.as_slice())).unwrap();
    let (mut asked, mut by_prefix) = (0, 0);
    for (key, _, host, path) in &entries {
        let path = String::from_utf8(path.clone()).unwrap();
        for path in [path.clone(), format!("{path}/under/it"), format!("{path}x")] {
            let req = Request {
                host: Some(*host).filter(|h| !h.is_empty()),
                path: &path,
                query: None,
            };
            let want = checked.resolve(&req);
            assert_eq!(written.resolve(&req), want, "{path}");
            asked += 1;
            by_prefix += usize::from(
                key[0] == redirects_format::raw::PREFIX && want.is_some() && path.ends_with("/it"),
            );
        }
    }
    assert!(
        asked > 15_000 && by_prefix > 1_000,
        "{asked} asked, {by_prefix} by prefix"
    );
}

/// A table whose keys are hashed (`Table::hash_keys`) answers every
/// request, hit or miss, exact or prefix, with or without host and query,
/// as the same table without the hash does; and `get` finds every key and
/// none of the keys one byte longer.
#[test]
fn a_table_with_hashed_keys_answers_as_without() {
    hashed_answers_as_plain(|rng| HOSTS[rng.below(HOSTS.len())]);
}

/// The same with one key in ten naming a host: few enough that the hash
/// also keeps a filter of them, which passes over most keys under a host
/// without reading a slot.
#[test]
fn a_table_with_few_host_rules_and_hashed_keys_answers_as_without() {
    hashed_answers_as_plain(|rng| match rng.below(20) {
        0 => "example.com",
        1 => "shop.example.com",
        _ => "",
    });
}

fn hashed_answers_as_plain(pick_host: fn(&mut Rng) -> &'static str) {
    let mut rng = Rng(0x6a09_e667_f3bc_c908);
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for i in 0..8_000 {
        let path = random_path(&mut rng, 3, segment);
        let host = pick_host(&mut rng);
        let key = match i % 4 {
            0 => prefix_key(host, &path),
            1 => exact_key(host, &path, Some("q=1")),
            _ => exact_key(host, &path, None),
        };
        if seen.insert(key.clone()) {
            let target = match rng.below(3) {
                0 => format!("/to/{}", rng.below(500)),
                1 => format!("https://t.example/{}/:splat", rng.below(50)),
                _ => format!("/new{}", escape(&path)),
            };
            let flags = Flags {
                preserve_query: rng.below(2) == 0,
                preserve_suffix: rng.below(3) == 0,
                include_subdomains: !host.is_empty() && rng.below(2) == 0,
            };
            entries.push((key, target, host, path, flags));
        }
    }
    let built: Vec<_> = entries
        .iter()
        .map(|(k, t, _, _, f)| (k.as_slice(), t.as_str(), Status::Found, *f))
        .collect();
    let bytes = TableBuilder::build(TableOptions::default(), &built).unwrap();
    let plain = Table::from_bytes(bytes.clone()).unwrap();
    let hashed = Table::from_bytes(bytes).unwrap();
    let size = hashed.hash_keys([0x1234, 0x5678]).unwrap();
    assert!(size >= 20 * entries.len(), "{size} bytes");
    assert_eq!(hashed.hash_keys([9, 9]), Ok(size), "built once");
    let (mut asked, mut hits) = (0, 0);
    for (key, _, host, path, _) in &entries {
        assert!(hashed.get(key).is_some(), "{key:?}");
        assert_eq!(hashed.get(key), plain.get(key), "{key:?}");
        let mut longer = key.clone();
        longer.push(b'x');
        assert_eq!(hashed.get(&longer), plain.get(&longer), "{longer:?}");
        let path = escape(path);
        for path in [path.clone(), format!("{path}/under"), format!("{path}x")] {
            for host in [
                Some(*host).filter(|h| !h.is_empty()),
                Some("www.example.com"),
                None,
            ] {
                for query in [None, Some("q=1"), Some("z")] {
                    let req = Request {
                        host,
                        path: &path,
                        query,
                    };
                    let want = plain.resolve(&req);
                    assert_eq!(hashed.resolve(&req), want, "{host:?} {path} {query:?}");
                    asked += 1;
                    hits += usize::from(want.is_some());
                }
            }
        }
    }
    assert!(
        asked > 150_000 && hits > 20_000,
        "{asked} asked, {hits} hits"
    );
}
