//! Dubbo codec on arbitrary bytes: never panics, errors carry in-range offsets, every decoded
//! message re-encodes unchanged, and a message whose attachments accept a mutation decodes
//! again with the added attachment and the same routing keys.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mesh_codec::dubbo::DubboCodec;
use mesh_codec::{Codec, CodecError, DecodeStatus, Direction, Limits, Metadata, Mutation};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_frame_size: 1 << 20,
        max_depth: 16,
        max_elements: 4096,
    };
    for dir in [Direction::Request, Direction::Response] {
        let mut codec = DubboCodec::new(dir, limits);
        let mut md = Metadata::new();
        let mut off = 0;
        while off < data.len() {
            let rest = &data[off..];
            match codec.decode(rest, &mut md) {
                Ok(DecodeStatus::Done { consumed }) => {
                    assert!(consumed >= 16 && consumed <= rest.len());
                    let msg = &rest[..consumed];
                    let mut out = BytesMut::new();
                    codec.encode(msg, &md, &Mutation::new(), &mut out).unwrap();
                    assert_eq!(&out[..], msg);
                    mutated_decodes_again(dir, msg, &md, limits);
                    off += consumed;
                }
                Ok(DecodeStatus::NeedMoreData { .. }) => break,
                Err(e) => {
                    assert!(e.offset().is_some_and(|o| o <= rest.len()), "{e:?}");
                    break;
                }
            }
        }
    }
});

fn mutated_decodes_again(dir: Direction, msg: &[u8], md: &Metadata, limits: Limits) {
    let mut codec = DubboCodec::new(dir, limits);
    let mut out = BytesMut::new();
    let m = Mutation::new().with("x-fz", "1");
    match codec.encode(msg, md, &m, &mut out) {
        Ok(()) => {
            let big = Limits {
                max_frame_size: limits.max_frame_size * 2,
                ..limits
            };
            let mut fresh = DubboCodec::new(dir, big);
            let mut again = Metadata::new();
            match fresh.decode(&out, &mut again) {
                Ok(DecodeStatus::Done { consumed }) => assert_eq!(consumed, out.len()),
                other => panic!("mutated message does not decode: {other:?}"),
            }
            assert_eq!(again.get("x-fz"), Some("1"));
            for k in ["interface", "method", "version"] {
                assert_eq!(again.get(k), md.get(k), "{k}");
            }
            assert_eq!(again.request_id, md.request_id);
        }
        Err(CodecError::MutationRefused { .. }) => {}
        Err(e) => panic!("encode failed: {e}"),
    }
}
