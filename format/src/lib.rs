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
//! # Layout (version 3)
//!
//! ```text
//! offset    size  field
//! 0         8     magic  b"REDIRX03" (the last two bytes are the format version)
//! 8         8     u64 LE table options (bit 0 case-insensitive, bit 1 strict trailing slash)
//! 16        8     u64 LE length of the fst map (N)
//! 24        8     u64 LE length of the fcsd set (M)
//! 32        8     u64 LE length of the key dictionary (D)
//! 40        8     u64 LE radix of value starts (see [`raw::Radix`])
//! 48        8     u64 LE radix of value backs
//! 56        N     fst::Map: encoded key -> packed value (see [`raw::Value`])
//! 56+N      M     fcsd::Set of every distinct target template, in byte order
//! 56+N+M    D     key dictionary: frequent words -> unused byte values
//! ```
//!
//! A key is `kind host path [NUL query]` (see [`raw::exact_key`]); exact keys
//! (`=`) are stored encoded with the key dictionary (frequent words become
//! one byte each; module `token`), prefix keys (`*`) as they are. A packed
//! [`raw::Value`] names a target template (the target with the part it repeats
//! from its source path cut out, plus status and flags; module `template`)
//! and the slice of the path that fills the cut. At a million generated
//! rules this is about 11 bytes per rule, against 31 for version 2 (whole
//! keys, one fcsd entry per distinct target).

#![deny(missing_docs)]

mod buf;
mod build;
mod error;
mod options;
pub mod raw;
mod raw_key;
mod read;
mod records;
mod resolve;
pub mod route;
mod template;
mod token;
pub mod url;
mod value;

pub use build::{Prepared, TableBuilder};
pub use error::FormatError;
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
pub const VERSION: u16 = 3;

/// The first eight bytes of every table file.
pub const MAGIC: [u8; 8] = *b"REDIRX03";
