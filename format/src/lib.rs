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
//! # Layout (version 2)
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"REDIRX02" (the last two bytes are the format version)
//! 8       8     u64 LE table options (bit 0 case-insensitive, bit 1 strict trailing slash)
//! 16      8     u64 LE length of the fst map (N)
//! 24      8     u64 LE length of the fcsd set (M)
//! 32      N     fst::Map: key -> packed value (see `Value`)
//! 32+N    M     fcsd::Set of every distinct target, in byte order
//! ```
//!
//! A key is `kind host path [NUL query]` (see [`exact_key`]); a packed
//! [`Value`] holds the status code in its low 16 bits, the rule's
//! [`Flags`] in the next 8 and the target's id in the fcsd set (its rank in
//! byte order) above them.

#![deny(missing_docs)]

mod error;
mod key;
mod table;
mod value;

pub use error::FormatError;
pub use key::{
    exact_key, normalize_host, normalize_path, percent_decode, prefix_key, TableOptions,
};
pub use table::{Redirect, Request, Table, TableBuilder};
pub use value::{Flags, Status, Value};

/// The first eight bytes of every table file.
pub const MAGIC: [u8; 8] = *b"REDIRX02";
