//! The one definition of a compiled redirect table.
//!
//! The rules compiler writes a table with [`TableBuilder`]; the lookup
//! component reads it with [`Table::from_bytes`] inside its Wizer init
//! function and answers requests with [`Table::get`]. Both sides derive
//! lookup keys with [`path_key`], so a rule and a request agree on what
//! "the same path" means.
//!
//! # Layout (version 1)
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"REDIRX01" (the last two bytes are the format version)
//! 8       8     u64 LE length of the fst map (N)
//! 16      8     u64 LE length of the fcsd set (M)
//! 24      N     fst::Map: lookup key -> packed value (see `Value`)
//! 24+N    M     fcsd::Set of every distinct target, in byte order
//! ```
//!
//! A packed [`Value`] holds the status code in its low 16 bits and the
//! target's id in the fcsd set (its rank in byte order) above them.

#![deny(missing_docs)]

mod error;
mod key;
mod table;
mod value;

pub use error::FormatError;
pub use key::path_key;
pub use table::{Redirect, Table, TableBuilder};
pub use value::{Status, Value};

/// The first eight bytes of every table file.
pub const MAGIC: [u8; 8] = *b"REDIRX01";
