//! Hostile Hessian2 / Dubbo bodies whose cost the input must pay for: the peak heap use of a
//! decode (counted by a counting global allocator, nothing is timed) stays a small multiple of
//! the input, however the bytes are spent on definitions the stream has to remember.

use mesh_codec::hessian2::{Decoder, HessianLimits, Value, write_string};
use mesh_codec::{Direction, Limits, Metadata, new_codec};

/// A Dubbo request frame whose one `Object` argument is `arg`.
fn dubbo_request(arg: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for s in ["2.0.2", "p", "1.0", "m", "Ljava/lang/Object;"] {
        write_string(&mut body, s);
    }
    body.extend_from_slice(arg);
    let mut f = vec![0xda, 0xbb, 0xc2, 0];
    f.extend_from_slice(&1u64.to_be_bytes());
    f.extend_from_slice(&(body.len() as u32).to_be_bytes());
    f.extend_from_slice(&body);
    f
}

/// Peak heap bytes while the Dubbo codec decodes `frame` (which it must refuse).
fn dubbo_peak(frame: &[u8]) -> u64 {
    let mut codec = new_codec("dubbo", Direction::Request, Limits::default()).unwrap();
    let mut md = Metadata::new();
    let mut refused = false;
    let info = allocation_counter::measure(|| {
        refused = codec.decode(frame, &mut md).is_err();
    });
    assert!(refused, "the bomb decoded");
    info.bytes_max
}

const BOMB: usize = 12 << 20;

#[test]
fn class_definition_bomb_costs_memory_in_proportion_to_its_bytes() {
    // 4 M class definitions of three bytes (`C`, empty name, no fields), then nothing. Each
    // costs 24 bytes to remember, and a stream may define at most `max_elements` (1 Mi): the
    // decoder refuses the 1 048 577th after 24 MiB (36 MiB while the table grows). Before,
    // all 4 M were kept: 100 MiB, 150 MiB at the peak, and a 64 MiB frame reached 580 MB.
    let arg: Vec<u8> = b"C\x00\x90".repeat(BOMB / 3);
    let frame = dubbo_request(&arg);
    let peak = dubbo_peak(&frame);
    assert!(
        peak <= 4 * frame.len() as u64,
        "{peak} bytes of heap for a {}-byte frame",
        frame.len()
    );
}

#[test]
fn field_name_bomb_costs_no_memory_per_field() {
    // Classes of 1 Mi one-byte (empty) field names each.
    let mut arg = Vec::new();
    while arg.len() < BOMB {
        arg.extend_from_slice(b"C\x00I\x00\x10\x00\x00");
        arg.extend(std::iter::repeat_n(0u8, 1 << 20));
    }
    let frame = dubbo_request(&arg);
    let peak = dubbo_peak(&frame);
    assert!(
        peak <= frame.len() as u64 / 4,
        "{peak} bytes of heap for a {}-byte frame",
        frame.len()
    );
}

#[test]
fn type_definition_bomb_costs_memory_in_proportion_to_its_bytes() {
    // Lists of 6 M empty typed lists (`0x70`, a new empty type name), each defining a type
    // the stream must remember; at most `max_elements` (1 Mi) types are (8 MiB).
    let mut arg = vec![b'W'];
    // In lists of 512 Ki (a list may hold at most `max_elements`).
    for _ in 0..BOMB / (1 << 20) {
        arg.push(b'W');
        arg.extend_from_slice(&b"\x70\x00".repeat(1 << 19));
        arg.push(b'Z');
    }
    arg.push(b'Z');
    let frame = dubbo_request(&arg);
    let peak = dubbo_peak(&frame);
    assert!(
        peak <= 2 * frame.len() as u64,
        "{peak} bytes of heap for a {}-byte frame",
        frame.len()
    );
}

#[test]
fn objects_share_their_class_and_field_names() {
    // One class with a 16 Ki-unit name and two 4 Ki-unit field names, then 4 096 objects of
    // three bytes each: a copy of the names per object is 96 MiB (as it was before).
    let mut b = vec![b'C'];
    write_string(&mut b, &"c".repeat(16 << 10));
    b.push(0x92);
    write_string(&mut b, &"f".repeat(4 << 10));
    write_string(&mut b, &"g".repeat(4 << 10));
    b.push(b'W');
    for _ in 0..4096 {
        b.extend_from_slice(b"\x60NN");
    }
    b.push(b'Z');
    let mut v = None;
    let info = allocation_counter::measure(|| {
        v = Some(
            Decoder::with_limits(&b, HessianLimits::DEFAULT)
                .read_value()
                .unwrap(),
        );
    });
    let Some(Value::List(list)) = v else {
        panic!("not a list")
    };
    assert_eq!(list.items.len(), 4096);
    let Value::Object(o) = &list.items[4095] else {
        panic!("not an object")
    };
    assert_eq!((o.class.len(), o.fields.len()), (16 << 10, 2));
    // The names once (24 KiB) and 4 096 objects of two fields (about 180 bytes each).
    assert!(
        info.bytes_max <= 2 * b.len() as u64 + 4096 * 256,
        "{} bytes of heap for a {}-byte stream",
        info.bytes_max,
        b.len()
    );
}

#[test]
fn typed_lists_share_their_type_name() {
    // A 64 Ki-unit type name, then 4 096 two-byte typed lists that refer to it (a copy per
    // list is 256 MiB, as it was before).
    let mut b = vec![b'W', 0x70];
    write_string(&mut b, &"t".repeat(64 << 10));
    for _ in 0..4096 {
        b.extend_from_slice(b"\x70\x90");
    }
    b.push(b'Z');
    let mut v = None;
    let info = allocation_counter::measure(|| {
        v = Some(
            Decoder::with_limits(&b, HessianLimits::DEFAULT)
                .read_value()
                .unwrap(),
        );
    });
    let Some(Value::List(list)) = v else {
        panic!("not a list")
    };
    assert_eq!(list.items.len(), 4097);
    assert!(
        info.bytes_max <= 16 * b.len() as u64,
        "{} bytes of heap for a {}-byte stream",
        info.bytes_max,
        b.len()
    );
}
