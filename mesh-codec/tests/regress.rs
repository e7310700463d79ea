//! Inputs the fuzzers found, pinned: a chunked decode must give exactly what a whole decode
//! gives, and an error must point inside the input.

use mesh_codec::stream::{Framer, decode_all};
use mesh_codec::{Direction, Limits, Metadata, new_codec};

/// (protocol, direction, file under tests/regress/, whether the whole decode ends in an error).
const CASES: &[(&str, Direction, &str, bool)] = &[
    // Unframed and larger than the frame limit: the offset must not depend on the chunking.
    (
        "thrift",
        Direction::Request,
        "thrift-unframed-oversize.request.bin",
        true,
    ),
    // Compact map<double, struct> nested past the depth limit, where the skipped doubles end
    // past the input: not an error (offset 64 of 57 bytes) but "more data".
    (
        "thrift",
        Direction::Request,
        "thrift-depth-past-input.bin",
        false,
    ),
    // A non-strict unframed call whose name's on_error reply read as a frame (the codec now
    // refuses that reply; here the stream itself must decode the same in any chunking).
    (
        "thrift",
        Direction::Request,
        "thrift-nonstrict-name-reply.request.bin",
        true,
    ),
    // A RESP3 double `3+.141` the scanner took and the value decoder refused: now both refuse.
    (
        "redis",
        Direction::Response,
        "redis-double-scanner.response.bin",
        true,
    ),
];

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
    let err = end.err().inspect(|e| {
        let offset = e.offset().expect("decode errors carry an offset");
        assert!(
            offset <= input.len(),
            "{e} lies past the {} input bytes",
            input.len()
        );
    });
    (sizes, err.map(|e| e.to_string()))
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
    for (protocol, direction, file, fails) in CASES {
        let input = std::fs::read(dir.join(file)).unwrap();
        let whole = decode_whole(protocol, *direction, &input);
        assert_eq!(whole.1.is_some(), *fails, "{file}: {whole:?}");
        for chunk in [1, 2, 3, 7, 16, 64, 200] {
            assert_eq!(
                decode_chunked(protocol, *direction, &input, chunk),
                whole,
                "{file} @ {chunk}"
            );
        }
    }
}
