//! Hessian 2.0 serialization, usable on its own.
//!
//! - [`Value`]: the owned value model (every Hessian 2.0 type, references as [`Value::Ref`]).
//! - [`Decoder`]: reads values, borrows plain strings from the input, and [`Decoder::skip`]s
//!   values without allocating. Class definitions, types and references are shared across
//!   every value read by one decoder (one Dubbo body is one stream).
//! - [`Encoder`] and the `write_*` functions: the reference implementation's compact forms,
//!   byte for byte.
//!
//! Limits ([`HessianLimits`]) bound depth and string, binary and collection sizes; a hostile
//! length fails with a typed [`HessianError`] carrying its byte offset and never allocates
//! more than the input holds.
//!
//! ```
//! use mesh_codec::hessian2::{from_slice, to_vec, Value};
//! let v = Value::map(vec![("a".into(), Value::Long(1 << 40)), ("ok".into(), true.into())]);
//! let bytes = to_vec(&v);
//! assert_eq!(from_slice(&bytes).unwrap(), v);
//! ```

mod decode;
mod encode;
mod error;
mod value;

pub use decode::{Context, Decoder, HessianLimits};
pub use encode::{
    Encoder, utf16_len, write_binary, write_bool, write_date, write_double, write_int, write_long,
    write_null, write_string,
};
pub use error::HessianError;
pub use value::{List, Map, Object, Value};

/// Encodes one value as a whole stream.
pub fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    Encoder::new().write_value(&mut out, v);
    out
}

/// Decodes exactly one value from `input` (trailing bytes are an error).
pub fn from_slice(input: &[u8]) -> Result<Value, HessianError> {
    let mut d = Decoder::new(input);
    let v = d.read_value()?;
    if !d.is_empty() {
        return Err(HessianError::UnexpectedTag {
            offset: d.position(),
            tag: input[d.position()],
            expected: "the end of input",
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests;
