//! tokio-util `Decoder`/`Encoder` over any [`Codec`] (feature `tokio`).

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{Codec, CodecError, DecodeStatus, Metadata, Mutation};

/// A decoded message: its metadata and original bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub metadata: Metadata,
    pub bytes: Bytes,
}

/// What to write: a decoded frame and a mutation to apply to it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub frame: Frame,
    pub mutation: Mutation,
}

/// Adapts a [`Codec`] to `tokio_util::codec::{Decoder, Encoder}`.
#[derive(Debug)]
pub struct MetaFramed<C> {
    codec: C,
}

impl<C: Codec> MetaFramed<C> {
    pub fn new(codec: C) -> Self {
        MetaFramed { codec }
    }

    pub fn into_inner(self) -> C {
        self.codec
    }
}

/// Errors of the adapter: I/O from the transport, or a codec error.
#[derive(Debug, thiserror::Error)]
pub enum FramedError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl<C: Codec> Decoder for MetaFramed<C> {
    type Item = Frame;
    type Error = FramedError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FramedError> {
        if src.is_empty() {
            return Ok(None);
        }
        let mut metadata = Metadata::new();
        match self.codec.decode(src, &mut metadata)? {
            DecodeStatus::Done { consumed } => Ok(Some(Frame {
                metadata,
                bytes: src.split_to(consumed).freeze(),
            })),
            DecodeStatus::NeedMoreData { needed } => {
                if let Some(n) = needed {
                    src.reserve(n.saturating_sub(src.len()));
                }
                Ok(None)
            }
        }
    }
}

impl<C: Codec> Encoder<Outgoing> for MetaFramed<C> {
    type Error = FramedError;

    fn encode(&mut self, item: Outgoing, dst: &mut BytesMut) -> Result<(), FramedError> {
        self.codec
            .encode(&item.frame.bytes, &item.frame.metadata, &item.mutation, dst)?;
        Ok(())
    }
}
