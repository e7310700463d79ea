//! Dubbo2 codec (the `dubbo://` protocol with Hessian2 bodies).
//!
//! Frames are a 16-byte header (magic `0xdabb`, flags, status, request id, body length) and a
//! Hessian2 body. Only serialization id 2 (hessian2) is decoded; any other id is a clear
//! [`CodecError::Unsupported`].
//!
//! Metadata of a request: headers `interface` (service path), `method`, `version` (the body's
//! service version) and every attachment whose key and value are strings (Aeraki semantics; an
//! attachment never overrides `interface`, `method` or `version` taken from the body); request
//! id; message type `request`, `oneway` or `heartbeat`. Arguments are skipped, never decoded:
//! their count comes from the parameter-types descriptor.
//!
//! Metadata of a response: status `Ok` iff the status code is 20, typed `status_code` (`"20"`,
//! `"60"`…), `response_type` (`value`, `null_value`, `exception`, each `_with_attachments` when
//! the flag says so) and the string attachments of flags 3–5 as headers.
//!
//! `encode` applies a [`Mutation`] by rewriting the attachment map (every other byte is copied)
//! and the body length. `on_error` writes a Dubbo error response: status 60 for
//! route-not-found, 50 for a bad upstream response, 31 for a timeout, 100 when over a limit and
//! 80 otherwise, with the message as a Hessian2 string body (what Dubbo itself sends).
//!
//! ```
//! use mesh_codec::{dubbo::DubboCodec, Codec, DecodeStatus, Direction, Limits, Metadata};
//! let mut body = Vec::new();
//! for s in ["2.0.2", "demo.Greeter", "1.0.0", "hello", "Ljava/lang/String;", "world"] {
//!     mesh_codec::hessian2::write_string(&mut body, s);
//! }
//! body.extend_from_slice(b"\x48\x05group\x02g1\x5a"); // attachments {group: g1}
//! let mut frame = vec![0xda, 0xbb, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 7];
//! frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
//! frame.extend_from_slice(&body);
//! let mut codec = DubboCodec::new(Direction::Request, Limits::default());
//! let mut md = Metadata::new();
//! assert_eq!(codec.decode(&frame, &mut md), Ok(DecodeStatus::Done { consumed: frame.len() }));
//! assert_eq!(md.get("interface"), Some("demo.Greeter"));
//! assert_eq!(md.get("method"), Some("hello"));
//! assert_eq!(md.get("version"), Some("1.0.0"));
//! assert_eq!(md.get("group"), Some("g1"));
//! assert_eq!(md.request_id, Some(7));
//! ```

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};

use crate::hessian2::{self, Context, Decoder, HessianLimits};
use crate::{
    Codec, CodecError, DecodeStatus, Direction, Limits, LocalError, LocalErrorKind, MessageType,
    Metadata, Mutation, ResponseStatus, TypedValue,
};

/// The two magic bytes that open every frame.
pub const MAGIC: [u8; 2] = [0xda, 0xbb];
/// Header length.
pub const HEADER_LEN: usize = 16;
/// Flag bit: the frame is a request.
pub const FLAG_REQUEST: u8 = 0x80;
/// Flag bit: the request expects a response.
pub const FLAG_TWO_WAY: u8 = 0x40;
/// Flag bit: an event (heartbeat).
pub const FLAG_EVENT: u8 = 0x20;
/// Mask of the serialization id in the flag byte.
pub const SERIALIZATION_MASK: u8 = 0x1f;
/// Serialization id of hessian2, the only one decoded.
pub const HESSIAN2: u8 = 2;

/// Response status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    Ok = 20,
    ClientTimeout = 30,
    ServerTimeout = 31,
    BadRequest = 40,
    BadResponse = 50,
    ServiceNotFound = 60,
    ServiceError = 70,
    ServerError = 80,
    ClientError = 90,
    ServerThreadpoolExhausted = 100,
}

impl Status {
    /// The status of a code, `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<Status> {
        Some(match code {
            20 => Status::Ok,
            30 => Status::ClientTimeout,
            31 => Status::ServerTimeout,
            40 => Status::BadRequest,
            50 => Status::BadResponse,
            60 => Status::ServiceNotFound,
            70 => Status::ServiceError,
            80 => Status::ServerError,
            90 => Status::ClientError,
            100 => Status::ServerThreadpoolExhausted,
            _ => return None,
        })
    }

    /// The code as decimal text (`"60"`), as metadata shows it.
    pub fn code_str(self) -> &'static str {
        match self {
            Status::Ok => "20",
            Status::ClientTimeout => "30",
            Status::ServerTimeout => "31",
            Status::BadRequest => "40",
            Status::BadResponse => "50",
            Status::ServiceNotFound => "60",
            Status::ServiceError => "70",
            Status::ServerError => "80",
            Status::ClientError => "90",
            Status::ServerThreadpoolExhausted => "100",
        }
    }

    /// The status a local error is answered with.
    pub fn for_local_error(kind: LocalErrorKind) -> Status {
        match kind {
            LocalErrorKind::RouteNotFound => Status::ServiceNotFound,
            LocalErrorKind::BadResponse => Status::BadResponse,
            LocalErrorKind::Timeout => Status::ServerTimeout,
            LocalErrorKind::OverLimit => Status::ServerThreadpoolExhausted,
            LocalErrorKind::ClusterNotFound
            | LocalErrorKind::NoHealthyUpstream
            | LocalErrorKind::Unspecified => Status::ServerError,
        }
    }
}

/// The decoded 16-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub flags: u8,
    pub status: u8,
    pub request_id: u64,
    pub body_len: usize,
}

impl Header {
    pub fn is_request(&self) -> bool {
        self.flags & FLAG_REQUEST != 0
    }
    pub fn is_two_way(&self) -> bool {
        self.flags & FLAG_TWO_WAY != 0
    }
    pub fn is_event(&self) -> bool {
        self.flags & FLAG_EVENT != 0
    }
    pub fn serialization(&self) -> u8 {
        self.flags & SERIALIZATION_MASK
    }
    /// Header plus body.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.body_len
    }
}

/// Parses a header; `Ok(None)` when fewer than 16 bytes are available.
pub fn parse_header(input: &[u8], limits: &Limits) -> Result<Option<Header>, CodecError> {
    if input.len() < HEADER_LEN {
        if input.len() >= 2 && input[..2] != MAGIC || !input.is_empty() && input[0] != MAGIC[0] {
            return Err(CodecError::malformed(
                0,
                "not a dubbo frame (magic 0xdabb expected)",
            ));
        }
        return Ok(None);
    }
    if input[..2] != MAGIC {
        return Err(CodecError::malformed(
            0,
            "not a dubbo frame (magic 0xdabb expected)",
        ));
    }
    let flags = input[2];
    let status = input[3];
    let mut id = [0u8; 8];
    id.copy_from_slice(&input[4..12]);
    let len = i32::from_be_bytes([input[12], input[13], input[14], input[15]]);
    if len < 0 {
        return Err(CodecError::malformed(12, "negative body length"));
    }
    let body_len = len as usize;
    if HEADER_LEN + body_len > limits.max_frame_size {
        return Err(CodecError::FrameTooLarge {
            offset: 12,
            size: (HEADER_LEN + body_len) as u64,
            limit: limits.max_frame_size,
        });
    }
    Ok(Some(Header {
        flags,
        status,
        request_id: u64::from_be_bytes(id),
        body_len,
    }))
}

/// Number of arguments a JVM parameter-types descriptor (`Ljava/lang/String;I[J`) declares.
pub fn count_args(desc: &str) -> Option<usize> {
    let b = desc.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b'[' {
            i += 1;
        }
        match b.get(i)? {
            b'V' | b'Z' | b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' => i += 1,
            b'L' => i += b[i..].iter().position(|&c| c == b';')? + 1,
            _ => return None,
        }
        n += 1;
    }
    Some(n)
}

const RESPONSE_TYPES: [&str; 6] = [
    "exception",
    "value",
    "null_value",
    "exception_with_attachments",
    "value_with_attachments",
    "null_value_with_attachments",
];

/// The Dubbo codec for one direction of one connection.
#[derive(Debug)]
pub struct DubboCodec {
    direction: Direction,
    limits: Limits,
    /// Reused Hessian stream state (class definitions, types) of the current body.
    ctx: Context,
}

pub(crate) fn boxed(direction: Direction, limits: Limits) -> Option<Box<dyn Codec>> {
    Some(Box::new(DubboCodec::new(direction, limits)))
}

fn hessian_limits(l: &Limits) -> HessianLimits {
    HessianLimits {
        max_depth: l.max_depth,
        max_string_len: l.max_frame_size,
        max_binary_len: l.max_frame_size,
        max_collection_len: l.max_elements,
    }
}

/// Where the attachment map of a body is, found by walking the body.
struct BodyLayout {
    /// Offset (in the body) of the attachment map, `None` when the body has none.
    map_at: Option<usize>,
}

fn hes(e: hessian2::HessianError) -> CodecError {
    CodecError::from(e.shifted(HEADER_LEN))
}

fn is_string_tag(d: &Decoder<'_>) -> bool {
    d.peek().is_some_and(Decoder::is_string_tag)
}

impl DubboCodec {
    pub fn new(direction: Direction, limits: Limits) -> Self {
        DubboCodec {
            direction,
            limits,
            ctx: Context::default(),
        }
    }

    /// Walks a request body up to its attachment map; fills `md` when given.
    fn walk_request<'a>(
        d: &mut Decoder<'a>,
        mut md: Option<&mut Metadata>,
        max_args: usize,
    ) -> Result<BodyLayout, CodecError> {
        let _dubbo_version = d.read_str().map_err(hes)?;
        let path = d.read_str().map_err(hes)?;
        let version = d.read_opt_str().map_err(hes)?;
        let method = d.read_str().map_err(hes)?;
        let desc_at = d.position();
        let desc = d.read_str().map_err(hes)?;
        let nargs = count_args(&desc).ok_or_else(|| {
            CodecError::malformed(HEADER_LEN + desc_at, "invalid parameter-types descriptor")
        })?;
        if nargs > max_args {
            return Err(CodecError::TooManyElements {
                offset: HEADER_LEN + desc_at,
                count: nargs as u64,
                limit: max_args,
            });
        }
        if let Some(md) = md.as_deref_mut() {
            md.headers.insert("interface", &path);
            md.headers.insert("method", &method);
            if let Some(v) = &version {
                md.headers.insert("version", v);
            }
        }
        for _ in 0..nargs {
            d.skip().map_err(hes)?;
        }
        if d.is_empty() {
            return Ok(BodyLayout { map_at: None });
        }
        let map_at = d.position();
        if let Some(md) = md {
            Self::read_attachments(d, md)?;
        }
        Ok(BodyLayout {
            map_at: Some(map_at),
        })
    }

    /// Reads an attachment map, putting its string entries into `md.headers`.
    fn read_attachments(d: &mut Decoder<'_>, md: &mut Metadata) -> Result<(), CodecError> {
        d.begin_map().map_err(hes)?;
        while !d.next_is_end().map_err(hes)? {
            if !is_string_tag(d) {
                d.skip().map_err(hes)?;
                d.skip().map_err(hes)?;
                continue;
            }
            let key = d.read_str().map_err(hes)?;
            if !is_string_tag(d) {
                d.skip().map_err(hes)?;
                continue;
            }
            let value = d.read_str().map_err(hes)?;
            let reserved = ["interface", "method", "version"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&key));
            if !reserved || md.headers.get(&key).is_none() {
                md.headers.insert(&key, &value);
            }
        }
        Ok(())
    }

    /// Walks a status-20 response body up to its attachment map.
    fn walk_response(d: &mut Decoder<'_>) -> Result<(usize, Option<usize>), CodecError> {
        let off = d.position();
        let flag = d.read_int().map_err(hes)?;
        if !(0..=5).contains(&flag) {
            return Err(CodecError::malformed(
                HEADER_LEN + off,
                "response flag out of range 0..=5",
            ));
        }
        if matches!(flag, 0 | 1 | 3 | 4) {
            d.skip().map_err(hes)?;
        }
        let map_at = if flag >= 3 { Some(d.position()) } else { None };
        Ok((flag as usize, map_at))
    }

    fn decode_body(
        &mut self,
        h: &Header,
        body: &[u8],
        md: &mut Metadata,
    ) -> Result<(), CodecError> {
        let hl = hessian_limits(&self.limits);
        let mut d = Decoder::with_context(body, hl, std::mem::take(&mut self.ctx));
        let r = if h.is_request() {
            Self::walk_request(&mut d, Some(md), self.limits.max_elements).map(|_| ())
        } else {
            let status = Status::from_code(h.status).expect("checked by decode");
            if status == Status::Ok {
                Self::walk_response(&mut d).and_then(|(flag, map_at)| {
                    md.set_typed("response_type", TypedValue::Str(RESPONSE_TYPES[flag]));
                    if map_at.is_some() {
                        Self::read_attachments(&mut d, md)?;
                    }
                    Ok(())
                })
            } else {
                // The body of a failed response is the error message.
                d.skip().map_err(hes)
            }
        };
        self.ctx = d.into_context();
        r
    }
}

impl Codec for DubboCodec {
    fn protocol(&self) -> &'static str {
        "dubbo"
    }

    fn decode(&mut self, input: &[u8], md: &mut Metadata) -> Result<DecodeStatus, CodecError> {
        let Some(h) = parse_header(input, &self.limits)? else {
            return Ok(DecodeStatus::NeedMoreData {
                needed: Some(HEADER_LEN),
            });
        };
        if input.len() < h.frame_len() {
            return Ok(DecodeStatus::NeedMoreData {
                needed: Some(h.frame_len()),
            });
        }
        md.reset();
        md.request_id = Some(h.request_id);
        md.header_size = HEADER_LEN;
        md.body_size = h.body_len;
        md.message_size = h.frame_len();
        if h.is_request() {
            md.set_typed("two_way", TypedValue::Bool(h.is_two_way()));
        } else {
            let status = Status::from_code(h.status).ok_or_else(|| {
                CodecError::malformed(3, format!("unknown dubbo status code {}", h.status))
            })?;
            md.status = Some(if status == Status::Ok {
                ResponseStatus::Ok
            } else {
                ResponseStatus::Error
            });
            md.set_typed("status_code", TypedValue::Str(status.code_str()));
        }
        if h.is_event() {
            // Heartbeats travel both ways (servers probe idle clients too); bodies are skipped.
            md.message_type = MessageType::Heartbeat;
            return Ok(DecodeStatus::Done {
                consumed: h.frame_len(),
            });
        }
        if h.serialization() != HESSIAN2 {
            return Err(CodecError::Unsupported {
                offset: 2,
                what: Cow::Owned(format!(
                    "dubbo serialization id {} (only hessian2 = 2 is supported)",
                    h.serialization()
                )),
            });
        }
        let expect_request = self.direction == Direction::Request;
        if h.is_request() != expect_request {
            return Err(CodecError::malformed(
                2,
                if expect_request {
                    "response frame on the request direction"
                } else {
                    "request frame on the response direction"
                },
            ));
        }
        md.message_type = if !h.is_request() {
            MessageType::Response
        } else if h.is_two_way() {
            MessageType::Request
        } else {
            MessageType::Oneway
        };
        self.decode_body(&h, &input[HEADER_LEN..h.frame_len()], md)?;
        Ok(DecodeStatus::Done {
            consumed: h.frame_len(),
        })
    }

    fn encode(
        &mut self,
        original: &[u8],
        _md: &Metadata,
        mutation: &Mutation,
        out: &mut BytesMut,
    ) -> Result<(), CodecError> {
        if mutation.is_empty() {
            out.extend_from_slice(original);
            return Ok(());
        }
        let Some(h) = parse_header(original, &self.limits)? else {
            return Err(CodecError::InvalidMetadata {
                reason: "encode needs the whole original frame".into(),
            });
        };
        if original.len() < h.frame_len() {
            return Err(CodecError::InvalidMetadata {
                reason: "encode needs the whole original frame".into(),
            });
        }
        if h.is_event() {
            return Err(CodecError::MutationRefused {
                reason: "dubbo heartbeats carry no attachments".into(),
            });
        }
        if h.serialization() != HESSIAN2 {
            return Err(CodecError::MutationRefused {
                reason: "only hessian2 bodies can be rewritten".into(),
            });
        }
        let body = &original[HEADER_LEN..h.frame_len()];
        let hl = hessian_limits(&self.limits);
        let mut d = Decoder::with_context(body, hl, std::mem::take(&mut self.ctx));
        let start = out.len();
        let r = rewrite(&mut d, &h, body, original, mutation, &self.limits, out);
        self.ctx = d.into_context();
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    fn on_error(
        &mut self,
        md: &Metadata,
        error: &LocalError,
        out: &mut BytesMut,
    ) -> Result<(), CodecError> {
        if md.message_type == MessageType::Oneway {
            // A oneway request has no reply to carry the error.
            return Ok(());
        }
        let id = md.request_id.ok_or(CodecError::InvalidMetadata {
            reason: "on_error needs the request id".into(),
        })?;
        let status = Status::for_local_error(error.kind);
        out.put_slice(&MAGIC);
        out.put_u8(HESSIAN2);
        out.put_u8(status as u8);
        out.put_u64(id);
        let len_at = out.len();
        out.put_u32(0);
        hessian2::write_string(out, &error.message);
        let body_len = out.len() - len_at - 4;
        out[len_at..len_at + 4].copy_from_slice(&(body_len as u32).to_be_bytes());
        Ok(())
    }

    fn heartbeat_reply(&mut self, md: &Metadata, out: &mut BytesMut) -> Result<bool, CodecError> {
        let two_way = matches!(md.typed("two_way"), Some(TypedValue::Bool(true)));
        if md.message_type != MessageType::Heartbeat || md.status.is_some() || !two_way {
            return Ok(false);
        }
        out.put_slice(&MAGIC);
        out.put_u8(FLAG_EVENT | HESSIAN2);
        out.put_u8(Status::Ok as u8);
        out.put_u64(md.request_id.unwrap_or(0));
        out.put_u32(1);
        out.put_u8(b'N');
        Ok(true)
    }
}

/// Writes `original` with its attachment map rewritten by `mutation`.
fn rewrite(
    d: &mut Decoder<'_>,
    h: &Header,
    body: &[u8],
    original: &[u8],
    mutation: &Mutation,
    limits: &Limits,
    out: &mut BytesMut,
) -> Result<(), CodecError> {
    let map_at = if h.is_request() {
        DubboCodec::walk_request(d, None, limits.max_elements)?.map_at
    } else {
        if h.status != Status::Ok as u8 {
            return Err(CodecError::MutationRefused {
                reason: "a failed dubbo response (status != 20) has no attachments".into(),
            });
        }
        let (_, map_at) = DubboCodec::walk_response(d)?;
        if map_at.is_none() {
            return Err(CodecError::MutationRefused {
                reason: "this dubbo response carries no attachment map (flag 0..2)".into(),
            });
        }
        map_at
    };
    let start = out.len();
    let body_start = start + HEADER_LEN;
    match map_at {
        None => {
            // A request without attachments: add a map.
            out.extend_from_slice(&original[..h.frame_len()]);
            out.put_u8(b'H');
            for (k, v) in mutation.iter() {
                hessian2::write_string(out, k);
                hessian2::write_string(out, v);
            }
            out.put_u8(b'Z');
        }
        Some(map_at) => {
            out.extend_from_slice(&original[..HEADER_LEN + map_at]);
            d.begin_map().map_err(hes)?;
            out.extend_from_slice(&body[map_at..d.position()]);
            let mut used = vec![false; mutation.iter().len()];
            while !d.next_is_end().map_err(hes)? {
                let key_at = d.position();
                let key = if is_string_tag(d) {
                    Some(d.read_str().map_err(hes)?)
                } else {
                    d.skip().map_err(hes)?;
                    None
                };
                let value_at = d.position();
                let before = (
                    d.context().ref_count(),
                    d.context().class_count(),
                    d.context().type_count(),
                );
                d.skip().map_err(hes)?;
                let after = (
                    d.context().ref_count(),
                    d.context().class_count(),
                    d.context().type_count(),
                );
                let hit = key
                    .as_deref()
                    .and_then(|k| mutation.iter().position(|(mk, _)| mk == k));
                match hit {
                    Some(i) => {
                        if before != after {
                            return Err(CodecError::MutationRefused {
                                reason: "the attachment to replace holds a referenced value".into(),
                            });
                        }
                        used[i] = true;
                        out.extend_from_slice(&body[key_at..value_at]);
                        let (_, v) = mutation.iter().nth(i).expect("index from position");
                        hessian2::write_string(out, v);
                    }
                    None => out.extend_from_slice(&body[key_at..d.position()]),
                }
            }
            for ((k, v), used) in mutation.iter().zip(&used) {
                if !used {
                    hessian2::write_string(out, k);
                    hessian2::write_string(out, v);
                }
            }
            out.put_u8(b'Z');
            out.extend_from_slice(&body[d.position()..]);
        }
    }
    let body_len = out.len() - body_start;
    if body_len > i32::MAX as usize || HEADER_LEN + body_len > limits.max_frame_size {
        out.truncate(start);
        return Err(CodecError::MutationRefused {
            reason: "the rewritten frame would exceed the frame size limit".into(),
        });
    }
    out[start + 12..start + 16].copy_from_slice(&(body_len as u32).to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests;
