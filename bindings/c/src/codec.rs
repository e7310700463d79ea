//! Codecs: `meshplane_codec` (one per connection and direction), `meshplane_buffer`.

use std::os::raw::c_char;

use bytes::BytesMut;
use mesh_codec::{
    Codec, CodecError, DecodeStatus, Direction, Limits, LocalError, LocalErrorKind, MessageType,
    Metadata, Mutation, ResponseStatus, TypedValue, new_codec,
};

use crate::error::meshplane_result;
use crate::ffi::{
    Handle, array, boundary, bytes, copy_out, free_handle, handle_mut, handle_ref, into_handle,
    meshplane_str, out, text, tri,
};

/// Direction of the bytes a codec decodes (`MESHPLANE_DIRECTION_*`).
pub type meshplane_direction = u32;
/// Bytes sent by the client (downstream to upstream).
pub const MESHPLANE_DIRECTION_REQUEST: meshplane_direction = 0;
/// Bytes sent by the server (upstream to downstream).
pub const MESHPLANE_DIRECTION_RESPONSE: meshplane_direction = 1;

/// Kind of a decoded message (`MESHPLANE_MESSAGE_TYPE_*`).
pub type meshplane_message_type = u32;
pub const MESHPLANE_MESSAGE_TYPE_REQUEST: meshplane_message_type = 0;
pub const MESHPLANE_MESSAGE_TYPE_RESPONSE: meshplane_message_type = 1;
pub const MESHPLANE_MESSAGE_TYPE_ONEWAY: meshplane_message_type = 2;
pub const MESHPLANE_MESSAGE_TYPE_HEARTBEAT: meshplane_message_type = 3;
pub const MESHPLANE_MESSAGE_TYPE_STREAM_INIT: meshplane_message_type = 4;
pub const MESHPLANE_MESSAGE_TYPE_STREAM_DATA: meshplane_message_type = 5;
pub const MESHPLANE_MESSAGE_TYPE_STREAM_CLOSE: meshplane_message_type = 6;
pub const MESHPLANE_MESSAGE_TYPE_ERROR: meshplane_message_type = 7;

/// Outcome carried by a response (`MESHPLANE_RESPONSE_STATUS_*`).
pub type meshplane_response_status = u32;
/// The message carries no status (requests).
pub const MESHPLANE_RESPONSE_STATUS_NONE: meshplane_response_status = 0;
pub const MESHPLANE_RESPONSE_STATUS_OK: meshplane_response_status = 1;
pub const MESHPLANE_RESPONSE_STATUS_ERROR: meshplane_response_status = 2;

/// Why a proxy answers locally (`MESHPLANE_LOCAL_ERROR_*`), for `meshplane_codec_on_error`.
pub type meshplane_local_error = u32;
pub const MESHPLANE_LOCAL_ERROR_ROUTE_NOT_FOUND: meshplane_local_error = 0;
pub const MESHPLANE_LOCAL_ERROR_CLUSTER_NOT_FOUND: meshplane_local_error = 1;
pub const MESHPLANE_LOCAL_ERROR_NO_HEALTHY_UPSTREAM: meshplane_local_error = 2;
pub const MESHPLANE_LOCAL_ERROR_OVER_LIMIT: meshplane_local_error = 3;
pub const MESHPLANE_LOCAL_ERROR_BAD_RESPONSE: meshplane_local_error = 4;
pub const MESHPLANE_LOCAL_ERROR_TIMEOUT: meshplane_local_error = 5;
pub const MESHPLANE_LOCAL_ERROR_UNSPECIFIED: meshplane_local_error = 6;

/// Kind of a typed (non-routable) metadata value (`MESHPLANE_TYPED_*`).
pub type meshplane_typed_kind = u32;
pub const MESHPLANE_TYPED_TEXT: meshplane_typed_kind = 0;
pub const MESHPLANE_TYPED_INT: meshplane_typed_kind = 1;
pub const MESHPLANE_TYPED_UINT: meshplane_typed_kind = 2;
pub const MESHPLANE_TYPED_BOOL: meshplane_typed_kind = 3;

/// Decoder limits. Memory use of a codec is bounded by these, never by a length the peer
/// claims. Every field must be non-zero. `meshplane_limits_default()` gives the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshplane_limits {
    /// Largest message (frame) accepted, in bytes.
    pub max_frame_size: usize,
    /// Deepest nesting of containers accepted.
    pub max_depth: usize,
    /// Most elements one collection may declare.
    pub max_elements: usize,
}

/// What the last successful `meshplane_codec_decode` learned about its message.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshplane_message_info {
    /// `MESHPLANE_MESSAGE_TYPE_*`.
    pub message_type: meshplane_message_type,
    /// Whether `request_id` is set.
    pub has_request_id: bool,
    /// Correlates a response with its request (Dubbo request id, Thrift seqid, Redis position).
    pub request_id: u64,
    /// Whether `stream_id` is set.
    pub has_stream_id: bool,
    pub stream_id: u64,
    /// Whole message on the wire, in bytes (header + body).
    pub message_size: usize,
    pub header_size: usize,
    pub body_size: usize,
    /// `MESHPLANE_RESPONSE_STATUS_*`.
    pub status: meshplane_response_status,
}

/// A typed (non-routable) metadata value: read the field that `kind` names.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshplane_typed_value {
    /// `MESHPLANE_TYPED_*`.
    pub kind: meshplane_typed_kind,
    pub int_value: i64,
    pub uint_value: u64,
    pub bool_value: bool,
    /// Borrowed, valid until the next decode on the codec (or its free).
    pub text: meshplane_str,
}

/// One mutation entry for `meshplane_codec_encode`: UTF-8 key and value, not NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshplane_kv {
    pub key: *const c_char,
    pub key_len: usize,
    pub value: *const c_char,
    pub value_len: usize,
}

/// A codec for one direction of one connection. Not thread-safe: use it from one thread at a
/// time (it may move between threads). Free with `meshplane_codec_free`.
#[derive(Debug)]
pub struct meshplane_codec {
    _private: [u8; 0],
}

/// Bytes owned by the library (from the `*_to_buffer` functions). Free with
/// `meshplane_buffer_free`.
#[derive(Debug)]
pub struct meshplane_buffer {
    _private: [u8; 0],
}

#[repr(C)]
pub(crate) struct CodecState {
    magic: u64,
    codec: Box<dyn Codec>,
    md: Metadata,
    has_message: bool,
    last_error: Option<CodecError>,
    error_text: String,
    scratch: BytesMut,
}

impl Handle for CodecState {
    type Opaque = meshplane_codec;
    const MAGIC: u64 = 0x6d65_7368_636f_6463; // "meshcodc"
    fn clear_magic(&mut self) {
        self.magic = 0;
    }
}

impl std::fmt::Debug for CodecState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodecState")
            .field("protocol", &self.codec.protocol())
            .field("has_message", &self.has_message)
            .finish()
    }
}

#[repr(C)]
#[derive(Debug)]
pub(crate) struct BufferState {
    magic: u64,
    data: Vec<u8>,
}

impl Handle for BufferState {
    type Opaque = meshplane_buffer;
    const MAGIC: u64 = 0x6d65_7368_6275_6666; // "meshbuff"
    fn clear_magic(&mut self) {
        self.magic = 0;
    }
}

impl CodecState {
    fn fail(&mut self, e: CodecError) -> meshplane_result {
        let r = meshplane_result::from_codec(&e);
        self.error_text.clear();
        use std::fmt::Write;
        let _ = write!(self.error_text, "{e}");
        self.last_error = Some(e);
        r
    }

    fn message(&self) -> Result<&Metadata, meshplane_result> {
        if self.has_message {
            Ok(&self.md)
        } else {
            Err(meshplane_result::NoMessage)
        }
    }

    /// Runs one of the writers into `scratch`.
    fn write_with(
        &mut self,
        f: impl FnOnce(&mut dyn Codec, &Metadata, &mut BytesMut) -> Result<bool, CodecError>,
    ) -> meshplane_result {
        self.last_error = None;
        if !self.has_message {
            return meshplane_result::NoMessage;
        }
        self.scratch.clear();
        match f(self.codec.as_mut(), &self.md, &mut self.scratch) {
            Ok(true) => meshplane_result::Ok,
            Ok(false) => meshplane_result::NotFound,
            Err(e) => self.fail(e),
        }
    }
}

fn direction(d: meshplane_direction) -> Result<Direction, meshplane_result> {
    match d {
        MESHPLANE_DIRECTION_REQUEST => Ok(Direction::Request),
        MESHPLANE_DIRECTION_RESPONSE => Ok(Direction::Response),
        _ => Err(meshplane_result::InvalidParameter),
    }
}

fn local_error_kind(k: meshplane_local_error) -> Result<LocalErrorKind, meshplane_result> {
    Ok(match k {
        MESHPLANE_LOCAL_ERROR_ROUTE_NOT_FOUND => LocalErrorKind::RouteNotFound,
        MESHPLANE_LOCAL_ERROR_CLUSTER_NOT_FOUND => LocalErrorKind::ClusterNotFound,
        MESHPLANE_LOCAL_ERROR_NO_HEALTHY_UPSTREAM => LocalErrorKind::NoHealthyUpstream,
        MESHPLANE_LOCAL_ERROR_OVER_LIMIT => LocalErrorKind::OverLimit,
        MESHPLANE_LOCAL_ERROR_BAD_RESPONSE => LocalErrorKind::BadResponse,
        MESHPLANE_LOCAL_ERROR_TIMEOUT => LocalErrorKind::Timeout,
        MESHPLANE_LOCAL_ERROR_UNSPECIFIED => LocalErrorKind::Unspecified,
        _ => return Err(meshplane_result::InvalidParameter),
    })
}

fn message_type(t: MessageType) -> meshplane_message_type {
    match t {
        MessageType::Request => MESHPLANE_MESSAGE_TYPE_REQUEST,
        MessageType::Response => MESHPLANE_MESSAGE_TYPE_RESPONSE,
        MessageType::Oneway => MESHPLANE_MESSAGE_TYPE_ONEWAY,
        MessageType::Heartbeat => MESHPLANE_MESSAGE_TYPE_HEARTBEAT,
        MessageType::StreamInit => MESHPLANE_MESSAGE_TYPE_STREAM_INIT,
        MessageType::StreamData => MESHPLANE_MESSAGE_TYPE_STREAM_DATA,
        MessageType::StreamClose => MESHPLANE_MESSAGE_TYPE_STREAM_CLOSE,
        MessageType::Error => MESHPLANE_MESSAGE_TYPE_ERROR,
    }
}

/// Builds a `Mutation` from C pairs.
///
/// # Safety
/// `pairs` is NULL (with `n == 0`) or points to `n` entries whose strings are readable.
unsafe fn mutation(pairs: *const meshplane_kv, n: usize) -> Result<Mutation, meshplane_result> {
    let pairs = unsafe { array(pairs, n)? };
    let mut m = Mutation::new();
    for kv in pairs {
        let k = unsafe { text(kv.key, kv.key_len)? };
        let v = unsafe { text(kv.value, kv.value_len)? };
        if k.is_empty() {
            return Err(meshplane_result::InvalidParameter);
        }
        m.set(k, v);
    }
    Ok(m)
}

fn to_buffer(data: &[u8], buffer_out: *mut *mut meshplane_buffer) -> meshplane_result {
    let slot = tri!(out(buffer_out));
    slot.write(into_handle(BufferState {
        magic: BufferState::MAGIC,
        data: data.to_vec(),
    }));
    meshplane_result::Ok
}

/// The default limits: 64 MiB frames, depth 64, 1 Mi elements per collection.
#[unsafe(no_mangle)]
pub extern "C" fn meshplane_limits_default() -> meshplane_limits {
    meshplane_limits {
        max_frame_size: Limits::DEFAULT.max_frame_size,
        max_depth: Limits::DEFAULT.max_depth,
        max_elements: Limits::DEFAULT.max_elements,
    }
}

/// Creates a codec for `protocol` (`"redis"`, `"thrift"` or `"dubbo"`, given as pointer and
/// length) decoding `direction` (`MESHPLANE_DIRECTION_*`). `limits` may be NULL for the
/// defaults. On success writes the new codec to `*codec_out`.
///
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `INVALID_PARAMETER` (unknown direction, a zero
/// limit), `UNKNOWN_PROTOCOL`.
///
/// # Safety
/// Pointer arguments are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_new(
    protocol: *const c_char,
    protocol_len: usize,
    direction: meshplane_direction,
    limits: *const meshplane_limits,
    codec_out: *mut *mut meshplane_codec,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let slot = tri!(out(codec_out));
        let name = tri!(unsafe { text(protocol, protocol_len) });
        let dir = tri!(self::direction(direction));
        let limits = if limits.is_null() {
            Limits::DEFAULT
        } else {
            // SAFETY: non-null; the caller passes a valid struct.
            let l = unsafe { std::ptr::read_unaligned(limits) };
            if l.max_frame_size == 0 || l.max_depth == 0 || l.max_elements == 0 {
                return meshplane_result::InvalidParameter;
            }
            Limits {
                max_frame_size: l.max_frame_size,
                max_depth: l.max_depth,
                max_elements: l.max_elements,
            }
        };
        let codec = match new_codec(name, dir, limits) {
            Ok(c) => c,
            Err(_) => return meshplane_result::UnknownProtocol,
        };
        slot.write(into_handle(CodecState {
            magic: CodecState::MAGIC,
            codec,
            md: Metadata::new(),
            has_message: false,
            last_error: None,
            error_text: String::new(),
            scratch: BytesMut::new(),
        }));
        meshplane_result::Ok
    })
}

/// Frees a codec and everything borrowed from it. NULL is ignored.
///
/// # Safety
/// `codec` is NULL or a live codec; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_free(codec: *mut meshplane_codec) {
    boundary!((), { unsafe { free_handle::<CodecState>(codec) } })
}

/// The codec's protocol name (a static string, valid forever).
///
/// # Safety
/// `codec` is NULL or a live codec; `protocol_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_protocol(
    codec: *const meshplane_codec,
    protocol_out: *mut meshplane_str,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let slot = tri!(out(protocol_out));
        slot.write(meshplane_str::of(c.codec.protocol()));
        meshplane_result::Ok
    })
}

/// Decodes one message from the front of `(data, len)`.
///
/// - `MESHPLANE_RESULT_OK`: a whole message was decoded; `*consumed_out` receives its length
///   in bytes. Its metadata can be read until the next decode.
/// - `MESHPLANE_RESULT_NEED_MORE_DATA`: `data` holds only part of a message; nothing was
///   consumed. When `needed_out` is not NULL it receives the total length the message needs,
///   or 0 when unknown. Call again with the same bytes plus more.
/// - an error (`MESHPLANE_RESULT_CODEC_*`): the bytes are not a valid message;
///   `meshplane_codec_error_offset` / `_error_message` say where and why (offsets are relative
///   to `data`).
///
/// Any outcome other than OK invalidates the previous message's metadata.
///
/// # Safety
/// `codec` is NULL or a live codec; `data` is NULL (with `len == 0`) or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_decode(
    codec: *mut meshplane_codec,
    data: *const u8,
    len: usize,
    consumed_out: *mut usize,
    needed_out: *mut usize,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_mut::<CodecState>(codec) });
        let consumed_slot = tri!(out(consumed_out));
        let input = tri!(unsafe { bytes(data, len) });
        c.has_message = false;
        c.last_error = None;
        match c.codec.decode(input, &mut c.md) {
            Ok(DecodeStatus::Done { consumed }) => {
                c.has_message = true;
                consumed_slot.write(consumed);
                meshplane_result::Ok
            }
            Ok(DecodeStatus::NeedMoreData { needed }) => {
                if !needed_out.is_null() {
                    // SAFETY: non-null, writable per the contract.
                    unsafe { needed_out.write(needed.unwrap_or(0)) };
                }
                meshplane_result::NeedMoreData
            }
            Err(e) => c.fail(e),
        }
    })
}

/// The byte offset of the last error of `decode` (relative to the `data` passed to it).
/// `NOT_FOUND` when the last call succeeded or its error has no offset (mutation refused…).
///
/// # Safety
/// `codec` is NULL or a live codec; `offset_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_error_offset(
    codec: *const meshplane_codec,
    offset_out: *mut usize,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let slot = tri!(out(offset_out));
        match c.last_error.as_ref().and_then(CodecError::offset) {
            Some(o) => {
                slot.write(o);
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

/// The message of the last codec error (decode, encode, on_error, heartbeat). Valid until the
/// next call on the codec. `NOT_FOUND` when the last call did not fail with a codec error.
///
/// # Safety
/// `codec` is NULL or a live codec; `message_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_error_message(
    codec: *const meshplane_codec,
    message_out: *mut meshplane_str,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let slot = tri!(out(message_out));
        if c.last_error.is_none() {
            return meshplane_result::NotFound;
        }
        slot.write(meshplane_str::of(&c.error_text));
        meshplane_result::Ok
    })
}

/// Type, ids, sizes and status of the last decoded message. `NO_MESSAGE` unless the last
/// decode returned OK.
///
/// # Safety
/// `codec` is NULL or a live codec; `info_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_message_info(
    codec: *const meshplane_codec,
    info_out: *mut meshplane_message_info,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let slot = tri!(out(info_out));
        let md = tri!(c.message());
        slot.write(meshplane_message_info {
            message_type: message_type(md.message_type),
            has_request_id: md.request_id.is_some(),
            request_id: md.request_id.unwrap_or(0),
            has_stream_id: md.stream_id.is_some(),
            stream_id: md.stream_id.unwrap_or(0),
            message_size: md.message_size,
            header_size: md.header_size,
            body_size: md.body_size,
            status: match md.status {
                None => MESHPLANE_RESPONSE_STATUS_NONE,
                Some(ResponseStatus::Ok) => MESHPLANE_RESPONSE_STATUS_OK,
                Some(ResponseStatus::Error) => MESHPLANE_RESPONSE_STATUS_ERROR,
            },
        });
        meshplane_result::Ok
    })
}

/// Number of routable metadata entries (keys are lower-case) of the last decoded message.
///
/// # Safety
/// `codec` is NULL or a live codec; `count_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_header_count(
    codec: *const meshplane_codec,
    count_out: *mut usize,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let slot = tri!(out(count_out));
        let md = tri!(c.message());
        slot.write(md.headers.len());
        meshplane_result::Ok
    })
}

/// The `index`-th routable entry (insertion order) of the last decoded message. The views are
/// valid until the next decode on this codec or its free. `NOT_FOUND` when `index` is past the
/// end.
///
/// # Safety
/// `codec` is NULL or a live codec; the out-pointers are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_header_at(
    codec: *const meshplane_codec,
    index: usize,
    key_out: *mut meshplane_str,
    value_out: *mut meshplane_str,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let k = tri!(out(key_out));
        let v = tri!(out(value_out));
        let md = tri!(c.message());
        match md.headers.iter().nth(index) {
            Some((key, value)) => {
                k.write(meshplane_str::of(key));
                v.write(meshplane_str::of(value));
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

/// The value of routable key `(key, key_len)` (ASCII case-insensitive) of the last decoded
/// message. Valid until the next decode on this codec or its free. `NOT_FOUND` when absent.
///
/// # Safety
/// `codec` is NULL or a live codec; `key` is valid for `key_len` bytes; `value_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_header_get(
    codec: *const meshplane_codec,
    key: *const c_char,
    key_len: usize,
    value_out: *mut meshplane_str,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let slot = tri!(out(value_out));
        let key = tri!(unsafe { text(key, key_len) });
        let md = tri!(c.message());
        match md.get(key) {
            Some(v) => {
                slot.write(meshplane_str::of(v));
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

fn typed_value(v: &TypedValue) -> meshplane_typed_value {
    let mut t = meshplane_typed_value {
        kind: MESHPLANE_TYPED_TEXT,
        int_value: 0,
        uint_value: 0,
        bool_value: false,
        text: meshplane_str::EMPTY,
    };
    match v {
        TypedValue::Str(s) => t.text = meshplane_str::of(s),
        TypedValue::Int(i) => {
            t.kind = MESHPLANE_TYPED_INT;
            t.int_value = *i;
        }
        TypedValue::UInt(u) => {
            t.kind = MESHPLANE_TYPED_UINT;
            t.uint_value = *u;
        }
        TypedValue::Bool(b) => {
            t.kind = MESHPLANE_TYPED_BOOL;
            t.bool_value = *b;
        }
    }
    t
}

/// Number of typed (non-routable) values of the last decoded message.
///
/// # Safety
/// `codec` is NULL or a live codec; `count_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_typed_count(
    codec: *const meshplane_codec,
    count_out: *mut usize,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let slot = tri!(out(count_out));
        let md = tri!(c.message());
        slot.write(md.typed.len());
        meshplane_result::Ok
    })
}

/// The `index`-th typed value (`protocol`, `transport`, `status_code`…) of the last decoded
/// message. Views are valid until the next decode or free. `NOT_FOUND` past the end.
///
/// # Safety
/// `codec` is NULL or a live codec; the out-pointers are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_typed_at(
    codec: *const meshplane_codec,
    index: usize,
    key_out: *mut meshplane_str,
    value_out: *mut meshplane_typed_value,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let k = tri!(out(key_out));
        let v = tri!(out(value_out));
        let md = tri!(c.message());
        match md.typed.get(index) {
            Some((key, value)) => {
                k.write(meshplane_str::of(key));
                v.write(typed_value(value));
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

/// The typed value named `(key, key_len)` (exact match) of the last decoded message.
///
/// # Safety
/// `codec` is NULL or a live codec; `key` valid for `key_len` bytes; `value_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_typed_get(
    codec: *const meshplane_codec,
    key: *const c_char,
    key_len: usize,
    value_out: *mut meshplane_typed_value,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<CodecState>(codec) });
        let slot = tri!(out(value_out));
        let key = tri!(unsafe { text(key, key_len) });
        let md = tri!(c.message());
        match md.typed(key) {
            Some(v) => {
                slot.write(typed_value(v));
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

unsafe fn encode_scratch<'a>(
    codec: *mut meshplane_codec,
    original: *const u8,
    original_len: usize,
    mutation_pairs: *const meshplane_kv,
    mutation_len: usize,
) -> Result<&'a mut CodecState, meshplane_result> {
    let c = unsafe { handle_mut::<CodecState>(codec)? };
    let original = unsafe { bytes(original, original_len)? };
    let m = unsafe { mutation(mutation_pairs, mutation_len)? };
    match c.write_with(|codec, md, out| codec.encode(original, md, &m, out).map(|()| true)) {
        meshplane_result::Ok => Ok(c),
        e => Err(e),
    }
}

/// Re-encodes the last decoded message: `(original, original_len)` are its bytes (as decoded),
/// `mutation` is an array of `mutation_len` key/value changes (NULL with 0 for none: the
/// output is then the original bytes). The result is copied into `(out, out_cap)` and its
/// length written to `*written_out`.
///
/// When `out_cap` is too small nothing is copied, `*written_out` receives the size needed and
/// the result is `BUFFER_TOO_SMALL` (pass `out = NULL, out_cap = 0` to ask for the size).
/// Errors: `NO_MESSAGE`, `INVALID_UTF8`, `INVALID_PARAMETER` (empty key),
/// `CODEC_MUTATION_REFUSED`, `CODEC_INVALID_METADATA`, other `CODEC_*`.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given; `out` does not overlap `original`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_encode(
    codec: *mut meshplane_codec,
    original: *const u8,
    original_len: usize,
    mutation: *const meshplane_kv,
    mutation_len: usize,
    out: *mut u8,
    out_cap: usize,
    written_out: *mut usize,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        if written_out.is_null() {
            return meshplane_result::NullParameter;
        }
        let c =
            tri!(unsafe { encode_scratch(codec, original, original_len, mutation, mutation_len) });
        unsafe { copy_out(&c.scratch, out, out_cap, written_out) }
    })
}

/// As `meshplane_codec_encode`, but the output goes to a new library-owned buffer written to
/// `*buffer_out` (free it with `meshplane_buffer_free`).
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_encode_to_buffer(
    codec: *mut meshplane_codec,
    original: *const u8,
    original_len: usize,
    mutation: *const meshplane_kv,
    mutation_len: usize,
    buffer_out: *mut *mut meshplane_buffer,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        if buffer_out.is_null() {
            return meshplane_result::NullParameter;
        }
        let c =
            tri!(unsafe { encode_scratch(codec, original, original_len, mutation, mutation_len) });
        to_buffer(&c.scratch, buffer_out)
    })
}

unsafe fn on_error_scratch<'a>(
    codec: *mut meshplane_codec,
    kind: meshplane_local_error,
    message: *const c_char,
    message_len: usize,
) -> Result<&'a mut CodecState, meshplane_result> {
    let c = unsafe { handle_mut::<CodecState>(codec)? };
    let kind = local_error_kind(kind)?;
    let message = unsafe { text(message, message_len)? };
    let err = LocalError::new(kind, message);
    match c.write_with(|codec, md, out| codec.on_error(md, &err, out).map(|()| true)) {
        meshplane_result::Ok => Ok(c),
        e => Err(e),
    }
}

/// Writes a protocol-correct local reply (`kind`: `MESHPLANE_LOCAL_ERROR_*`, plus a UTF-8
/// message) to the request last decoded by this codec, into `(out, out_cap)`; sizes as for
/// `meshplane_codec_encode`. Errors: `NO_MESSAGE`, `INVALID_PARAMETER` (unknown kind),
/// `INVALID_UTF8`, `BUFFER_TOO_SMALL`, `CODEC_*`.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_on_error(
    codec: *mut meshplane_codec,
    kind: meshplane_local_error,
    message: *const c_char,
    message_len: usize,
    out: *mut u8,
    out_cap: usize,
    written_out: *mut usize,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        if written_out.is_null() {
            return meshplane_result::NullParameter;
        }
        let c = tri!(unsafe { on_error_scratch(codec, kind, message, message_len) });
        unsafe { copy_out(&c.scratch, out, out_cap, written_out) }
    })
}

/// As `meshplane_codec_on_error`, into a new library-owned buffer.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_on_error_to_buffer(
    codec: *mut meshplane_codec,
    kind: meshplane_local_error,
    message: *const c_char,
    message_len: usize,
    buffer_out: *mut *mut meshplane_buffer,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        if buffer_out.is_null() {
            return meshplane_result::NullParameter;
        }
        let c = tri!(unsafe { on_error_scratch(codec, kind, message, message_len) });
        to_buffer(&c.scratch, buffer_out)
    })
}

unsafe fn heartbeat_scratch<'a>(
    codec: *mut meshplane_codec,
) -> Result<&'a mut CodecState, meshplane_result> {
    let c = unsafe { handle_mut::<CodecState>(codec)? };
    match c.write_with(|codec, md, out| codec.heartbeat_reply(md, out)) {
        meshplane_result::Ok => Ok(c),
        e => Err(e),
    }
}

/// Writes the reply to the heartbeat last decoded by this codec into `(out, out_cap)`; sizes
/// as for `meshplane_codec_encode`. `NOT_FOUND` when the message is not a heartbeat or the
/// protocol has none.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_heartbeat_reply(
    codec: *mut meshplane_codec,
    out: *mut u8,
    out_cap: usize,
    written_out: *mut usize,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        if written_out.is_null() {
            return meshplane_result::NullParameter;
        }
        let c = tri!(unsafe { heartbeat_scratch(codec) });
        unsafe { copy_out(&c.scratch, out, out_cap, written_out) }
    })
}

/// As `meshplane_codec_heartbeat_reply`, into a new library-owned buffer.
///
/// # Safety
/// `codec` is NULL or a live codec; `buffer_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_codec_heartbeat_reply_to_buffer(
    codec: *mut meshplane_codec,
    buffer_out: *mut *mut meshplane_buffer,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        if buffer_out.is_null() {
            return meshplane_result::NullParameter;
        }
        let c = tri!(unsafe { heartbeat_scratch(codec) });
        to_buffer(&c.scratch, buffer_out)
    })
}

/// The bytes of a buffer (NULL for NULL or an invalid handle). Valid until its free.
///
/// # Safety
/// `buffer` is NULL or a live buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_buffer_data(buffer: *const meshplane_buffer) -> *const u8 {
    boundary!(std::ptr::null(), {
        match unsafe { handle_ref::<BufferState>(buffer) } {
            Ok(b) => b.data.as_ptr(),
            Err(_) => std::ptr::null(),
        }
    })
}

/// The length of a buffer (0 for NULL or an invalid handle).
///
/// # Safety
/// `buffer` is NULL or a live buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_buffer_len(buffer: *const meshplane_buffer) -> usize {
    boundary!(0, {
        match unsafe { handle_ref::<BufferState>(buffer) } {
            Ok(b) => b.data.len(),
            Err(_) => 0,
        }
    })
}

/// Frees a buffer. NULL is ignored.
///
/// # Safety
/// `buffer` is NULL or a live buffer; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_buffer_free(buffer: *mut meshplane_buffer) {
    boundary!((), { unsafe { free_handle::<BufferState>(buffer) } })
}

// A codec may move between threads (one user at a time); buffers are immutable.
const _: () = {
    const fn movable<T: Send>() {}
    const fn thread_safe<T: Send + Sync>() {}
    movable::<CodecState>();
    thread_safe::<BufferState>();
};
