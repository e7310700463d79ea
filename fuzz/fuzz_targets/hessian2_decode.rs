//! Hessian2 on arbitrary bytes: never panics, errors carry in-range offsets, `skip` and
//! `read_value` agree on success and on where a value ends, and a decoded value re-encodes to
//! bytes that decode to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_codec::hessian2::{Decoder, Encoder, HessianLimits};

fuzz_target!(|data: &[u8]| {
    let limits = HessianLimits {
        max_depth: 32,
        max_string_len: 1 << 20,
        max_binary_len: 1 << 20,
        max_collection_len: 4096,
    };
    let mut values = Decoder::with_limits(data, limits);
    let mut skips = Decoder::with_limits(data, limits);
    let mut decoded = Vec::new();
    loop {
        let a = values.read_value();
        let b = skips.skip();
        match (a, b) {
            (Ok(v), Ok(())) => {
                assert_eq!(values.position(), skips.position());
                decoded.push(v);
                if values.is_empty() {
                    break;
                }
            }
            (Err(e), Err(f)) => {
                assert!(e.offset() <= data.len() && f.offset() <= data.len());
                break;
            }
            (a, b) => panic!("read_value {a:?} but skip {b:?}"),
        }
    }
    // Re-encode the stream of values decoded so far and decode it again.
    let mut enc = Encoder::new();
    let mut bytes = Vec::new();
    for v in &decoded {
        enc.write_value(&mut bytes, v);
    }
    let mut again = Decoder::new(&bytes);
    for v in &decoded {
        assert_eq!(&again.read_value().expect("re-encoded value decodes"), v);
    }
    assert!(again.is_empty());
});
