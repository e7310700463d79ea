//! `meshplane_result`: the numeric result of every fallible function.

use mesh_codec::CodecError;

use crate::ffi::{Handle, boundary, free_handle, handle_ref, into_handle, meshplane_str, out, tri};

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

/// Details of a failed constructor or translation: a list of problems, each a message with the
/// object and field path it refers to. Immutable; free with `meshplane_error_free`.
#[derive(Debug)]
pub struct meshplane_error {
    _private: [u8; 0],
}

/// One problem of a `meshplane_error`. The views are valid until the error is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshplane_problem {
    /// The object the problem is in (`namespace/name`, `document 2`), or empty.
    pub object: meshplane_str,
    /// The field path inside it (`spec.sets._base.descriptor[0].action.quota`,
    /// `descriptors[1].token_bucket.fill_interval`), or empty for the object as a whole.
    pub path: meshplane_str,
    /// What is wrong.
    pub message: meshplane_str,
}

#[derive(Debug)]
pub(crate) struct Problem {
    pub object: String,
    pub path: String,
    pub message: String,
}

#[repr(C)]
#[derive(Debug)]
pub(crate) struct ErrorState {
    magic: u64,
    problems: Vec<Problem>,
    text: String,
}

impl Handle for ErrorState {
    type Opaque = meshplane_error;
    const MAGIC: u64 = 0x6d65_7368_6572_7273; // "mesherrs"
    fn clear_magic(&mut self) {
        self.magic = 0;
    }
}

impl ErrorState {
    /// Writes the problems to `error_out` when it is not NULL.
    pub(crate) fn report(problems: Vec<Problem>, error_out: *mut *mut meshplane_error) {
        if error_out.is_null() {
            return;
        }
        let mut text = String::new();
        for (i, p) in problems.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            for part in [&p.object, &p.path] {
                if !part.is_empty() {
                    text.push_str(part);
                    text.push_str(": ");
                }
            }
            text.push_str(&p.message);
        }
        let h = into_handle(ErrorState {
            magic: Self::MAGIC,
            problems,
            text,
        });
        // SAFETY: non-null; the caller passes a writable pointer.
        unsafe { error_out.write(h) };
    }

    /// One problem from an error message of the form `path: message` (the path is recognised
    /// when the prefix has no spaces), else the whole text as the message.
    pub(crate) fn split(text: &str) -> Problem {
        match text.split_once(": ") {
            Some((path, msg)) if !path.is_empty() && !path.contains(' ') => Problem {
                object: String::new(),
                path: path.to_string(),
                message: msg.to_string(),
            },
            _ => Problem {
                object: String::new(),
                path: String::new(),
                message: text.to_string(),
            },
        }
    }
}

/// Number of problems in `error` (0 for NULL or an invalid handle).
///
/// # Safety
/// `error` is NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_error_count(error: *const meshplane_error) -> usize {
    boundary!(0, {
        unsafe { handle_ref::<ErrorState>(error) }.map_or(0, |e| e.problems.len())
    })
}

/// The `index`-th problem of `error`. `NOT_FOUND` past the end.
///
/// # Safety
/// `error` is NULL or a live error; `problem_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_error_at(
    error: *const meshplane_error,
    index: usize,
    problem_out: *mut meshplane_problem,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let e = tri!(unsafe { handle_ref::<ErrorState>(error) });
        let slot = tri!(out(problem_out));
        match e.problems.get(index) {
            Some(p) => {
                slot.write(meshplane_problem {
                    object: meshplane_str::of(&p.object),
                    path: meshplane_str::of(&p.path),
                    message: meshplane_str::of(&p.message),
                });
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

/// Every problem of `error`, one per line (`object: path: message`). Valid until its free.
///
/// # Safety
/// `error` is NULL or a live error; `text_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_error_text(
    error: *const meshplane_error,
    text_out: *mut meshplane_str,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let e = tri!(unsafe { handle_ref::<ErrorState>(error) });
        let slot = tri!(out(text_out));
        slot.write(meshplane_str::of(&e.text));
        meshplane_result::Ok
    })
}

/// Frees an error. NULL is ignored.
///
/// # Safety
/// `error` is NULL or a live error; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_error_free(error: *mut meshplane_error) {
    boundary!((), { unsafe { free_handle::<ErrorState>(error) } })
}
