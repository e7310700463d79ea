//! Apache Thrift codec: binary (strict and non-strict) and compact protocols over unframed,
//! framed and THeader transports (with info headers and the zlib transform), multiplexed
//! `service:method` names. Transport and protocol are detected per frame.
//!
//! ```
//! use bytes::BytesMut;
//! use mesh_codec::{new_codec, DecodeStatus, Direction, Limits, Metadata, Mutation, TypedValue};
//!
//! // Framed binary call add(1, 2), seqid 0, as sent by the Apache Python client.
//! let wire = b"\x00\x00\x00\x1e\x80\x01\x00\x01\x00\x00\x00\x03add\x00\x00\x00\x00\
//!              \x08\x00\x01\x00\x00\x00\x01\x08\x00\x02\x00\x00\x00\x02\x00";
//! let mut codec = new_codec("thrift", Direction::Request, Limits::default()).unwrap();
//! let mut md = Metadata::new();
//! assert_eq!(codec.decode(wire, &mut md).unwrap(), DecodeStatus::Done { consumed: wire.len() });
//! assert_eq!(md.get("method"), Some("add"));
//! assert_eq!(md.typed("transport"), Some(&TypedValue::Str("framed")));
//! // Only THeader can carry a mutation; a framed message refuses it.
//! let mut out = BytesMut::new();
//! assert!(codec.encode(wire, &md, &Mutation::new().with("k", "v"), &mut out).is_err());
//! ```
//!
//! Metadata written by `decode`:
//! - headers: `method`; `service` (the prefix of a multiplexed `service:method` name); every
//!   THeader info header (key lower-cased, persistent headers included).
//! - typed: `protocol` (`binary`|`compact`), `transport` (`framed`|`unframed`|`header`),
//!   `thrift_message_type` (`call`|`reply`|`exception`|`oneway`), `thrift_strict` (binary),
//!   and for THeader `thrift_header_flags`, `thrift_header_seqid`, `thrift_zlib`.
//! - message type: call → Request, oneway → Oneway, reply → Response (status Error when the
//!   result struct holds a declared exception, i.e. its field id is not 0), exception
//!   (TApplicationException) → Response with status Error. An empty THeader frame (C++ libthrift
//!   sends one on flush) is a Heartbeat with no request id.
//!
//! Error offsets point into the message; an error inside a zlib THeader payload is reported
//! at the payload start, with the offset inside the inflated payload in its text.

mod read;
mod skip;
mod theader;
mod wire;

use std::io::Read;

use bytes::BytesMut;

use crate::{
    Codec, CodecError, DecodeStatus, Direction, Limits, LocalError, LocalErrorKind, MessageType,
    Metadata, Mutation, ResponseStatus, TypedValue,
};

use read::{Cur, R, Stop};
use wire::Proto;

/// TApplicationException type UNKNOWN_METHOD.
pub const APP_EXC_UNKNOWN_METHOD: i32 = 1;
/// TApplicationException type INTERNAL_ERROR.
pub const APP_EXC_INTERNAL_ERROR: i32 = 6;

/// Transport of one frame. The discriminants are the transport's index in a protocol's block
/// of [`TYPED_ROWS`] (see [`typed_row`]): keep them explicit and in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Transport {
    Unframed = 0,
    Framed = 1,
    Header = 2,
}

/// Rows of [`TYPED_ROWS`] per protocol block (one per transport).
const TRANSPORTS: usize = 3;
/// Rows per transport (one per message type, `T_CALL..=T_ONEWAY`, which are consecutive).
const MESSAGE_TYPES: usize = 4;
/// Index of each protocol's block in [`TYPED_ROWS`].
const ROWS_STRICT: usize = 0;
const ROWS_NON_STRICT: usize = 1;
const ROWS_COMPACT: usize = 2;

/// The Thrift codec. One instance per connection and direction.
#[derive(Debug)]
pub struct ThriftCodec {
    direction: Direction,
    limits: Limits,
    /// Decompressed zlib payload (reused).
    scratch: Vec<u8>,
    /// Output buffer for encode/on_error (reused).
    buf: Vec<u8>,
}

impl ThriftCodec {
    /// A codec for one direction of one connection.
    pub fn new(direction: Direction, limits: Limits) -> Self {
        ThriftCodec {
            direction,
            limits,
            scratch: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// The direction this codec decodes.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    fn decode_inner(&mut self, input: &[u8], md: &mut Metadata) -> R<usize> {
        let limits = self.limits;
        let Some(&b0) = input.first() else {
            return Err(Stop::More);
        };
        match b0 {
            0x80 => {
                let p = Proto::Binary { strict: true };
                let mut c = Cur::new(input, 0, false, limits);
                message(&mut c, p, Transport::Unframed, md, true)?;
                Ok(c.pos)
            }
            0x82 => {
                let mut c = Cur::new(input, 0, false, limits);
                message(&mut c, Proto::Compact, Transport::Unframed, md, true)?;
                Ok(c.pos)
            }
            _ => {
                if input.len() < 6 {
                    return Err(Stop::More);
                }
                let n = u32::from_be_bytes([input[0], input[1], input[2], input[3]]);
                if n & 0x8000_0000 != 0 {
                    return Err(CodecError::malformed(0, "not a Thrift frame or message").into());
                }
                let n = n as usize;
                match (input[4], input[5]) {
                    (0x0f, 0xff) => {
                        let frame = frame(input, n, limits, 10)?;
                        self.header_frame(frame, md)?;
                        Ok(frame.len())
                    }
                    (0x80, _) | (0x82, _) => {
                        let frame = frame(input, n, limits, 2)?;
                        let p = if input[4] == 0x80 {
                            Proto::Binary { strict: true }
                        } else {
                            Proto::Compact
                        };
                        let mut c = Cur::new(frame, 4, true, limits);
                        message(&mut c, p, Transport::Framed, md, false)?;
                        Ok(frame.len())
                    }
                    _ => self.non_strict(input, n, md),
                }
            }
        }
    }

    /// Non-strict binary, framed (`len | namelen | name | type | seqid`) or unframed
    /// (`namelen | name | type | seqid`): a frame length is never a plausible name length
    /// followed by a message type, and the first four bytes of a name are never a length.
    fn non_strict(&mut self, input: &[u8], n: usize, md: &mut Metadata) -> R<usize> {
        let p = Proto::Binary { strict: false };
        let limits = self.limits;
        if n >= 10 {
            if input.len() < 8 {
                return Err(Stop::More);
            }
            let m = u32::from_be_bytes([input[4], input[5], input[6], input[7]]) as usize;
            if m + 9 <= n {
                let Some(&t) = input.get(8 + m) else {
                    return Err(Stop::More);
                };
                if (wire::T_CALL..=wire::T_ONEWAY).contains(&t) {
                    let frame = frame(input, n, limits, 10)?;
                    let mut c = Cur::new(frame, 4, true, limits);
                    message(&mut c, p, Transport::Framed, md, false)?;
                    return Ok(frame.len());
                }
            }
        }
        let mut c = Cur::new(input, 0, false, limits);
        message(&mut c, p, Transport::Unframed, md, true)?;
        Ok(c.pos)
    }

    fn header_frame(&mut self, frame: &[u8], md: &mut Metadata) -> R<()> {
        let limits = self.limits;
        let mut c = Cur::new(frame, 4, true, limits);
        let h = theader::parse(&mut c)?;
        theader::for_each_info(frame, &h, 0, limits, |_, k, v| {
            if let Ok(k) = std::str::from_utf8(k) {
                md.headers.insert_bytes(k, v);
            } else {
                md.headers.insert_bytes(&String::from_utf8_lossy(k), v);
            }
        })?;
        md.set_typed("thrift_header_flags", TypedValue::UInt(h.flags.into()));
        md.set_typed("thrift_header_seqid", TypedValue::UInt(h.seqid.into()));
        md.set_typed("thrift_zlib", TypedValue::Bool(h.zlib()));
        let compact = h.protocol_id == theader::PROTO_COMPACT;
        let payload = &frame[h.header_end..];
        if payload.is_empty() {
            md.set_typed("transport", TypedValue::Str("header"));
            md.set_typed(
                "protocol",
                TypedValue::Str(if compact { "compact" } else { "binary" }),
            );
            md.message_type = MessageType::Heartbeat;
            md.header_size = frame.len();
            return Ok(());
        }
        let (buf, start) = if h.zlib() {
            self.scratch.clear();
            let limit = limits.max_frame_size as u64;
            let mut dec = flate2::read::ZlibDecoder::new(payload).take(limit + 1);
            if dec.read_to_end(&mut self.scratch).is_err() {
                return Err(CodecError::malformed(h.header_end, "bad zlib payload").into());
            }
            if self.scratch.len() as u64 > limit {
                return Err(CodecError::FrameTooLarge {
                    offset: h.header_end,
                    size: self.scratch.len() as u64,
                    limit: limits.max_frame_size,
                }
                .into());
            }
            (&self.scratch[..], 0)
        } else {
            (frame, h.header_end)
        };
        let p = if compact {
            Proto::Compact
        } else {
            Proto::Binary {
                strict: buf.get(start) == Some(&0x80),
            }
        };
        let mut c = Cur::new(buf, start, true, limits);
        match message(&mut c, p, Transport::Header, md, false) {
            Err(Stop::Err(e)) if h.zlib() => {
                // Offsets inside the inflated payload are not offsets of the input.
                return Err(CodecError::malformed(
                    h.header_end,
                    format!("in the zlib payload (inflated {e})"),
                )
                .into());
            }
            other => other?,
        }
        if h.zlib() {
            md.header_size = h.header_end;
        }
        Ok(())
    }
}

/// The frame `input[..4 + n]` (with a length of at least `min`), or a request for more.
fn frame(input: &[u8], n: usize, limits: Limits, min: usize) -> R<&[u8]> {
    if n > limits.max_frame_size {
        return Err(CodecError::FrameTooLarge {
            offset: 0,
            size: n as u64,
            limit: limits.max_frame_size,
        }
        .into());
    }
    if n < min {
        return Err(CodecError::malformed(0, "frame too short").into());
    }
    input.get(..4 + n).ok_or(Stop::More)
}

/// Decodes the message at the cursor into `md`. `walk`: skip the whole body (unframed);
/// otherwise only the first field of a reply is read.
fn message(c: &mut Cur<'_>, p: Proto, t: Transport, md: &mut Metadata, walk: bool) -> R<()> {
    let h = wire::read_msg_header(c, p)?;
    let body = c.pos;
    let mut status = None;
    match h.mtype {
        wire::T_REPLY => {
            let declared = matches!(wire::first_field(c, p)?, Some((id, _)) if id != 0);
            status = Some(if declared {
                ResponseStatus::Error
            } else {
                ResponseStatus::Ok
            });
            c.pos = body;
        }
        wire::T_EXCEPTION => status = Some(ResponseStatus::Error),
        _ => {}
    }
    if walk {
        wire::skip_struct(c, p)?;
    }
    md.message_type = match h.mtype {
        wire::T_CALL => MessageType::Request,
        wire::T_ONEWAY => MessageType::Oneway,
        _ => MessageType::Response,
    };
    md.status = status;
    md.request_id = Some(u64::from(h.seqid as u32));
    let name = h.name;
    match multiplex_colon(name) {
        Some(i) => {
            md.headers.insert_bytes("service", &name[..i]);
            md.headers.insert_bytes("method", &name[i + 1..]);
        }
        None => md.headers.insert_bytes("method", name),
    }
    // `message` runs once per decode and these keys are not set elsewhere: appended, no
    // search, as one copy of a prebuilt row (pushes cost a capacity check each, and a row
    // built on the stack would stall the copy's wide loads on the narrow stores just made).
    let row = &TYPED_ROWS[typed_row(p, t, h.mtype)];
    md.typed.extend_from_slice(match p {
        Proto::Compact => &row[..3],
        Proto::Binary { .. } => row,
    });
    md.header_size = body;
    Ok(())
}

type TypedRow = [(&'static str, TypedValue); 4];

/// Index in [`TYPED_ROWS`] of a message's typed values: protocol block, then transport (its
/// discriminant), then message type (`mtype - T_CALL`, checked by the header reader). The
/// table is built by the same arithmetic backwards; `typed_rows_match_protocol_transport_and_
/// message_type` checks every row.
#[inline(always)]
fn typed_row(p: Proto, t: Transport, mtype: u8) -> usize {
    let p = match p {
        Proto::Binary { strict: true } => ROWS_STRICT,
        Proto::Binary { strict: false } => ROWS_NON_STRICT,
        Proto::Compact => ROWS_COMPACT,
    };
    (p * TRANSPORTS + t as usize) * MESSAGE_TYPES + usize::from(mtype - wire::T_CALL)
}

/// The typed values of every (protocol, transport, message type), in [`typed_row`] order;
/// compact rows use the first three (no `thrift_strict`).
static TYPED_ROWS: [TypedRow; 3 * TRANSPORTS * MESSAGE_TYPES] = {
    const N: usize = 3 * TRANSPORTS * MESSAGE_TYPES;
    let mut rows = [[("", TypedValue::Bool(false)); 4]; N];
    let mut i = 0;
    while i < N {
        let (p, t, m) = (
            i / (TRANSPORTS * MESSAGE_TYPES),
            i / MESSAGE_TYPES % TRANSPORTS,
            i % MESSAGE_TYPES,
        );
        rows[i] = [
            (
                "protocol",
                TypedValue::Str(if p == ROWS_COMPACT {
                    "compact"
                } else {
                    "binary"
                }),
            ),
            (
                "transport",
                TypedValue::Str(if t == Transport::Unframed as usize {
                    "unframed"
                } else if t == Transport::Framed as usize {
                    "framed"
                } else {
                    "header"
                }),
            ),
            (
                "thrift_message_type",
                TypedValue::Str(match m {
                    0 => "call",
                    1 => "reply",
                    2 => "exception",
                    _ => "oneway",
                }),
            ),
            ("thrift_strict", TypedValue::Bool(p == ROWS_STRICT)),
        ];
        i += 1;
    }
    rows
};

/// The position of the `:` of a multiplexed `service:method` name. Most names are plain and
/// 4 to 16 bytes long: two overlapping word tests rule the colon out without a byte loop (a
/// byte scan or `memchr` call ran on every message of the framed fast path, which is ~20 ns
/// in all; `multiplex_colon_agrees_with_a_byte_scan` checks every length and position).
#[inline(always)]
fn multiplex_colon(name: &[u8]) -> Option<usize> {
    /// True when a byte of `w` is `:`. XOR with `:` in every byte turns exactly those bytes
    /// into zero; then the zero-byte test: `x - 0x01…01` borrows into the top bit of a byte
    /// that was zero, and `& !x` drops top bits that were already set in `x`, so the result
    /// has a top bit set iff some byte of `x` is zero (a borrow can mark bytes above the
    /// first zero too, but only when there is one, so the yes/no answer is exact; which byte
    /// is not, hence the byte scan below once a colon may be there).
    fn has_colon(w: u64) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        let x = w ^ (ONES * u64::from(b':'));
        x.wrapping_sub(ONES) & !x & (ONES << 7) != 0
    }
    let n = name.len();
    let plain = match n {
        8..=16 => {
            let a = u64::from_le_bytes(name[..8].try_into().unwrap_or_default());
            let b = u64::from_le_bytes(name[n - 8..].try_into().unwrap_or_default());
            !has_colon(a) && !has_colon(b)
        }
        4..=7 => {
            let a = u32::from_le_bytes(name[..4].try_into().unwrap_or_default());
            let b = u32::from_le_bytes(name[n - 4..].try_into().unwrap_or_default());
            // Both (overlapping) words in one test.
            !has_colon(u64::from(a) | u64::from(b) << 32)
        }
        _ => false,
    };
    if plain {
        return None;
    }
    name.iter().position(|&b| b == b':')
}

fn typed_str(md: &Metadata, key: &'static str) -> Result<&'static str, CodecError> {
    match md.typed(key) {
        Some(TypedValue::Str(s)) => Ok(s),
        _ => Err(CodecError::InvalidMetadata {
            reason: format!("missing typed value {key:?} (not decoded by the thrift codec)").into(),
        }),
    }
}

fn typed_uint(md: &Metadata, key: &'static str) -> u64 {
    match md.typed(key) {
        Some(TypedValue::UInt(v)) => *v,
        _ => 0,
    }
}

impl Codec for ThriftCodec {
    fn protocol(&self) -> &'static str {
        "thrift"
    }

    fn decode(&mut self, input: &[u8], md: &mut Metadata) -> Result<DecodeStatus, CodecError> {
        md.reset();
        match self.decode_inner(input, md) {
            Ok(consumed) => {
                md.message_size = consumed;
                md.body_size = consumed.saturating_sub(md.header_size);
                Ok(DecodeStatus::Done { consumed })
            }
            Err(Stop::More) => {
                md.reset();
                let needed = needed_len(input, self.limits);
                Ok(DecodeStatus::NeedMoreData { needed })
            }
            Err(Stop::Err(e)) => {
                md.reset();
                Err(*e)
            }
        }
    }

    /// An empty mutation writes `original`. Otherwise each entry becomes a THeader info header
    /// (replacing one of the same key); messages not sent with THeader refuse mutations.
    fn encode(
        &mut self,
        original: &[u8],
        md: &Metadata,
        mutation: &Mutation,
        out: &mut BytesMut,
    ) -> Result<(), CodecError> {
        if mutation.is_empty() {
            out.extend_from_slice(original);
            return Ok(());
        }
        let transport = typed_str(md, "transport")?;
        if transport != "header" {
            return Err(CodecError::MutationRefused {
                reason: format!(
                    "thrift {transport} transport has no headers; only THeader carries a mutation"
                )
                .into(),
            });
        }
        if original.len() < 14 || original[4..6] != theader::MAGIC {
            return Err(CodecError::InvalidMetadata {
                reason: "original bytes are not a THeader frame".into(),
            });
        }
        let n = u32::from_be_bytes([original[0], original[1], original[2], original[3]]) as usize;
        if n + 4 != original.len() {
            return Err(CodecError::InvalidMetadata {
                reason: "original bytes are not one whole THeader frame".into(),
            });
        }
        let mut c = Cur::new(original, 4, true, self.limits);
        let h = theader::parse(&mut c).map_err(|e| match e {
            Stop::Err(e) => *e,
            Stop::More => CodecError::malformed(4, "truncated THeader header"),
        })?;
        self.buf.clear();
        theader::rebuild(original, &h, self.limits, mutation, &mut self.buf)?;
        out.extend_from_slice(&self.buf);
        Ok(())
    }

    /// Writes a TApplicationException (UNKNOWN_METHOD for RouteNotFound, INTERNAL_ERROR
    /// otherwise) in the request's protocol and transport, with its name and seqid. A oneway
    /// request gets no reply (nothing is written). Refused (`InvalidMetadata`) for a
    /// non-strict unframed request whose name holds control characters or was not UTF-8:
    /// such a reply could be read as a framed message.
    fn on_error(
        &mut self,
        md: &Metadata,
        error: &LocalError,
        out: &mut BytesMut,
    ) -> Result<(), CodecError> {
        if md.message_type == MessageType::Oneway {
            return Ok(());
        }
        let protocol = typed_str(md, "protocol")?;
        let transport = typed_str(md, "transport")?;
        let p = match protocol {
            "compact" => Proto::Compact,
            _ => Proto::Binary {
                strict: !matches!(md.typed("thrift_strict"), Some(TypedValue::Bool(false))),
            },
        };
        let kind = match error.kind {
            LocalErrorKind::RouteNotFound => APP_EXC_UNKNOWN_METHOD,
            _ => APP_EXC_INTERNAL_ERROR,
        };
        let name = md.get("method").unwrap_or("");
        if p == (Proto::Binary { strict: false })
            && transport == "unframed"
            && name
                .chars()
                .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
        {
            // Non-strict unframed messages are told from framed ones by their first bytes,
            // and a name with control bytes (or one that was not UTF-8, so its bytes are
            // lost) can make the reply read as a frame: refuse rather than desynchronize.
            return Err(CodecError::InvalidMetadata {
                reason: "a non-strict unframed reply cannot carry this method name unambiguously"
                    .into(),
            });
        }
        let seqid = md.request_id.unwrap_or(0) as u32 as i32;
        let mut payload = std::mem::take(&mut self.buf);
        payload.clear();
        wire::write_msg_header(&mut payload, p, name.as_bytes(), wire::T_EXCEPTION, seqid);
        wire::write_app_exception(&mut payload, p, error.message.as_bytes(), kind);
        match transport {
            "unframed" => out.extend_from_slice(&payload),
            "framed" => {
                out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                out.extend_from_slice(&payload);
            }
            _ => {
                let mut framed = Vec::with_capacity(payload.len() + 20);
                let pid = if p == Proto::Compact {
                    theader::PROTO_COMPACT
                } else {
                    theader::PROTO_BINARY
                };
                theader::frame_plain(
                    &mut framed,
                    typed_uint(md, "thrift_header_flags") as u16,
                    typed_uint(md, "thrift_header_seqid") as u32,
                    pid,
                    &payload,
                );
                out.extend_from_slice(&framed);
            }
        }
        self.buf = payload;
        Ok(())
    }
}

/// Total length of a partial frame, when its length word is already there.
fn needed_len(input: &[u8], limits: Limits) -> Option<usize> {
    if input.len() < 6 || matches!(input[0], 0x80 | 0x82) {
        return None;
    }
    let n = u32::from_be_bytes([input[0], input[1], input[2], input[3]]) as usize;
    let framed = matches!((input[4], input[5]), (0x0f, 0xff) | (0x80, 0x01)) || input[4] == 0x82;
    (framed && n <= limits.max_frame_size).then_some(n + 4)
}

/// Builds this protocol's codec for the registry.
pub(crate) fn boxed(direction: Direction, limits: Limits) -> Option<Box<dyn Codec>> {
    Some(Box::new(ThriftCodec::new(direction, limits)))
}

#[cfg(test)]
mod tests;
