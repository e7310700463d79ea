//! The one trait every protocol implements.

use bytes::BytesMut;

use crate::{CodecError, Metadata, Mutation};

/// Result of one [`Codec::decode`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeStatus {
    /// One whole message was decoded from the front of the input; it is `consumed` bytes long.
    /// The caller drops those bytes (or forwards them) and calls `decode` again for the next.
    Done { consumed: usize },
    /// The input holds only part of a message. Nothing was consumed; call again with more bytes.
    /// `needed`, when known, is the total number of bytes the message needs.
    NeedMoreData { needed: Option<usize> },
}

/// Which side of a connection a codec instance decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Bytes sent by the client (downstream → upstream).
    Request,
    /// Bytes sent by the server (upstream → downstream).
    Response,
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "request" => Ok(Direction::Request),
            "response" => Ok(Direction::Response),
            other => Err(format!(
                "unknown direction {other:?} (expected request or response)"
            )),
        }
    }
}

/// Decoder limits. Memory use of a codec is bounded by these, never by a length the peer claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (frame) accepted, in bytes.
    pub max_frame_size: usize,
    /// Deepest nesting of containers/structs accepted.
    pub max_depth: usize,
    /// Most elements one collection (array, list, map, set) may declare.
    pub max_elements: usize,
}

impl Limits {
    /// 64 MiB frames, depth 64, 1 Mi elements per collection.
    pub const DEFAULT: Limits = Limits {
        max_frame_size: 64 * 1024 * 1024,
        max_depth: 64,
        max_elements: 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Why the proxy answers locally instead of forwarding (Aeraki's `ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocalErrorKind {
    RouteNotFound,
    ClusterNotFound,
    NoHealthyUpstream,
    OverLimit,
    BadResponse,
    Timeout,
    Unspecified,
}

impl LocalErrorKind {
    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LocalErrorKind::RouteNotFound => "route_not_found",
            LocalErrorKind::ClusterNotFound => "cluster_not_found",
            LocalErrorKind::NoHealthyUpstream => "no_healthy_upstream",
            LocalErrorKind::OverLimit => "over_limit",
            LocalErrorKind::BadResponse => "bad_response",
            LocalErrorKind::Timeout => "timeout",
            LocalErrorKind::Unspecified => "unspecified",
        }
    }
}

impl std::str::FromStr for LocalErrorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "route_not_found" => LocalErrorKind::RouteNotFound,
            "cluster_not_found" => LocalErrorKind::ClusterNotFound,
            "no_healthy_upstream" => LocalErrorKind::NoHealthyUpstream,
            "over_limit" => LocalErrorKind::OverLimit,
            "bad_response" => LocalErrorKind::BadResponse,
            "timeout" => LocalErrorKind::Timeout,
            "unspecified" => LocalErrorKind::Unspecified,
            other => return Err(format!("unknown local error kind {other:?}")),
        })
    }
}

/// A local reply to write with [`Codec::on_error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalError {
    pub kind: LocalErrorKind,
    pub message: String,
}

impl LocalError {
    pub fn new(kind: LocalErrorKind, message: impl Into<String>) -> Self {
        LocalError {
            kind,
            message: message.into(),
        }
    }
}

/// A MetaProtocol codec: one instance per connection and direction, sans-IO.
///
/// The caller owns the buffers: `decode` reads from a slice and reports how many bytes the
/// message took; `encode` is given the original message bytes back.
pub trait Codec: Send {
    /// Protocol name (`redis`, `thrift`, `dubbo`).
    fn protocol(&self) -> &'static str;

    /// Decodes one whole message from the front of `input` into `md` (which is reset first).
    ///
    /// Returns [`DecodeStatus::Done`] with the message length, or
    /// [`DecodeStatus::NeedMoreData`] when `input` holds only a prefix of a message (never an
    /// error). Error offsets are relative to the start of `input`.
    fn decode(&mut self, input: &[u8], md: &mut Metadata) -> Result<DecodeStatus, CodecError>;

    /// Writes `original` (the bytes of the message `md` was decoded from) to `out`, with
    /// `mutation` applied. An empty mutation writes `original` unchanged. A mutation the
    /// protocol cannot carry is refused with [`CodecError::MutationRefused`].
    fn encode(
        &mut self,
        original: &[u8],
        md: &Metadata,
        mutation: &Mutation,
        out: &mut BytesMut,
    ) -> Result<(), CodecError>;

    /// Writes a protocol-correct local reply to the request described by `md`.
    fn on_error(
        &mut self,
        md: &Metadata,
        error: &LocalError,
        out: &mut BytesMut,
    ) -> Result<(), CodecError>;

    /// Writes the reply to a heartbeat request. Returns `Ok(false)` (writing nothing) when the
    /// protocol has no heartbeat or `md` is not a heartbeat.
    fn heartbeat_reply(&mut self, md: &Metadata, out: &mut BytesMut) -> Result<bool, CodecError> {
        let _ = (md, out);
        Ok(false)
    }
}
