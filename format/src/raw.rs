//! The low-level pieces of the format, for tools and tests: the keys the
//! table files rules under, and the values it stores for them. Most users
//! need only [`crate::TableBuilder`], [`crate::Table::resolve`] and
//! [`crate::route()`]; [`crate::TableBuilder::insert`] and
//! [`crate::Table::get`] take keys built here.

pub use crate::raw_key::{exact_key, prefix_key, EXACT, PREFIX, QUERY_SEPARATOR};
pub use crate::value::Value;
