use crate::key::{exact_key, normalize_host, normalize_path, EXACT, PREFIX, QUERY_SEPARATOR};
use crate::template::{self, Template};
use crate::token::Tokens;
use crate::{Flags, FormatError, Radix, Status, TableOptions, Value, MAGIC};
use fst::raw::Output;
use std::ops::Range;
use std::sync::Arc;

const HEADER_LEN: usize = 56;

/// A redirect found in a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The `Location` header value.
    pub location: String,
    /// The redirect status.
    pub status: Status,
}

/// What the caller knows about a request (the WIT `request` record).
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The host, without port.
    pub host: Option<&'a str>,
    /// The raw path, starting with `/`, without the query.
    pub path: &'a str,
    /// The raw query, without `?`.
    pub query: Option<&'a str>,
}

/// One section of the table file, sharing the file's buffer (so a loaded
/// table holds the file's bytes once, not a copy per section).
#[derive(Clone)]
struct Section {
    buf: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl AsRef<[u8]> for Section {
    fn as_ref(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

/// A compiled redirect table, ready for lookups.
///
/// Loading it ([`Table::from_bytes`]) validates the data once and keeps the
/// file's bytes as they are (no copy); after that, a lookup encodes the
/// request key with the word dictionary, walks the fst map and decodes one
/// front-coded template, without parsing anything else.
pub struct Table {
    options: TableOptions,
    map: fst::Map<Section>,
    templates: fcsd::Set<Section>,
    tokens: Tokens,
    radix: Radix,
}

impl Table {
    /// Reads a table written by [`TableBuilder::finish`], taking ownership
    /// of its bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Table, FormatError> {
        if bytes.len() < HEADER_LEN || bytes[..8] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let options = TableOptions::from_bits(word(8));
        let (fst_len, set_len, dict_len) = (word(16), word(24), word(32));
        let (starts, backs) = (word(40), word(48));
        let expected = (HEADER_LEN as u64)
            .saturating_add(fst_len)
            .saturating_add(set_len)
            .saturating_add(dict_len);
        if expected != bytes.len() as u64 {
            return Err(FormatError::Truncated {
                expected,
                actual: bytes.len() as u64,
            });
        }
        let fst_end = HEADER_LEN + fst_len as usize;
        let set_end = fst_end + set_len as usize;
        let tokens = Tokens::from_bytes(&bytes[set_end..])?;
        let buf = Arc::new(bytes);
        let section = |range| Section {
            buf: buf.clone(),
            range,
        };
        let map = fst::Map::new(section(HEADER_LEN..fst_end))
            .map_err(|e| FormatError::Fst(e.to_string()))?;
        let templates = fcsd::Set::from_bytes(section(fst_end..set_end))
            .map_err(|e| FormatError::Fcsd(e.to_string()))?;
        let radix = Radix {
            templates: templates.len() as u64,
            starts,
            backs,
        };
        let table = Table {
            options,
            map,
            templates,
            tokens,
            radix,
        };
        // Every template must parse, and every value must name one.
        let mut decoder = table.templates.decoder();
        for id in 0..table.templates.len() {
            if Template::parse(decoder.run(id)).is_none() {
                return Err(FormatError::BadTemplate(id as u64));
            }
        }
        let mut stream = table.map.stream();
        while let Some((key, raw)) = fst::Streamer::next(&mut stream) {
            match Value::unpack(raw, table.radix) {
                Some(v) if v.whole || key.first() == Some(&EXACT) => {}
                _ => return Err(FormatError::BadValue(raw)),
            }
        }
        drop(stream);
        Ok(table)
    }

    /// Reads the table file named by the environment variable
    /// [`crate::DATA_ENV`]: what the Wizer init functions of the lookup
    /// component and of the fused router run. Panics, naming the file, on
    /// any failure (in Wizer a panic traps and fails the build).
    pub fn load_from_env() -> Table {
        let var = crate::DATA_ENV;
        let path = std::env::var(var)
            .unwrap_or_else(|_| panic!("{var} must name the table file during Wizer init"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        Table::from_bytes(bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The table-wide matching options it was built with.
    pub fn options(&self) -> TableOptions {
        self.options
    }

    /// Finds the redirect for a request. The precedence, first match wins:
    ///
    /// 1. exact rules, for the request's host, then its parent domains
    ///    (rules with `include_subdomains` only), then rules for every host;
    ///    for each host a rule naming the request's exact query first;
    /// 2. prefix rules, hosts in the same order, the longest prefix first.
    ///
    /// A redirect whose `Location` would be the request itself is dropped
    /// (`None`): a rule never redirects a request to itself.
    pub fn resolve(&self, req: &Request) -> Option<Redirect> {
        let path = normalize_path(req.path, self.options)?;
        let host = req.host.and_then(normalize_host);
        let mut hosts: Vec<(&str, bool)> = Vec::with_capacity(4);
        if let Some(h) = host.as_deref() {
            hosts.push((h, false));
            let mut rest = h;
            while let Some((_, parent)) = rest.split_once('.') {
                hosts.push((parent, true));
                rest = parent;
            }
        }
        hosts.push(("", false));
        let query = req.query.filter(|q| !q.is_empty());
        let accept = |t: &Template, parent: bool| !parent || t.flags.include_subdomains;

        let mut encoded = Vec::with_capacity(2 * path.len() + 16);
        for &(h, parent) in &hosts {
            let with_query = query.map(|q| exact_key(h, &path, Some(q)));
            for key in with_query.into_iter().chain([exact_key(h, &path, None)]) {
                let Some(v) = self.exact_value(&key, &mut encoded) else {
                    continue;
                };
                let t = self.template(v)?;
                if accept(&t, parent) {
                    return self.finish(&t, v, req, host.as_deref(), &path, None);
                }
            }
        }
        for &(h, parent) in &hosts {
            if let Some((v, t, at)) = self.longest_prefix(h, &path, |t| accept(t, parent)) {
                return self.finish(&t, v, req, host.as_deref(), &path, Some(&path[at..]));
            }
        }
        None
    }

    /// The value under an exact key (`=host path [NUL query]`), encoding
    /// it with the dictionary into `buf` first.
    fn exact_value(&self, key: &[u8], buf: &mut Vec<u8>) -> Option<Value> {
        buf.clear();
        buf.push(EXACT);
        self.tokens.encode_into(key.get(1..)?, buf);
        Value::unpack(self.map.get(&buf[..])?, self.radix)
    }

    /// The template a value names, decoded and parsed.
    fn template(&self, v: Value) -> Option<Template> {
        let id = usize::try_from(v.template_id).ok()?;
        let record = (id < self.templates.len()).then(|| self.templates.decoder().run(id))?;
        Template::parse(record)
    }

    /// Walks the fst along `*host path` and returns the accepted prefix
    /// rule with the longest prefix ending at a segment boundary (its value
    /// and template), and where the rest of the path starts.
    fn longest_prefix(
        &self,
        host: &str,
        path: &[u8],
        accept: impl Fn(&Template) -> bool,
    ) -> Option<(Value, Template, usize)> {
        let fst = self.map.as_fst();
        let mut node = fst.root();
        let mut out = Output::zero();
        for &b in [PREFIX].iter().chain(host.as_bytes()) {
            let t = node.transition(node.find_input(b)?);
            out = out.cat(t.out);
            node = fst.node(t.addr);
        }
        let mut best = None;
        for i in 0..=path.len() {
            let boundary = i == path.len() || path[i] == b'/';
            if boundary && node.is_final() {
                let v = Value::unpack(out.cat(node.final_output()).value(), self.radix);
                if let Some((v, t)) = v.and_then(|v| Some((v, self.template(v)?))) {
                    if accept(&t) {
                        best = Some((v, t, i));
                    }
                }
            }
            let Some(&b) = path.get(i) else { break };
            let Some(ti) = node.find_input(b) else { break };
            let t = node.transition(ti);
            out = out.cat(t.out);
            node = fst.node(t.addr);
        }
        best
    }

    fn finish(
        &self,
        t: &Template,
        v: Value,
        req: &Request,
        host: Option<&str>,
        path: &[u8],
        suffix: Option<&[u8]>,
    ) -> Option<Redirect> {
        let mut location = t.target(path, v.slice())?;
        if let Some(suffix) = suffix {
            let splat = suffix.strip_prefix(b"/").unwrap_or(suffix);
            if location.contains(":splat") {
                location = location.replace(":splat", &encode_path(splat));
            } else if t.flags.preserve_suffix && !splat.is_empty() {
                let at = location.find(['?', '#']).unwrap_or(location.len());
                let sep = if location[..at].ends_with('/') {
                    ""
                } else {
                    "/"
                };
                location.insert_str(at, &format!("{sep}{}", encode_path(splat)));
            }
        }
        if t.flags.preserve_query {
            if let Some(q) = req.query.filter(|q| !q.is_empty()) {
                let at = location.find('#').unwrap_or(location.len());
                let sep = if location[..at].contains('?') {
                    '&'
                } else {
                    '?'
                };
                location.insert_str(at, &format!("{sep}{}", encode_query(q)));
            }
        }
        if self.is_same_request(&location, req, host, path) {
            return None;
        }
        Some(Redirect {
            location,
            status: t.status,
        })
    }

    /// Whether following `location` would request the same resource again.
    fn is_same_request(
        &self,
        location: &str,
        req: &Request,
        host: Option<&str>,
        path: &[u8],
    ) -> bool {
        let rest = match location.split_once("://") {
            Some((_, after)) => {
                let end = after.find(['/', '?', '#']).unwrap_or(after.len());
                let loc_host = after[..end].split(':').next().and_then(normalize_host);
                if loc_host.as_deref() != host {
                    return false;
                }
                &after[end..]
            }
            None => location,
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (loc_path, loc_query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let loc_path = if loc_path.is_empty() { "/" } else { loc_path };
        normalize_path(loc_path, self.options).as_deref() == Some(path)
            && loc_query.filter(|q| !q.is_empty()) == req.query.filter(|q| !q.is_empty())
    }

    /// The redirect stored under a raw key (see [`crate::exact_key`] and
    /// [`crate::prefix_key`]), with no normalisation or precedence, and
    /// the target as stored (`:splat` unreplaced): for tools and tests.
    pub fn get(&self, key: &[u8]) -> Option<Redirect> {
        let v = match key.first() {
            Some(&EXACT) => self.exact_value(key, &mut Vec::new())?,
            _ => Value::unpack(self.map.get(key)?, self.radix)?,
        };
        let t = self.template(v)?;
        Some(Redirect {
            location: t.target(exact_key_path(key), v.slice())?,
            status: t.status,
        })
    }

    /// Number of rules (lookup keys).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table holds no rule.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of distinct target templates (targets with the part they
    /// repeat from their source cut out, plus status and flags).
    pub fn template_count(&self) -> usize {
        self.templates.len()
    }

    /// Number of words in the key dictionary.
    pub fn dictionary_len(&self) -> usize {
        self.tokens.len()
    }
}

/// The path inside an exact key `=host path [NUL query]` (a host holds no
/// `/`, a path starts with one); empty for other keys.
fn exact_key_path(key: &[u8]) -> &[u8] {
    if key.first() != Some(&EXACT) {
        return &[];
    }
    let start = key.iter().position(|&b| b == b'/').unwrap_or(key.len());
    let end = key[start..]
        .iter()
        .position(|&b| b == QUERY_SEPARATOR)
        .map_or(key.len(), |e| start + e);
    &key[start..end]
}

/// Percent-encodes every byte that may not stand in a URL path as is, so a
/// Location built from request bytes never carries CR, LF, spaces or
/// anything else a header must not hold.
fn encode_path(bytes: &[u8]) -> String {
    encode(bytes, |b| {
        b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b)
    })
}

/// Like [`encode_path`] for a query: keeps `?`, `=` and `&`, and `%` (the
/// query is passed on still encoded).
fn encode_query(query: &str) -> String {
    encode(query.as_bytes(), |b| {
        b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b)
    })
}

fn encode(bytes: &[u8], keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Collects rules and writes them as a table.
#[derive(Default)]
pub struct TableBuilder {
    options: TableOptions,
    entries: Vec<(Vec<u8>, String, Status, Flags)>,
}

impl TableBuilder {
    /// An empty builder for a table with these options.
    pub fn new(options: TableOptions) -> TableBuilder {
        TableBuilder {
            options,
            entries: Vec::new(),
        }
    }

    /// Adds a rule under a key built by [`crate::exact_key`] or
    /// [`crate::prefix_key`]. Duplicate keys are reported by
    /// [`TableBuilder::finish`].
    pub fn insert(&mut self, key: Vec<u8>, target: String, status: Status, flags: Flags) {
        self.entries.push((key, target, status, flags));
    }

    /// Number of rules added so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no rule was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Builds the table and returns its bytes.
    pub fn finish(self) -> Result<Vec<u8>, FormatError> {
        let entries = self.entries;
        let tokens = Tokens::choose(
            entries
                .iter()
                .filter(|e| e.0.first() == Some(&EXACT))
                .map(|e| &e.0[1..]),
            entries.len() / 250_000 + 1,
        );
        // Encode the exact keys, and cut every target into a template and
        // a slice (in parallel: the longest-common-run search is the
        // costly part at a million rules).
        let split = |(key, target, status, flags): &(Vec<u8>, String, Status, Flags)| {
            if key.first() == Some(&EXACT) {
                let (record, slice) = template::split(exact_key_path(key), target, *status, *flags);
                let mut encoded = vec![EXACT];
                tokens.encode_into(&key[1..], &mut encoded);
                (encoded, record, slice)
            } else {
                let whole = template::Slice {
                    whole: true,
                    ..template::Slice::default()
                };
                let record = template::record(*status, *flags, target.as_bytes(), b"");
                (key.clone(), record, whole)
            }
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = entries.len().div_ceil(threads).max(1);
        type Cut = (Vec<u8>, Vec<u8>, template::Slice);
        let cut: Vec<(Cut, usize)> = std::thread::scope(|s| {
            let handles: Vec<_> = entries
                .chunks(chunk)
                .enumerate()
                .map(|(n, c)| {
                    s.spawn(move || {
                        let first = n * chunk;
                        c.iter()
                            .enumerate()
                            .map(|(i, e)| (split(e), first + i))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("no panic while cutting targets"))
                .collect()
        });
        // Encoding is one-to-one, so equal encoded keys are equal keys.
        let cut = sort_in_two(cut, |a, b| a.0 .0.cmp(&b.0 .0));
        if let Some(w) = cut.windows(2).find(|w| w[0].0 .0 == w[1].0 .0) {
            return Err(FormatError::DuplicateKey(entries[w[0].1].0.clone()));
        }
        drop(entries);
        let cut: Vec<Cut> = cut.into_iter().map(|c| c.0).collect();
        let mut records: Vec<&[u8]> = cut
            .iter()
            .map(|c| c.1.as_slice())
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect();
        records.sort_unstable();
        let set = fcsd::Set::new(records.iter().copied())
            .map_err(|e| FormatError::Fcsd(e.to_string()))?;
        let ids: std::collections::HashMap<&[u8], u64> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, i as u64))
            .collect();

        let radix = Radix {
            templates: records.len() as u64,
            starts: cut.iter().map(|c| c.2.start as u64 + 1).max().unwrap_or(1),
            backs: cut.iter().map(|c| c.2.back as u64 + 1).max().unwrap_or(1),
        };
        let mut map = fst::MapBuilder::memory();
        for (key, record, slice) in &cut {
            let value = Value {
                template_id: ids[record.as_slice()],
                start: slice.start as u64,
                back: slice.back as u64,
                whole: slice.whole,
            };
            let packed = value.pack(radix).expect("fields within the radix");
            map.insert(key, packed)
                .map_err(|e| FormatError::Fst(e.to_string()))?;
        }
        let map = map
            .into_inner()
            .map_err(|e| FormatError::Fst(e.to_string()))?;
        let dict = tokens.to_bytes();

        let mut out = Vec::with_capacity(HEADER_LEN + map.len() + set.size_in_bytes() + dict.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.options.to_bits().to_le_bytes());
        for word in [
            map.len() as u64,
            set.size_in_bytes() as u64,
            dict.len() as u64,
            radix.starts,
            radix.backs,
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&map);
        set.serialize_into(&mut out)
            .map_err(|e| FormatError::Fcsd(e.to_string()))?;
        out.extend_from_slice(&dict);
        Ok(out)
    }
}

/// Sorts big vectors as two halves on two threads, then merges them.
fn sort_in_two<T: Send>(
    mut v: Vec<T>,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync,
) -> Vec<T> {
    if v.len() < 100_000 {
        v.sort_unstable_by(&cmp);
        return v;
    }
    let second = v.split_off(v.len() / 2);
    let (a, b) = std::thread::scope(|s| {
        let cmp = &cmp;
        let b = s.spawn(move || {
            let mut b = second;
            b.sort_unstable_by(cmp);
            b
        });
        v.sort_unstable_by(cmp);
        (v, b.join().expect("sort thread"))
    });
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        let next = if cmp(x, y) == std::cmp::Ordering::Greater {
            b.next()
        } else {
            a.next()
        };
        out.extend(next);
    }
    out.extend(a);
    out.extend(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::prefix_key;

    fn flags(q: bool, s: bool, sub: bool) -> Flags {
        Flags {
            preserve_query: q,
            preserve_suffix: s,
            include_subdomains: sub,
        }
    }

    fn table(options: TableOptions) -> Table {
        let n = Flags::default();
        let mut b = TableBuilder::new(options);
        let mut add = |key: Vec<u8>, t: &str, s: u16, f: Flags| {
            b.insert(key, t.to_string(), Status::from_code(s).unwrap(), f)
        };
        add(exact_key("", b"/old", None), "/new", 301, n);
        add(exact_key("", b"/old", Some("v=2")), "/new-v2", 302, n);
        add(
            exact_key("", b"/keepq", None),
            "/kept?x=1#top",
            308,
            flags(true, false, false),
        );
        add(exact_key("", "/café".as_bytes(), None), "/coffee", 303, n);
        add(
            exact_key("a.com", b"/old", None),
            "https://b.com/old",
            307,
            n,
        );
        add(
            exact_key("sub.com", b"/s", None),
            "/sub",
            302,
            flags(false, false, true),
        );
        add(prefix_key("", b"/docs"), "/manual/:splat", 301, n);
        add(prefix_key("", b"/docs/v1"), "/legacy", 302, n);
        add(
            prefix_key("", b"/blog"),
            "https://blog.example.com",
            301,
            flags(false, true, false),
        );
        add(
            prefix_key("x.com", b"/"),
            "https://y.com/:splat",
            308,
            flags(true, false, false),
        );
        add(exact_key("", b"/self", None), "/self/", 301, n);
        add(prefix_key("", b"/loop"), "/loop/:splat", 301, n);

        Table::from_bytes(b.finish().unwrap()).unwrap()
    }

    fn go(t: &Table, host: Option<&str>, path: &str, query: Option<&str>) -> Option<(String, u16)> {
        t.resolve(&Request { host, path, query })
            .map(|r| (r.location, r.status.code()))
    }

    type Case<'a> = (
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Option<(String, u16)>,
    );

    fn hit(l: &str, s: u16) -> Option<(String, u16)> {
        Some((l.to_string(), s))
    }

    #[test]
    fn precedence_and_normalisation() {
        let t = table(TableOptions::default());
        let cases: &[Case] = &[
            (None, "/old", None, hit("/new", 301)),
            (None, "/old/", None, hit("/new", 301)),
            (None, "//old", Some(""), hit("/new", 301)),
            (None, "/x/../old", Some("utm=1"), hit("/new", 301)),
            (None, "/old", Some("v=2"), hit("/new-v2", 302)),
            (None, "/OLD", None, None),
            (Some("a.com"), "/old", None, hit("https://b.com/old", 307)),
            (Some("www.a.com"), "/old", None, hit("/new", 301)),
            (Some("sub.com"), "/s", None, hit("/sub", 302)),
            (Some("deep.er.sub.com"), "/s", None, hit("/sub", 302)),
            (Some("notsub.com"), "/s", None, None),
            (None, "/caf%C3%A9", None, hit("/coffee", 303)),
            (None, "/caf%C3%A", None, None),
            (None, "/docs", None, hit("/manual/", 301)),
            (None, "/docs/a/b", None, hit("/manual/a/b", 301)),
            (None, "/docsx", None, None),
            (None, "/docs/v1", None, hit("/legacy", 302)),
            (None, "/docs/v1/x", None, hit("/legacy", 302)),
            (None, "/docs/v10", None, hit("/manual/v10", 301)),
            (
                None,
                "/docs/a%20b%0D%0Ac",
                None,
                hit("/manual/a%20b%0D%0Ac", 301),
            ),
            (
                None,
                "/blog/2020/post",
                None,
                hit("https://blog.example.com/2020/post", 301),
            ),
            (None, "/blog", None, hit("https://blog.example.com", 301)),
            (
                Some("x.com"),
                "/any/thing",
                Some("a=1"),
                hit("https://y.com/any/thing?a=1", 308),
            ),
            (Some("x.com"), "/", None, hit("https://y.com/", 308)),
            (None, "/keepq", Some("a=b"), hit("/kept?x=1&a=b#top", 308)),
            (
                None,
                "/keepq",
                Some("a=\r\n"),
                hit("/kept?x=1&a=%0D%0A#top", 308),
            ),
            (None, "/self", None, None),
            (None, "/loop/a", None, None),
            (None, "/nothing", None, None),
            (None, "relative", None, None),
        ];
        for (host, path, query, want) in cases {
            assert_eq!(
                &go(&t, *host, path, *query),
                want,
                "{host:?} {path:?} {query:?}"
            );
        }
    }

    #[test]
    fn table_options_apply_to_requests() {
        let t = table(TableOptions {
            strict_trailing_slash: true,
            case_insensitive: false,
        });
        assert_eq!(go(&t, None, "/old/", None), None);
        assert_eq!(go(&t, None, "/self", None), hit("/self/", 301));
        let mut b = TableBuilder::new(TableOptions {
            case_insensitive: true,
            ..TableOptions::default()
        });
        b.insert(
            exact_key("", b"/mixed", None),
            "/Target".into(),
            Status::Found,
            Flags::default(),
        );
        let t = Table::from_bytes(b.finish().unwrap()).unwrap();
        assert_eq!(go(&t, None, "/MiXeD", None), hit("/Target", 302));
        assert!(t.options().case_insensitive);
    }

    #[test]
    fn rejects_duplicates() {
        let mut b = TableBuilder::default();
        b.insert(
            b"=/x".to_vec(),
            "/1".into(),
            Status::Found,
            Flags::default(),
        );
        b.insert(
            b"=/x".to_vec(),
            "/2".into(),
            Status::Found,
            Flags::default(),
        );
        assert_eq!(
            b.finish().unwrap_err(),
            FormatError::DuplicateKey(b"=/x".to_vec())
        );
    }

    #[test]
    fn rejects_corrupt_bytes() {
        let mut b = TableBuilder::default();
        b.insert(
            b"=/x".to_vec(),
            "/1".into(),
            Status::Found,
            Flags::default(),
        );
        let bytes = b.finish().unwrap();
        assert_eq!(
            Table::from_bytes(b"nope".to_vec()).err(),
            Some(FormatError::BadMagic)
        );
        assert!(matches!(
            Table::from_bytes(bytes[..bytes.len() - 1].to_vec()),
            Err(FormatError::Truncated { .. })
        ));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(Table::from_bytes(bad).err(), Some(FormatError::BadMagic));
    }

    #[test]
    fn sorts_big_vectors_in_two_halves() {
        let v: Vec<u64> = (0..250_001u64).map(|i| i * 7919 % 250_007).collect();
        let mut want = v.clone();
        want.sort_unstable();
        assert_eq!(sort_in_two(v, |a, b| a.cmp(b)), want);
    }

    #[test]
    fn empty_table_is_valid() {
        let t = Table::from_bytes(TableBuilder::default().finish().unwrap()).unwrap();
        assert!(t.is_empty());
        assert_eq!(go(&t, None, "/", None), None);
    }
}
