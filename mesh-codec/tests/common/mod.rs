//! Helpers shared by the integration tests.

use mesh_codec::{Codec, DecodeStatus, Metadata};

/// Decodes every message of a stream that must be whole, reusing `md`; returns the count.
/// `check` sees each message's metadata.
pub fn decode_all_with(
    codec: &mut dyn Codec,
    md: &mut Metadata,
    input: &[u8],
    mut check: impl FnMut(&Metadata),
) -> usize {
    let mut off = 0;
    let mut n = 0;
    while off < input.len() {
        match codec.decode(&input[off..], md).unwrap() {
            DecodeStatus::Done { consumed } => off += consumed,
            DecodeStatus::NeedMoreData { .. } => panic!("incomplete message at offset {off}"),
        }
        check(md);
        n += 1;
    }
    n
}
