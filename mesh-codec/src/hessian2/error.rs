//! Typed Hessian 2.0 errors, each with the byte offset where the problem was found.

use std::borrow::Cow;

use crate::CodecError;

/// A Hessian 2.0 decode failure. Offsets are relative to the start of the decoder's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HessianError {
    /// The input ends inside a value.
    #[error("offset {offset}: unexpected end of input")]
    UnexpectedEof { offset: usize },
    /// A tag byte that cannot start what is expected here.
    #[error("offset {offset}: unexpected tag 0x{tag:02x} (expected {expected})")]
    UnexpectedTag {
        offset: usize,
        tag: u8,
        expected: &'static str,
    },
    /// A string whose bytes are not (CESU-8 flavoured) UTF-8.
    #[error("offset {offset}: invalid UTF-8 in string")]
    InvalidUtf8 { offset: usize },
    /// Nesting deeper than [`HessianLimits::max_depth`](super::HessianLimits).
    #[error("offset {offset}: nesting depth exceeds the limit of {limit}")]
    DepthExceeded { offset: usize, limit: usize },
    /// A string, binary or collection larger than its limit (or a negative length).
    #[error("offset {offset}: {what} of {size} exceeds the limit of {limit}")]
    TooLarge {
        offset: usize,
        what: &'static str,
        size: i64,
        limit: usize,
    },
    /// A reference (`Q`), class reference or type reference to something never defined.
    #[error("offset {offset}: {what} reference {index} is undefined ({defined} defined)")]
    BadReference {
        offset: usize,
        what: &'static str,
        index: i64,
        defined: usize,
    },
}

impl HessianError {
    /// The byte offset the error refers to.
    pub fn offset(&self) -> usize {
        match self {
            HessianError::UnexpectedEof { offset }
            | HessianError::UnexpectedTag { offset, .. }
            | HessianError::InvalidUtf8 { offset }
            | HessianError::DepthExceeded { offset, .. }
            | HessianError::TooLarge { offset, .. }
            | HessianError::BadReference { offset, .. } => *offset,
        }
    }

    /// True when more input could make the value decodable (stream users wait for more).
    pub fn is_eof(&self) -> bool {
        matches!(self, HessianError::UnexpectedEof { .. })
    }

    /// The same error with its offset moved by `base`.
    pub fn shifted(mut self, base: usize) -> Self {
        match &mut self {
            HessianError::UnexpectedEof { offset }
            | HessianError::UnexpectedTag { offset, .. }
            | HessianError::InvalidUtf8 { offset }
            | HessianError::DepthExceeded { offset, .. }
            | HessianError::TooLarge { offset, .. }
            | HessianError::BadReference { offset, .. } => *offset += base,
        }
        self
    }
}

impl From<HessianError> for CodecError {
    fn from(e: HessianError) -> Self {
        match e {
            HessianError::DepthExceeded { offset, limit } => {
                CodecError::DepthExceeded { offset, limit }
            }
            HessianError::TooLarge {
                offset,
                what: "collection",
                size,
                limit,
            } if size >= 0 => CodecError::TooManyElements {
                offset,
                count: size as u64,
                limit,
            },
            HessianError::UnexpectedEof { offset } => CodecError::Malformed {
                offset,
                reason: Cow::Borrowed("hessian2 value truncated (body shorter than its content)"),
            },
            other => CodecError::Malformed {
                offset: other.offset(),
                reason: Cow::Owned(format!("hessian2: {}", strip_offset(&other.to_string()))),
            },
        }
    }
}

fn strip_offset(s: &str) -> &str {
    s.split_once(": ").map_or(s, |(_, rest)| rest)
}
