//! Feeding a codec with input that arrives in arbitrary chunks.

use bytes::{Buf, Bytes, BytesMut};

use crate::{Codec, CodecError, DecodeStatus, Metadata};

/// Accumulates chunks of one direction of a connection and cuts whole messages out of them.
///
/// ```
/// use mesh_codec::{new_codec, Direction, Limits, Metadata, stream::Framer};
/// let mut codec = new_codec("redis", Direction::Request, Limits::default()).unwrap();
/// let mut framer = Framer::new();
/// let mut md = Metadata::new();
/// framer.push(b"*1\r\n$4\r\nPI");
/// assert!(framer.next_message(codec.as_mut(), &mut md).unwrap().is_none());
/// framer.push(b"NG\r\n");
/// let msg = framer.next_message(codec.as_mut(), &mut md).unwrap().unwrap();
/// assert_eq!(&msg[..], b"*1\r\n$4\r\nPING\r\n");
/// assert_eq!(md.get("command"), Some("ping"));
/// ```
#[derive(Debug, Default)]
pub struct Framer {
    buf: BytesMut,
    /// Bytes already cut out before the current buffer start (for stream offsets in errors).
    consumed: usize,
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes buffered and not yet cut into a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Stream offset of the first buffered byte.
    pub fn offset(&self) -> usize {
        self.consumed
    }

    /// Decodes the next whole message, returning its original bytes (zero-copy), or `None`
    /// when more input is needed. Error offsets are stream offsets.
    pub fn next_message(
        &mut self,
        codec: &mut dyn Codec,
        md: &mut Metadata,
    ) -> Result<Option<Bytes>, CodecError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        match codec
            .decode(&self.buf, md)
            .map_err(|e| e.shifted(self.consumed))?
        {
            DecodeStatus::Done { consumed } => {
                self.consumed += consumed;
                Ok(Some(self.buf.split_to(consumed).freeze()))
            }
            DecodeStatus::NeedMoreData { .. } => Ok(None),
        }
    }

    /// Drops `n` buffered bytes without decoding them.
    pub fn skip(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.advance(n);
        self.consumed += n;
    }
}

/// How [`decode_all`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// Every byte was part of a whole message.
    Complete,
    /// The input ends inside the message that starts at `offset`.
    Incomplete { offset: usize },
    /// `each` asked to stop after the message ending at `offset`.
    Stopped { offset: usize },
}

/// Decodes a whole buffered stream (one direction of a connection) message by message, calling
/// `each(metadata, offset, size)` for every message; `each` returns `false` to stop early.
/// Errors carry stream offsets.
///
/// ```
/// use mesh_codec::stream::{decode_all, StreamEnd};
/// use mesh_codec::{new_codec, Direction, Limits, Metadata};
/// let mut codec = new_codec("redis", Direction::Request, Limits::default()).unwrap();
/// let mut commands = Vec::new();
/// let end = decode_all(codec.as_mut(), b"PING\r\n*1\r\n$4\r\nQU", &mut Metadata::new(), |md, _, _| {
///     commands.push(md.get("command").unwrap().to_string());
///     true
/// });
/// assert_eq!(end, Ok(StreamEnd::Incomplete { offset: 6 }));
/// assert_eq!(commands, ["ping"]);
/// ```
pub fn decode_all(
    codec: &mut dyn Codec,
    input: &[u8],
    md: &mut Metadata,
    mut each: impl FnMut(&Metadata, usize, usize) -> bool,
) -> Result<StreamEnd, CodecError> {
    let mut offset = 0;
    while offset < input.len() {
        match codec
            .decode(&input[offset..], md)
            .map_err(|e| e.shifted(offset))?
        {
            DecodeStatus::Done { consumed } => {
                let keep_going = each(md, offset, consumed);
                offset += consumed;
                if !keep_going {
                    return Ok(StreamEnd::Stopped { offset });
                }
            }
            DecodeStatus::NeedMoreData { .. } => return Ok(StreamEnd::Incomplete { offset }),
        }
    }
    Ok(StreamEnd::Complete)
}
