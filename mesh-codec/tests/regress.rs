//! Inputs the fuzzers found, pinned: a chunked decode must give exactly what a whole decode gives.

use mesh_codec::stream::{Framer, decode_all};
use mesh_codec::{Direction, Limits, Metadata, new_codec};

/// (protocol, direction, file under tests/regress/).
const CASES: &[(&str, Direction, &str)] = &[(
    "thrift",
    Direction::Request,
    "thrift-unframed-oversize.request.bin",
)];

const LIMITS: Limits = Limits {
    max_frame_size: 1 << 20,
    max_depth: 16,
    max_elements: 4096,
};

fn decode_whole(protocol: &str, dir: Direction, input: &[u8]) -> (Vec<usize>, Option<String>) {
    let mut codec = new_codec(protocol, dir, LIMITS).unwrap();
    let mut sizes = Vec::new();
    let end = decode_all(codec.as_mut(), input, &mut Metadata::new(), |_, _, size| {
        sizes.push(size);
        true
    });
    (sizes, end.err().map(|e| e.to_string()))
}

fn decode_chunked(
    protocol: &str,
    dir: Direction,
    input: &[u8],
    chunk: usize,
) -> (Vec<usize>, Option<String>) {
    let mut codec = new_codec(protocol, dir, LIMITS).unwrap();
    let mut md = Metadata::new();
    let mut framer = Framer::new();
    let mut sizes = Vec::new();
    for piece in input.chunks(chunk) {
        framer.push(piece);
        loop {
            match framer.next_message(codec.as_mut(), &mut md) {
                Ok(Some(msg)) => sizes.push(msg.len()),
                Ok(None) => break,
                Err(e) => return (sizes, Some(e.to_string())),
            }
        }
    }
    (sizes, None)
}

#[test]
fn chunked_decodes_match_whole_on_fuzzer_finds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regress");
    for (protocol, direction, file) in CASES {
        let input = std::fs::read(dir.join(file)).unwrap();
        let whole = decode_whole(protocol, *direction, &input);
        assert!(whole.1.is_some(), "{file}: expected an error");
        for chunk in [1, 2, 3, 7, 16, 64, 200] {
            assert_eq!(
                decode_chunked(protocol, *direction, &input, chunk),
                whole,
                "{file} @ {chunk}"
            );
        }
    }
}
