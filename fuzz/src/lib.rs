//! Shared driver for the per-codec fuzz targets: the stream loop and the invariants every codec
//! owes, so each target only adds its protocol's own checks.

use bytes::BytesMut;
use mesh_codec::{Codec, CodecError, DecodeStatus, Direction, Limits, Metadata, Mutation};

/// Small limits, so hostile inputs reach them quickly.
pub const LIMITS: Limits = Limits {
    max_frame_size: 1 << 20,
    max_depth: 16,
    max_elements: 4096,
};

/// Decodes `data` as one stream per direction with codecs made by `make`, checking that every
/// decoded message lies inside the input and re-encodes unchanged, that `NeedMoreData` asks for
/// more than is there, and that errors carry an in-range offset. `each` sees every message.
pub fn drive<C: Codec>(
    data: &[u8],
    make: impl Fn(Direction, Limits) -> C,
    mut each: impl FnMut(Direction, &[u8], &Metadata),
) {
    for dir in [Direction::Request, Direction::Response] {
        let mut codec = make(dir, LIMITS);
        let mut md = Metadata::new();
        let mut off = 0;
        while off < data.len() {
            let rest = &data[off..];
            match codec.decode(rest, &mut md) {
                Ok(DecodeStatus::Done { consumed }) => {
                    assert!(consumed > 0 && consumed <= rest.len());
                    let msg = &rest[..consumed];
                    let mut out = BytesMut::new();
                    codec.encode(msg, &md, &Mutation::new(), &mut out).unwrap();
                    assert_eq!(&out[..], msg);
                    each(dir, msg, &md);
                    off += consumed;
                }
                Ok(DecodeStatus::NeedMoreData { needed }) => {
                    if let Some(n) = needed {
                        assert!(n > rest.len(), "needs {n} but {} are there", rest.len());
                    }
                    break;
                }
                Err(e) => {
                    assert!(e.offset().is_some_and(|o| o <= rest.len()), "{e:?}");
                    break;
                }
            }
        }
    }
}

/// Encodes `msg` with `mutation` and decodes the result with a fresh codec (twice the frame
/// limit, since a mutation may grow the message), which must consume it whole. `None` when the
/// codec refused the mutation; any other encode failure panics.
pub fn mutate_and_redecode<C: Codec>(
    make: impl Fn(Direction, Limits) -> C,
    dir: Direction,
    msg: &[u8],
    md: &Metadata,
    mutation: &Mutation,
) -> Option<Metadata> {
    let mut out = BytesMut::new();
    match make(dir, LIMITS).encode(msg, md, mutation, &mut out) {
        Ok(()) => {}
        Err(CodecError::MutationRefused { .. }) => return None,
        Err(e) => panic!("encode failed: {e}"),
    }
    let big = Limits {
        max_frame_size: LIMITS.max_frame_size * 2,
        ..LIMITS
    };
    let mut again = Metadata::new();
    match make(dir, big).decode(&out, &mut again) {
        Ok(DecodeStatus::Done { consumed }) => assert_eq!(consumed, out.len()),
        other => panic!("mutated message does not decode: {other:?}"),
    }
    Some(again)
}
