//! Every Dubbo fixture stream (`tests/fixtures/dubbo/<name>.{request,response}.bin`) decodes
//! whole, and identically when cut at every split point.

use std::path::PathBuf;

use mesh_codec::stream::Framer;
use mesh_codec::{Codec, DecodeStatus, Direction, Limits, Metadata, Mutation, new_codec};

fn fixtures() -> Vec<(PathBuf, Direction)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dubbo");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let dir = if name.ends_with(".request.bin") {
                Direction::Request
            } else if name.ends_with(".response.bin") {
                Direction::Response
            } else {
                return None;
            };
            Some((p, dir))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(v.len() >= 2, "no fixtures found in {}", dir.display());
    v
}

/// (message bytes, debug view of its metadata) for every message of a stream.
fn decode_all(codec: &mut dyn Codec, chunks: &[&[u8]]) -> Vec<(Vec<u8>, String)> {
    let mut framer = Framer::new();
    let mut md = Metadata::new();
    let mut out = Vec::new();
    for c in chunks {
        framer.push(c);
        while let Some(msg) = framer.next_message(codec, &mut md).unwrap() {
            out.push((msg.to_vec(), format!("{md:?}")));
        }
    }
    assert_eq!(framer.buffered(), 0, "stream ends mid-message");
    out
}

#[test]
fn fixtures_decode_at_every_split_point() {
    for (path, dir) in fixtures() {
        let bytes = std::fs::read(&path).unwrap();
        let mut codec = new_codec("dubbo", dir, Limits::default()).unwrap();
        let whole = decode_all(codec.as_mut(), &[&bytes]);
        assert!(!whole.is_empty(), "{}", path.display());
        // Every split point inside every message: the prefix is never an error, only a request
        // for more bytes, and the message decodes once complete.
        let mut md = Metadata::new();
        let mut at = 0;
        for (msg, _) in &whole {
            for k in 0..msg.len() {
                let st = codec.decode(&bytes[at..at + k], &mut md).unwrap();
                assert!(
                    matches!(st, DecodeStatus::NeedMoreData { .. }),
                    "{} message at {at} cut at {k}: {st:?}",
                    path.display()
                );
            }
            at += msg.len();
        }
        // Streams fed in two chunks (every split point for small streams; around every message
        // boundary and on a stride for large ones) give the same messages.
        let splits: Vec<usize> = if bytes.len() <= 8192 {
            (0..=bytes.len()).collect()
        } else {
            let mut v: Vec<usize> = (0..=bytes.len()).step_by(bytes.len() / 61).collect();
            let mut b = 0;
            for (msg, _) in &whole {
                b += msg.len();
                v.extend(b.saturating_sub(3)..(b + 3).min(bytes.len()));
            }
            v
        };
        for i in splits {
            let mut codec = new_codec("dubbo", dir, Limits::default()).unwrap();
            let split = decode_all(codec.as_mut(), &[&bytes[..i], &bytes[i..]]);
            assert_eq!(split, whole, "{} split at {i}", path.display());
        }
        // Re-encoding without a mutation gives back the same bytes.
        let mut at = 0;
        while at < bytes.len() {
            let DecodeStatus::Done { consumed } = codec.decode(&bytes[at..], &mut md).unwrap()
            else {
                panic!("incomplete")
            };
            let mut out = bytes::BytesMut::new();
            codec
                .encode(&bytes[at..at + consumed], &md, &Mutation::new(), &mut out)
                .unwrap();
            assert_eq!(&out[..], &bytes[at..at + consumed]);
            at += consumed;
        }
    }
}
