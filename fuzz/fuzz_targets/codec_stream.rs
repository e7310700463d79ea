//! Any codec through `stream::Framer` in random chunks decodes exactly what decoding the whole
//! input does: same messages, same metadata, same error. Input layout: byte 0 picks the
//! protocol (from `mesh_codec::PROTOCOLS`), byte 1 the direction, byte 2 seeds the chunk sizes;
//! the rest is the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mesh_codec::stream::Framer;
use mesh_codec::{DecodeStatus, Direction, Limits, Metadata, Mutation, PROTOCOLS, new_codec};

#[derive(Debug, PartialEq)]
struct Msg {
    size: usize,
    summary: String,
}

fn summary(md: &Metadata) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        md.message_type, md.request_id, md.stream_id, md.status, md.headers, md.typed
    )
}

const LIMITS: Limits = Limits {
    max_frame_size: 1 << 20,
    max_depth: 16,
    max_elements: 4096,
};

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let protocol = PROTOCOLS[data[0] as usize % PROTOCOLS.len()];
    let dir = if data[1] & 1 == 0 {
        Direction::Request
    } else {
        Direction::Response
    };
    let mut seed = u32::from(data[2]) | 0x100;
    let input = &data[3..];
    let Ok(mut whole_codec) = new_codec(protocol, dir, LIMITS) else {
        return; // that codec has not landed yet
    };

    // Whole input at once.
    let mut whole = Vec::new();
    let mut whole_err = None;
    let mut md = Metadata::new();
    let mut off = 0;
    while off < input.len() {
        match whole_codec.decode(&input[off..], &mut md) {
            Ok(DecodeStatus::Done { consumed }) => {
                assert!(consumed > 0 && consumed <= input.len() - off);
                let msg = &input[off..off + consumed];
                let mut out = BytesMut::new();
                whole_codec
                    .encode(msg, &md, &Mutation::new(), &mut out)
                    .unwrap();
                assert_eq!(&out[..], msg, "{protocol}: unchanged re-encode differs");
                whole.push(Msg {
                    size: consumed,
                    summary: summary(&md),
                });
                off += consumed;
            }
            Ok(DecodeStatus::NeedMoreData { .. }) => break,
            Err(e) => {
                whole_err = Some(e.shifted(off).to_string());
                break;
            }
        }
    }

    // The same bytes in pseudo-random chunks of 1..=64 bytes.
    let mut codec = new_codec(protocol, dir, LIMITS).unwrap();
    let mut framer = Framer::new();
    let mut chunked = Vec::new();
    let mut chunked_err = None;
    let mut pos = 0;
    'feed: while pos < input.len() {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (((seed >> 16) % 64) as usize + 1).min(input.len() - pos);
        framer.push(&input[pos..pos + n]);
        pos += n;
        loop {
            match framer.next_message(codec.as_mut(), &mut md) {
                Ok(Some(msg)) => chunked.push(Msg {
                    size: msg.len(),
                    summary: summary(&md),
                }),
                Ok(None) => break,
                Err(e) => {
                    chunked_err = Some(e.to_string());
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(chunked, whole, "{protocol} {dir:?}: chunked decode differs");
    assert_eq!(chunked_err, whole_err, "{protocol} {dir:?}: errors differ");
});
