//! The Dubbo metadata path allocates nothing per message once a connection's `Metadata` and
//! codec have warmed up (counted with a counting global allocator): arguments are skipped,
//! strings are borrowed from the input, the Hessian stream context is reused.

use std::path::PathBuf;

use mesh_codec::{Direction, Limits, Metadata, new_codec};

mod common;

fn decode_all(codec: &mut dyn mesh_codec::Codec, md: &mut Metadata, input: &[u8]) -> usize {
    common::decode_all_with(codec, md, input, |md| assert!(md.request_id.is_some()))
}

#[test]
fn steady_state_dubbo_decoding_does_not_allocate() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dubbo");
    for (name, direction) in [
        ("apache_dubbo_js_session.request.bin", Direction::Request),
        ("apache_dubbo_js_session.response.bin", Direction::Response),
        ("dubbo_js_sayhello.request.bin", Direction::Request),
    ] {
        let input = std::fs::read(dir.join(name)).unwrap();
        let mut codec = new_codec("dubbo", direction, Limits::default()).unwrap();
        let mut md = Metadata::new();
        decode_all(codec.as_mut(), &mut md, &input); // warm-up: Metadata slots, Hessian context
        let mut count = 0;
        let info = allocation_counter::measure(|| {
            count = decode_all(codec.as_mut(), &mut md, &input);
        });
        assert!(count >= 2, "{name}");
        assert_eq!(
            info.count_total, 0,
            "{name}: {count} messages allocated {info:?}"
        );
    }
}

#[test]
fn first_decode_allocates_only_the_metadata_strings() {
    let input = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/dubbo/dubbo_js_sayhello.request.bin"),
    )
    .unwrap();
    let mut codec = new_codec("dubbo", Direction::Request, Limits::default()).unwrap();
    let mut md = Metadata::new();
    md.typed.reserve(4);
    let info = allocation_counter::measure(|| {
        codec.decode(&input, &mut md).unwrap();
    });
    // 6 headers (key + value each) into a slot vector that grows 4 → 8, and the Hessian
    // context's class and field tables: bounded by the metadata, not by the 258-byte body.
    assert!(info.count_total <= 24, "{info:?}");
    assert_eq!(md.headers.len(), 6);
}
