//! Dubbo codec on arbitrary bytes: never panics, errors carry in-range offsets, every decoded
//! message re-encodes unchanged, and a message whose attachments accept a mutation decodes
//! again with the added attachment and the same routing keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_codec::Mutation;
use mesh_codec::dubbo::DubboCodec;
use meshplane_fuzz::{drive, mutate_and_redecode};

fuzz_target!(|data: &[u8]| {
    drive(data, DubboCodec::new, |dir, msg, md| {
        assert!(msg.len() >= 16, "a Dubbo message has a 16-byte header");
        let m = Mutation::new().with("x-fz", "1");
        if let Some(again) = mutate_and_redecode(DubboCodec::new, dir, msg, md, &m) {
            assert_eq!(again.get("x-fz"), Some("1"));
            for k in ["interface", "method", "version"] {
                assert_eq!(again.get(k), md.get(k), "{k}");
            }
            assert_eq!(again.request_id, md.request_id);
        }
    });
});
