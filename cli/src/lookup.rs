//! The lookup component called natively: `redirects:lookup/lookup#lookup`
//! through a typed function of the embedded wasmtime, one instance per
//! worker, reused for every request.
//!
//! Reuse is safe because nothing in the lookup changes after Wizer: the
//! table is read-only in the snapshot, and a call only allocates the
//! strings of its arguments and result, which the guest frees when the
//! call returns (`tests::reuse_is_safe` answers many requests on one
//! instance and compares every answer with a fresh instance's).
//!
//! An instance can also hash its keys (`redirects:lookup/prepare`,
//! [`Lookup::hash_keys`]): lookups about twice as fast for some 27 bytes
//! of its memory per rule, which the native engine spends (the same test
//! compares a hashed instance's answers with the plain ones).
//!
//! (`wasmtime::component::bindgen!` of wasmtime 49.0.5 does not compile for
//! `wit/lookup.wit`, whose interface and function are both named `lookup`;
//! the records are derived by hand from the same WIT instead.)

use crate::wt;
use anyhow::{Context, Result};
use wasmtime::component::{
    Component, ComponentType, Func, InstancePre, Lift, Linker, Lower, TypedFunc,
};
use wasmtime::{Engine, Store};

/// `redirects:lookup/lookup.request`, borrowing the request's strings:
/// they are lowered straight into the guest's memory, with no copy of
/// them on the host.
#[derive(ComponentType, Lower, Debug, Clone, Copy, Default)]
#[component(record)]
pub struct Request<'a> {
    /// The request's host without port.
    pub host: Option<&'a str>,
    /// The path as received, without the query.
    pub path: &'a str,
    /// The raw query without `?`.
    pub query: Option<&'a str>,
}

impl<'a> From<redirects_format::Request<'a>> for Request<'a> {
    fn from(r: redirects_format::Request<'a>) -> Request<'a> {
        Request {
            host: r.host,
            path: r.path,
            query: r.query,
        }
    }
}

/// `redirects:lookup/lookup.redirect`.
#[derive(ComponentType, Lift, Debug, Clone, PartialEq, Eq)]
#[component(record)]
pub struct Redirect {
    /// The `Location` value.
    pub location: String,
    /// The HTTP status.
    pub status: u16,
}

impl Redirect {
    /// The same answer as the format crate's type (`None` for a status
    /// the table format cannot hold, which the lookup never returns).
    pub fn into_format(self) -> Option<redirects_format::Redirect> {
        Some(redirects_format::Redirect {
            status: redirects_format::Status::from_code(self.status)?,
            location: self.location,
        })
    }
}

/// The interface's name in the component's exports.
pub const INTERFACE: &str = "redirects:lookup/lookup@0.2.0";

/// The interface with [`Lookup::hash_keys`] (lookups built before 0.2.0
/// lack it and are served without the hash).
pub const PREPARE: &str = "redirects:lookup/prepare@0.2.0";

/// A compiled lookup component, ready to instantiate (cheap to clone).
#[derive(Clone)]
pub struct LookupPre {
    pre: InstancePre<()>,
}

impl LookupPre {
    /// Compiles a lookup component (`lookup.wasm`), or loads one that
    /// [`precompile`] made, and checks it imports nothing.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<LookupPre> {
        let component = if is_precompiled(bytes) {
            // SAFETY: wasmtime checks the file's header (its version and
            // settings) and refuses another build's file; its contents are
            // trusted as the user's own output of `redirects precompile`,
            // which the README states.
            wt(unsafe { Component::deserialize(engine, bytes) }).context(
                "loading a precompiled lookup (make it again with this `redirects precompile`)",
            )?
        } else {
            wt(Component::new(engine, bytes)).context("compiling the lookup component")?
        };
        let linker = Linker::new(engine);
        let pre = wt(linker.instantiate_pre(&component))
            .context("the lookup component must import nothing")?;
        Ok(LookupPre { pre })
    }

    /// A new instance in a store of its own.
    pub fn instantiate(&self) -> Result<Lookup> {
        let mut store = Store::new(self.pre.engine(), ());
        let instance = self.pre.instantiate(&mut store)?;
        let iface = instance
            .get_export_index(&mut store, None, INTERFACE)
            .with_context(|| format!("the component does not export {INTERFACE}"))?;
        let mut index = |name: &str| {
            instance
                .get_export_index(&mut store, Some(&iface), name)
                .with_context(|| format!("{INTERFACE} has no function `{name}`"))
        };
        let (lookup, count) = (index("lookup")?, index("rule-count")?);
        let lookup = *wt(instance
            .get_typed_func::<(Request<'static>,), (Option<Redirect>,)>(&mut store, &lookup))
        .context("`lookup` does not have the type of wit/lookup.wit")?
        .func();
        let rule_count = wt(instance.get_typed_func::<(), (u64,)>(&mut store, &count))
            .context("`rule-count` does not have the type of wit/lookup.wit")?;
        let hash_keys = match instance.get_export_index(&mut store, None, PREPARE) {
            None => None,
            Some(iface) => {
                let f = instance
                    .get_export_index(&mut store, Some(&iface), "hash-keys")
                    .with_context(|| format!("{PREPARE} has no function `hash-keys`"))?;
                Some(
                    wt(instance
                        .get_typed_func::<((u64, u64),), (Result<u64, String>,)>(&mut store, &f))
                    .context("`hash-keys` does not have the type of wit/lookup.wit")?,
                )
            }
        };
        Ok(Lookup {
            store,
            lookup,
            rule_count,
            hash_keys,
        })
    }
}

/// One instance of the lookup component.
pub struct Lookup {
    store: Store<()>,
    /// `lookup`, its type checked as [`LookupFunc`] when instantiated.
    lookup: Func,
    rule_count: TypedFunc<(), (u64,)>,
    hash_keys: Option<HashKeys>,
}

/// `redirects:lookup/lookup#lookup` for a request borrowing `'a`.
type LookupFunc<'a> = TypedFunc<(Request<'a>,), (Option<Redirect>,)>;

/// `redirects:lookup/prepare#hash-keys`.
type HashKeys = TypedFunc<((u64, u64),), (Result<u64, String>,)>;

impl Lookup {
    /// `lookup(req)`. An error is a trap in the guest (a bug: the lookup
    /// never traps on any input, which the fuzz target `resolve` checks).
    pub fn lookup(&mut self, req: Request<'_>) -> Result<Option<Redirect>> {
        // SAFETY: `instantiate` checked this function's type as
        // `LookupFunc<'static>`; the component type of a borrowed request
        // is the same for every lifetime (the strings are copied into the
        // guest during the call and not kept).
        let f = unsafe { LookupFunc::new_unchecked(self.lookup) };
        Ok(f.call(&mut self.store, (req,))?.0)
    }

    /// `rule-count()`.
    pub fn rule_count(&mut self) -> Result<u64> {
        Ok(self.rule_count.call(&mut self.store, ())?.0)
    }

    /// `hash-keys(seed)` with a random seed: the bytes the hash takes in
    /// the instance's memory, or why it was not built (then the instance
    /// answers as before). `Ok(None)` for a lookup without the function.
    pub fn hash_keys(&mut self) -> Result<Option<u64>> {
        let Some(f) = &self.hash_keys else {
            return Ok(None);
        };
        match f.call(&mut self.store, (random_seed(),))?.0 {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) => anyhow::bail!("hashing the keys: {e}"),
        }
    }
}

/// 128 random bits from the operating system (through std's `RandomState`,
/// which draws its keys from it, so no crate is needed for this).
fn random_seed() -> (u64, u64) {
    use std::hash::{BuildHasher, Hasher};
    let draw = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(0);
        h.finish()
    };
    (draw(), draw())
}

/// Whether `bytes` is a precompiled component (an ELF file) rather than
/// a wasm binary.
pub fn is_precompiled(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// The lookup component compiled to machine code for [`engine`].
pub fn precompile(engine: &Engine, component: &[u8]) -> Result<Vec<u8>> {
    wt(engine.precompile_component(component)).context("precompiling the lookup")
}

/// The engine the native engine and `check-urls` use: the defaults, with
/// the compilation cache off (a lookup compiles in well under a second).
pub fn engine() -> Result<Engine> {
    Ok(Engine::new(&wasmtime::Config::new())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a lookup component from rules text, in process.
    fn component(rules: &str) -> Vec<u8> {
        let dir =
            std::env::temp_dir().join(format!("redirects-lookup-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (src, table) = (dir.join("rules.txt"), dir.join("rules.bin"));
        std::fs::write(&src, rules).unwrap();
        redirects_compiler::compile(&src, &table, &redirects_compiler::Options::default()).unwrap();
        let wizened = crate::artifact::wizer(crate::modules::LOOKUP_CORE, &table).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        crate::artifact::lookup_component(&wizened).unwrap()
    }

    /// An owned request, for lists of them.
    #[derive(Debug, Clone)]
    struct Owned(Option<String>, String, Option<String>);

    impl Owned {
        fn borrow(&self) -> Request<'_> {
            Request {
                host: self.0.as_deref(),
                path: &self.1,
                query: self.2.as_deref(),
            }
        }
    }

    fn request(host: Option<&str>, path: &str, query: Option<&str>) -> Owned {
        Owned(
            host.map(str::to_string),
            path.to_string(),
            query.map(str::to_string),
        )
    }

    /// One instance answers thousands of mixed requests (hits, misses,
    /// splats, queries, hosts, invalid escapes, long paths) exactly as a
    /// fresh instance answers each of them: a call leaves nothing behind.
    #[test]
    fn reuse_is_safe() {
        let mut rules = String::new();
        for i in 0..500 {
            rules.push_str(&format!("/p{i} /t{i}\n"));
        }
        rules.push_str("/docs/* /manual/:splat\n/keep /kept?x=1 308 preserve-query\n");
        rules.push_str("https://shop.example.com/sale /deals 307\n/q?v=2 /v2 302\n");
        let engine = engine().unwrap();
        let pre = LookupPre::new(&engine, &component(&rules)).unwrap();
        let mut reused = pre.instantiate().unwrap();
        assert_eq!(reused.rule_count().unwrap(), 504);
        let long = format!("/docs/{}", "x".repeat(6000));
        let mut requests = Vec::new();
        for i in 0..600 {
            requests.push(request(None, &format!("/p{i}"), None));
            requests.push(request(Some("shop.example.com"), "/sale", Some("a=b")));
            requests.push(request(None, &format!("/docs/{i}/%41"), Some("z")));
            requests.push(request(None, "/keep", Some(&format!("n={i}"))));
            requests.push(request(None, "/q", Some("v=2")));
            requests.push(request(None, "/caf%C3%A", None));
        }
        requests.push(request(None, &long, None));
        let mut answers = Vec::new();
        for req in &requests {
            answers.push(reused.lookup(req.borrow()).unwrap());
        }
        // Every 37th request on a fresh instance: the same answer.
        for (req, answer) in requests.iter().zip(&answers).step_by(37) {
            let fresh = pre.instantiate().unwrap().lookup(req.borrow()).unwrap();
            assert_eq!(&fresh, answer, "{req:?}");
        }
        assert_eq!(
            answers[0],
            Some(Redirect {
                location: "/t0".into(),
                status: 301
            })
        );
        assert_eq!(answers[5], None);
        assert_eq!(
            answers[3].as_ref().map(|r| r.location.as_str()),
            Some("/kept?x=1&n=0")
        );
        // And the instance still answers the first request the same way.
        assert_eq!(reused.lookup(requests[0].borrow()).unwrap(), answers[0]);

        // With its keys hashed, an instance answers every request alike,
        // and hashing again changes nothing.
        let mut hashed = pre.instantiate().unwrap();
        let bytes = hashed
            .hash_keys()
            .unwrap()
            .expect("the lookup hashes its keys");
        assert!(bytes >= 504 * 20, "{bytes} bytes for 504 keys");
        assert_eq!(hashed.hash_keys().unwrap(), Some(bytes));
        for (req, answer) in requests.iter().zip(&answers) {
            assert_eq!(&hashed.lookup(req.borrow()).unwrap(), answer, "{req:?}");
        }
        for i in 500..700 {
            let miss = request(None, &format!("/p{i}"), None);
            assert_eq!(hashed.lookup(miss.borrow()).unwrap(), None);
        }
    }
}
