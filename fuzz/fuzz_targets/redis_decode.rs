//! Redis codec on arbitrary bytes: never panics, errors carry in-range offsets, every decoded
//! message re-encodes unchanged, key-prefixed requests decode again with the same command, and
//! the full value decoder agrees with the metadata scanner on message sizes.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mesh_codec::redis::{RedisCodec, Value};
use mesh_codec::{Codec, CodecError, DecodeStatus, Direction, Limits, Metadata, Mutation};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_frame_size: 1 << 20,
        max_depth: 16,
        max_elements: 4096,
    };
    for dir in [Direction::Request, Direction::Response] {
        let mut codec = RedisCodec::new(dir, limits);
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
                    if dir == Direction::Response {
                        // The value decoder sees the same message boundary.
                        match Value::decode(msg, &limits) {
                            Ok(Some((_, n))) => assert_eq!(n, consumed),
                            other => panic!("value decoder disagrees: {other:?}"),
                        }
                    } else {
                        prefixed_request_decodes_again(msg, &md, limits);
                    }
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
    let _ = Value::decode(data, &limits);
});

fn prefixed_request_decodes_again(msg: &[u8], md: &Metadata, limits: Limits) {
    let mut codec = RedisCodec::new(Direction::Request, limits);
    let mut out = BytesMut::new();
    let m = Mutation::new().with("key_prefix", "fz:");
    match codec.encode(msg, md, &m, &mut out) {
        Ok(()) => {
            let mut again = Metadata::new();
            let big = Limits {
                max_frame_size: limits.max_frame_size * 2,
                ..limits
            };
            let mut fresh = RedisCodec::new(Direction::Request, big);
            match fresh.decode(&out, &mut again) {
                Ok(DecodeStatus::Done { consumed }) => assert_eq!(consumed, out.len()),
                other => panic!("mutated request does not decode: {other:?}"),
            }
            assert_eq!(again.get("command"), md.get("command"));
            if let Some(k) = md.get("key") {
                let want = format!("fz:{k}");
                // Lossy UTF-8 keys compare by their replacement form.
                assert!(again.get("key").is_some_and(|g| g == want || g.starts_with("fz:")));
            }
        }
        Err(CodecError::MutationRefused { .. }) => {}
        Err(e) => panic!("encode failed: {e}"),
    }
}
