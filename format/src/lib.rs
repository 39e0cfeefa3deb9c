//! The one definition of a compiled redirect table.
//!
//! The rules compiler writes a table with [`TableBuilder`]; the lookup
//! component reads it with [`Table::from_bytes`] inside its Wizer init
//! function and answers requests with [`Table::resolve`]. Both sides derive
//! keys with the functions of the `key` module ([`normalize_path`],
//! [`exact_key`], [`prefix_key`]), so a rule and a request agree on what
//! "the same URL" means; the request-time matching lives here too, so it is
//! tested natively.
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
//! 40        8     u64 LE radix of value starts (see `Radix`)
//! 48        8     u64 LE radix of value backs
//! 56        N     fst::Map: encoded key -> packed value (see `Value`)
//! 56+N      M     fcsd::Set of every distinct target template, in byte order
//! 56+N+M    D     key dictionary: frequent words -> unused byte values
//! ```
//!
//! A key is `kind host path [NUL query]` (see [`exact_key`]); exact keys
//! (`=`) are stored encoded with the key dictionary (frequent words become
//! one byte each; module `token`), prefix keys (`*`) as they are. A packed
//! [`Value`] names a target template (the target with the part it repeats
//! from its source path cut out, plus status and flags; module `template`)
//! and the slice of the path that fills the cut. At a million generated
//! rules this is about 11 bytes per rule, against 31 for version 2 (whole
//! keys, one fcsd entry per distinct target).

#![deny(missing_docs)]

mod error;
mod key;
mod table;
mod template;
mod token;
mod value;

pub use error::FormatError;
pub use key::{
    exact_key, normalize_host, normalize_path, percent_decode, prefix_key, TableOptions,
};
pub use table::{Redirect, Request, Table, TableBuilder};
pub use value::{Flags, Radix, Status, Value};

/// The environment variable naming the table file while Wizer runs a
/// component's init function ([`Table::load_from_env`]); the build
/// pipeline sets it.
pub const DATA_ENV: &str = "REDIRECTS_DATA";

/// The first eight bytes of every table file.
pub const MAGIC: [u8; 8] = *b"REDIRX03";
