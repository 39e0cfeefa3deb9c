//! The one definition of a compiled redirect table.
//!
//! The rules compiler writes a table with [`TableBuilder`]; the lookup
//! component reads it with [`Table::from_bytes`] inside its Wizer init
//! function and answers requests with [`Table::resolve`]; the HTTP routers
//! (the wasm ones and native servers) wrap that in [`route::route`]. Both
//! sides read URLs with one module, [`url`] (splitting, normalising,
//! escaping, the order of host candidates), and file rules under the keys
//! of [`raw`], so a rule, a request and the compiler's checks agree on what
//! "the same URL" means; the request-time matching lives here too, so it
//! is tested natively.
//!
//! Modules: [`url`] reads URLs and requests; `read` loads a table, `resolve`
//! matches requests against it, `build` writes one; [`mod@route`] turns an
//! HTTP request into an answer; [`raw`] holds the low-level keys and
//! values.
//!
//! # Layout (version 5)
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"REDIRX05" (the last two bytes are the format version)
//! 8       8     u64 LE length of the whole file
//! 16      8     u64 LE table options (bit 0 case-insensitive, bit 1 strict trailing slash)
//! 24      8     u64 LE prefix depths: bit n set when a prefix rule's path has n slashes
//! 32      8     u64 LE number of prefix rules
//! 40      ...   parts, each a u64 LE length and its bytes:
//!               key words, key index, template words, templates,
//!               hosts named by exact rules, hosts named by prefix rules
//! ```
//!
//! Keys (`kind host path [NUL query]`, see [`raw::exact_key`]) and
//! templates are text made of symbols: a frequent word (module `vocab`:
//! each of the two word lists holds up to 65,536 words) or a byte. The key
//! index (module `index`) holds the keys sorted, sixteen to a bucket, each
//! as the number of symbols it shares with the key before (a bucket's
//! first key: with the first key of its block of 32 buckets) and its own,
//! in canonical Huffman codes chosen by the class of the symbol before,
//! and after a word by what most often follows that word (module
//! `huffman`), each followed by its value: the template it names and the
//! slice of the key that fills the template's gap ([`raw::Value`]). A
//! template (module `template`) is the target with the part it repeats
//! from its key's path cut out and the key's host as a placeholder, plus
//! status and flags; the templates (module `store`) are coded the same
//! way. A lookup turns the
//! request's key into symbols, finds its bucket by the buckets' first keys
//! and reads one bucket and one template. At a million rules this is 4.4
//! to 17 bytes per rule depending on the rules' shape (BENCHMARKS.md),
//! against 12 to 60 for version 3 (an fst map of the keys and an fcsd set
//! of the templates). Version 4 had one code for the symbol after any
//! word and kept the host in the slice (0.9 bytes per rule more for
//! host-heavy rules).

#![deny(missing_docs)]

mod bits;
mod buf;
mod build;
mod error;
mod filter;
pub mod fx;
mod hashed;
mod huffman;
mod index;
mod options;
pub mod raw;
mod raw_key;
mod read;
mod resolve;
pub mod route;
mod store;
mod template;
pub mod url;
mod value;
mod vocab;

pub use build::{Prepared, TableBuilder};
pub use error::FormatError;
pub use hashed::HashError;
pub use options::TableOptions;
pub use read::Table;
pub use resolve::{Match, Redirect, Request};
pub use route::route;
pub use url::{normalize_host, normalize_path, percent_decode};
pub use value::{Flags, Status};

/// The environment variable naming the table file while Wizer runs a
/// component's init function ([`Table::load_from_env`]); the build
/// pipeline sets it.
pub const DATA_ENV: &str = "REDIRECTS_DATA";

/// The format version this crate reads and writes (the last two bytes of
/// [`MAGIC`]).
pub const VERSION: u16 = 5;

/// The first eight bytes of every table file.
pub const MAGIC: [u8; 8] = *b"REDIRX05";
