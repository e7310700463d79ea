//! # mesh-codec
//!
//! Sans-IO, MetaProtocol-style codecs: one [`Codec`] trait, any L7 protocol. A codec turns the
//! bytes of one direction of a connection into [`Metadata`] (message type, request id, routable
//! keys) and writes messages back, optionally changed by a [`Mutation`], or answers locally
//! with [`Codec::on_error`].
//!
//! ```
//! use bytes::BytesMut;
//! use mesh_codec::{new_codec, DecodeStatus, Direction, Limits, Metadata, Mutation};
//!
//! let mut codec = new_codec("redis", Direction::Request, Limits::default()).unwrap();
//! let wire = b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
//! let mut md = Metadata::new();
//! // Partial input is never an error: it asks for more.
//! assert!(matches!(codec.decode(&wire[..5], &mut md), Ok(DecodeStatus::NeedMoreData { .. })));
//! let DecodeStatus::Done { consumed } = codec.decode(wire, &mut md).unwrap() else { panic!() };
//! assert_eq!(consumed, wire.len());
//! assert_eq!(md.get("command"), Some("get"));
//! assert_eq!(md.get("key"), Some("foo"));
//! // Re-encode unchanged: the same bytes.
//! let mut out = BytesMut::new();
//! codec.encode(wire, &md, &Mutation::new(), &mut out).unwrap();
//! assert_eq!(&out[..], wire);
//! ```
//!
//! Data flows one way: `bytes → decode → Metadata → route/limit → encode`. Callers own the
//! buffers; [`stream::Framer`] helps when input arrives in arbitrary chunks, and the `tokio`
//! feature adds a `tokio_util::codec` adapter.
#![forbid(unsafe_code)] // the workspace only denies it, for the FFI crates' sake

mod codec;
mod error;
mod metadata;
pub mod stream;
#[cfg(feature = "tokio")]
pub mod tokio_adapter;

pub mod dubbo;
pub mod hessian2;
pub mod redis;
pub mod thrift;

pub use codec::{Codec, DecodeStatus, Direction, Limits, LocalError, LocalErrorKind};
pub use error::CodecError;
pub use metadata::{Headers, MessageType, Metadata, Mutation, ResponseStatus, TypedValue};

type Constructor = fn(Direction, Limits) -> Option<Box<dyn Codec>>;

/// Every codec by name: the one list [`PROTOCOLS`], [`new_codec`] and [`UnknownProtocol`] read.
const CODECS: [(&str, Constructor); 3] = [
    ("redis", redis::boxed),
    ("thrift", thrift::boxed),
    ("dubbo", dubbo::boxed),
];

/// Names accepted by [`new_codec`].
pub const PROTOCOLS: &[&str] = &{
    let mut names = [""; CODECS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = CODECS[i].0;
        i += 1;
    }
    names
};

/// Error of [`new_codec`] for a protocol name it does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?} (known: {known})", known = PROTOCOLS.join(", "))]
pub struct UnknownProtocol(pub String);

/// Creates a codec by protocol name, for one direction of one connection.
pub fn new_codec(
    protocol: &str,
    direction: Direction,
    limits: Limits,
) -> Result<Box<dyn Codec>, UnknownProtocol> {
    CODECS
        .iter()
        .find(|(name, _)| *name == protocol)
        .and_then(|(_, new)| new(direction, limits))
        .ok_or_else(|| UnknownProtocol(protocol.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_protocol_builds_its_codec_and_the_error_lists_them() {
        assert_eq!(PROTOCOLS, ["redis", "thrift", "dubbo"]);
        for name in PROTOCOLS {
            for d in [Direction::Request, Direction::Response] {
                let c = new_codec(name, d, Limits::default()).unwrap();
                assert_eq!(c.protocol(), *name);
            }
        }
        let Err(e) = new_codec("http", Direction::Request, Limits::default()) else {
            panic!("http is not a codec");
        };
        assert_eq!(
            e.to_string(),
            r#"unknown protocol "http" (known: redis, thrift, dubbo)"#
        );
    }
}
