//! `meshplane_result`: the numeric result of every fallible function.

use mesh_codec::CodecError;

use crate::ffi::{boundary, meshplane_str};

/// Result code of every fallible function. The numbers are part of the ABI: a code never
/// changes meaning and a retired code is never reused.
///
/// `MESHPLANE_RESULT_OK` (0) and `MESHPLANE_RESULT_NEED_MORE_DATA` (1) are not errors;
/// every other code is. Codes are grouped: 1xx misuse of the API, 2xx codec errors,
/// 3xx limiter errors, 4xx translation errors.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum meshplane_result {
    /// Success.
    Ok = 0,
    /// `decode` saw only part of a message: call again with more bytes. Not an error.
    NeedMoreData = 1,
    /// A required pointer argument was NULL (or NULL with a non-zero length).
    NullParameter = 100,
    /// A handle argument is not a live object of the expected type.
    InvalidHandle = 101,
    /// An argument is out of range (unknown enum value, zero limit, length too large).
    InvalidParameter = 102,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 103,
    /// The caller's buffer is too small; the size needed was written to the size out-param.
    BufferTooSmall = 104,
    /// The value asked for is absent (index past the end, key not present, no heartbeat).
    NotFound = 105,
    /// No message has been decoded yet (or the last `decode` did not return OK).
    NoMessage = 106,
    /// The library panicked; the object the call was made on should be freed.
    Panic = 107,
    /// `meshplane_codec_new` was given a protocol name the library does not provide.
    UnknownProtocol = 108,
    /// The bytes do not follow the protocol (see `meshplane_codec_error_offset`).
    CodecMalformed = 200,
    /// A frame or length prefix is larger than `max_frame_size`.
    CodecFrameTooLarge = 201,
    /// Nesting deeper than `max_depth`.
    CodecDepthExceeded = 202,
    /// A collection declares more than `max_elements` elements.
    CodecTooManyElements = 203,
    /// A valid message of a kind the codec does not handle.
    CodecUnsupported = 204,
    /// The mutation cannot be applied to this message.
    CodecMutationRefused = 205,
    /// encode/on_error was called with metadata the codec cannot use.
    CodecInvalidMetadata = 206,
    /// Another codec error (see `meshplane_codec_error_message`).
    CodecOther = 299,
    /// The limiter configuration is invalid (see the limiter's error message).
    LimiterInvalidConfig = 300,
    /// `release` was given a permit that is not outstanding.
    LimiterUnknownPermit = 301,
    /// The translation input is invalid; the errors list says where and why.
    TranslationFailed = 400,
}

impl meshplane_result {
    pub(crate) fn text(self) -> &'static str {
        use meshplane_result::*;
        match self {
            Ok => "ok",
            NeedMoreData => "need more data",
            NullParameter => "a required pointer argument was NULL",
            InvalidHandle => "the handle is not a live object of the expected type",
            InvalidParameter => "an argument is out of range",
            InvalidUtf8 => "a string argument is not valid UTF-8",
            BufferTooSmall => "the buffer is too small",
            NotFound => "not found",
            NoMessage => "no message has been decoded",
            Panic => "internal error (panic)",
            UnknownProtocol => "unknown protocol",
            CodecMalformed => "malformed message",
            CodecFrameTooLarge => "frame too large",
            CodecDepthExceeded => "nesting too deep",
            CodecTooManyElements => "too many elements",
            CodecUnsupported => "unsupported message",
            CodecMutationRefused => "mutation refused",
            CodecInvalidMetadata => "invalid metadata",
            CodecOther => "codec error",
            LimiterInvalidConfig => "invalid limiter configuration",
            LimiterUnknownPermit => "unknown permit",
            TranslationFailed => "translation failed",
        }
    }

    pub(crate) fn from_codec(e: &CodecError) -> meshplane_result {
        match e {
            CodecError::Malformed { .. } => meshplane_result::CodecMalformed,
            CodecError::FrameTooLarge { .. } => meshplane_result::CodecFrameTooLarge,
            CodecError::DepthExceeded { .. } => meshplane_result::CodecDepthExceeded,
            CodecError::TooManyElements { .. } => meshplane_result::CodecTooManyElements,
            CodecError::Unsupported { .. } => meshplane_result::CodecUnsupported,
            CodecError::MutationRefused { .. } => meshplane_result::CodecMutationRefused,
            CodecError::InvalidMetadata { .. } => meshplane_result::CodecInvalidMetadata,
            _ => meshplane_result::CodecOther,
        }
    }

    const ALL: [meshplane_result; 22] = {
        use meshplane_result::*;
        [
            Ok,
            NeedMoreData,
            NullParameter,
            InvalidHandle,
            InvalidParameter,
            InvalidUtf8,
            BufferTooSmall,
            NotFound,
            NoMessage,
            Panic,
            UnknownProtocol,
            CodecMalformed,
            CodecFrameTooLarge,
            CodecDepthExceeded,
            CodecTooManyElements,
            CodecUnsupported,
            CodecMutationRefused,
            CodecInvalidMetadata,
            CodecOther,
            LimiterInvalidConfig,
            LimiterUnknownPermit,
            TranslationFailed,
        ]
    };
}

/// A static, human-readable description of `result` (any number is accepted: unknown codes
/// give "unknown result code"). The view is valid forever.
#[unsafe(no_mangle)]
pub extern "C" fn meshplane_result_text(result: u32) -> meshplane_str {
    boundary!(meshplane_str::EMPTY, {
        let text = meshplane_result::ALL
            .iter()
            .find(|r| **r as u32 == result)
            .map_or("unknown result code", |r| r.text());
        meshplane_str::of(text)
    })
}

/// False for `MESHPLANE_RESULT_OK` and `MESHPLANE_RESULT_NEED_MORE_DATA`, true for every other
/// number (error codes, and numbers this version does not know).
#[unsafe(no_mangle)]
pub extern "C" fn meshplane_result_is_error(result: u32) -> bool {
    result != meshplane_result::Ok as u32 && result != meshplane_result::NeedMoreData as u32
}
