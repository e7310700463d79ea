//! Errors shared by every codec.

use std::borrow::Cow;

/// A decode or encode failure. Every variant that stems from input bytes carries the byte
/// offset (from the start of the message being decoded) where the problem was found.
///
/// Partial input is never an error: it is [`DecodeStatus::NeedMoreData`](crate::DecodeStatus).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes do not follow the protocol.
    #[error("offset {offset}: {reason}")]
    Malformed {
        offset: usize,
        reason: Cow<'static, str>,
    },
    /// A frame (or a length prefix) is larger than [`Limits::max_frame_size`](crate::Limits).
    #[error("offset {offset}: frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        offset: usize,
        size: u64,
        limit: usize,
    },
    /// Nesting deeper than [`Limits::max_depth`](crate::Limits).
    #[error("offset {offset}: nesting depth exceeds the limit of {limit}")]
    DepthExceeded { offset: usize, limit: usize },
    /// A collection claims more elements than [`Limits::max_elements`](crate::Limits).
    #[error("offset {offset}: collection of {count} elements exceeds the limit of {limit}")]
    TooManyElements {
        offset: usize,
        count: u64,
        limit: usize,
    },
    /// A valid message of a kind this codec does not handle (e.g. a Dubbo serialization other
    /// than hessian2).
    #[error("offset {offset}: unsupported: {what}")]
    Unsupported {
        offset: usize,
        what: Cow<'static, str>,
    },
    /// A mutation that cannot be applied to this message (never silently dropped).
    #[error("mutation refused: {reason}")]
    MutationRefused { reason: Cow<'static, str> },
    /// `encode`/`on_error` was called with metadata this codec did not produce or cannot use.
    #[error("invalid metadata: {reason}")]
    InvalidMetadata { reason: Cow<'static, str> },
}

impl CodecError {
    /// Shorthand for [`CodecError::Malformed`].
    pub fn malformed(offset: usize, reason: impl Into<Cow<'static, str>>) -> Self {
        CodecError::Malformed {
            offset,
            reason: reason.into(),
        }
    }

    /// The byte offset the error refers to, when it stems from input bytes.
    pub fn offset(&self) -> Option<usize> {
        match self {
            CodecError::Malformed { offset, .. }
            | CodecError::FrameTooLarge { offset, .. }
            | CodecError::DepthExceeded { offset, .. }
            | CodecError::TooManyElements { offset, .. }
            | CodecError::Unsupported { offset, .. } => Some(*offset),
            CodecError::MutationRefused { .. } | CodecError::InvalidMetadata { .. } => None,
        }
    }

    /// The same error with its offset moved by `base` (used when a message is decoded from the
    /// middle of a stream and the caller wants stream offsets).
    pub fn shifted(mut self, base: usize) -> Self {
        match &mut self {
            CodecError::Malformed { offset, .. }
            | CodecError::FrameTooLarge { offset, .. }
            | CodecError::DepthExceeded { offset, .. }
            | CodecError::TooManyElements { offset, .. }
            | CodecError::Unsupported { offset, .. } => *offset += base,
            CodecError::MutationRefused { .. } | CodecError::InvalidMetadata { .. } => {}
        }
        self
    }
}
