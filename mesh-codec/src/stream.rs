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
