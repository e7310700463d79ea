//! The codec cases of the hostile-input probe (issue 12), generated here: each input is
//! decoded as `meshctl decode` does (`stream::decode_all` over the whole input) and must give
//! its expected outcome, with a peak heap (counted, nothing is timed) that is a small multiple
//! of the input. Time is covered by the complexity tests beside the code, which count work for
//! N and 2N inputs (`metadata::complexity`, `dubbo::tests::attachment_work_grows_linearly`,
//! `thrift::tests::info_header_work_grows_linearly`).

use mesh_codec::hessian2::write_string;
use mesh_codec::stream::{StreamEnd, decode_all};
use mesh_codec::{Direction, Limits, Metadata, new_codec};

/// What decoding a case must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Every message decodes.
    Complete,
    /// A typed error (malformed, too large, unsupported).
    Error,
}

struct Case {
    name: &'static str,
    protocol: &'static str,
    direction: Direction,
    input: Vec<u8>,
    expect: Expect,
    /// Peak heap allowed, as a multiple of the input length (plus 1 MiB).
    heap_per_byte: u64,
}

fn dubbo_frame(flags: u8, status: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0xda, 0xbb, flags, status];
    f.extend_from_slice(&7u64.to_be_bytes());
    f.extend_from_slice(&(body.len() as u32).to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// A request head whose one argument (`Object`) follows.
fn dubbo_request_head() -> Vec<u8> {
    let mut b = Vec::new();
    for s in ["2.0.2", "com.example.Svc", "1.0", "m", "Ljava/lang/Object;"] {
        write_string(&mut b, s);
    }
    b
}

fn attachments(n: usize) -> Vec<u8> {
    let mut m = vec![b'H'];
    for i in 0..n {
        write_string(&mut m, &format!("attachment-{i}"));
        write_string(&mut m, &format!("{i}"));
    }
    m.push(b'Z');
    m
}

/// A THeader frame (binary `add` call) with `n` distinct info headers of three-byte keys and
/// empty values (52 000 fill the 256 KiB a THeader header may have).
fn theader_keys(n: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut hdr = vec![0x00, 0x00, 0x01];
    varint(&mut hdr, n as u64);
    for i in 0..n {
        let a = ALPHABET.len();
        hdr.push(3);
        hdr.extend_from_slice(&[ALPHABET[i / (a * a)], ALPHABET[i / a % a], ALPHABET[i % a]]);
        hdr.push(0);
    }
    while hdr.len() % 4 != 0 {
        hdr.push(0);
    }
    assert!(hdr.len() / 4 <= u16::MAX as usize, "header too long");
    let payload = [
        0x80, 0x01, 0x00, 0x01, 0, 0, 0, 3, b'a', b'd', b'd', 0, 0, 0, 0, 0,
    ];
    let mut f = Vec::new();
    f.extend_from_slice(&((10 + hdr.len() + payload.len()) as u32).to_be_bytes());
    f.extend_from_slice(&[0x0f, 0xff, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&((hdr.len() / 4) as u16).to_be_bytes());
    f.extend_from_slice(&hdr);
    f.extend_from_slice(&payload);
    f
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A body that fills a frame of `size` bytes: the request head, then `unit` repeated.
fn dubbo_bomb(size: usize, prefix: &[u8], unit: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut b = dubbo_request_head();
    b.extend_from_slice(prefix);
    let room = size - 16 - b.len() - suffix.len();
    b.extend_from_slice(&unit.repeat(room / unit.len()));
    b.extend_from_slice(suffix);
    dubbo_frame(0xc2, 0, &b)
}

fn cases() -> Vec<Case> {
    let frame_max = Limits::default().max_frame_size;
    let mut cases = Vec::new();
    let mut add = |name, protocol, direction, input, expect, heap_per_byte| {
        cases.push(Case {
            name,
            protocol,
            direction,
            input,
            expect,
            heap_per_byte,
        })
    };
    // Issue 12 item 1: 50 000 distinct attachments, request and flag-4 response (valid).
    let mut req = dubbo_request_head();
    req.push(b'N');
    req.extend_from_slice(&attachments(50_000));
    add(
        "dubbo_50000_attachments",
        "dubbo",
        Direction::Request,
        dubbo_frame(0xc2, 0, &req),
        Expect::Complete,
        12,
    );
    let mut resp = vec![0x94, b'N'];
    resp.extend_from_slice(&attachments(50_000));
    add(
        "dubbo_50000_response_attachments",
        "dubbo",
        Direction::Response,
        dubbo_frame(0x02, 20, &resp),
        Expect::Complete,
        12,
    );
    // Item 2: 52 000 distinct THeader info headers (valid).
    add(
        "thrift_theader_52000_keys",
        "thrift",
        Direction::Request,
        theader_keys(52_000),
        Expect::Complete,
        24,
    );
    // Item 7: class definitions filling the 64 MiB frame (3 bytes each).
    add(
        "dubbo_class_definition_bomb",
        "dubbo",
        Direction::Request,
        dubbo_bomb(frame_max, b"", b"C\x00\x90", b""),
        Expect::Error,
        1,
    );
    // Siblings: classes of 1 Mi empty field names; lists of typed lists each defining a type;
    // 1 Mi one-byte objects of a class with a 1 Mi-unit name (valid); a string claiming more
    // than the frame holds.
    let mut fields = vec![b'C', 0x00, b'I', 0x00, 0x10, 0x00, 0x00];
    fields.extend(std::iter::repeat_n(0u8, 1 << 20));
    add(
        "dubbo_field_name_bomb",
        "dubbo",
        Direction::Request,
        dubbo_bomb(16 << 20, b"", &fields, b""),
        Expect::Error,
        1,
    );
    let mut types = vec![b'W'];
    types.extend_from_slice(&b"\x70\x00".repeat(1 << 19));
    types.push(b'Z');
    add(
        "dubbo_type_definition_bomb",
        "dubbo",
        Direction::Request,
        dubbo_bomb(16 << 20, b"W", &types, b"Z"),
        Expect::Error,
        1,
    );
    let mut class = vec![b'C'];
    write_string(&mut class, &"c".repeat(1 << 20));
    class.extend_from_slice(b"\x90W");
    add(
        "dubbo_objects_of_a_long_class_name",
        "dubbo",
        Direction::Request,
        dubbo_bomb(2 << 20, &class, b"\x60", b"Z"),
        Expect::Complete,
        1,
    );
    let mut huge = dubbo_request_head();
    huge.extend_from_slice(b"S\xff\xff");
    add(
        "dubbo_string_claims_past_the_frame",
        "dubbo",
        Direction::Request,
        dubbo_frame(0xc2, 0, &huge),
        Expect::Error,
        1,
    );
    // A heartbeat whose body fills the frame limit: skipped, never parsed.
    add(
        "dubbo_heartbeat_16mib_body",
        "dubbo",
        Direction::Request,
        dubbo_frame(0xe2, 0, &vec![b'W'; 16 << 20]),
        Expect::Complete,
        1,
    );
    // Redis: nesting past the depth limit, an aggregate count past the element limit, a bulk
    // length past the frame limit, and 1 Mi one-element arrays (valid).
    add(
        "redis_nested_arrays",
        "redis",
        Direction::Response,
        b"*1\r\n".repeat(100_000),
        Expect::Error,
        1,
    );
    add(
        "redis_aggregate_count",
        "redis",
        Direction::Response,
        b"*99999999999\r\n".to_vec(),
        Expect::Error,
        1,
    );
    add(
        "redis_bulk_length",
        "redis",
        Direction::Request,
        b"*1\r\n$99999999999\r\n".to_vec(),
        Expect::Error,
        1,
    );
    add(
        "redis_million_replies",
        "redis",
        Direction::Response,
        b"*1\r\n:1\r\n".repeat(1 << 20),
        Expect::Complete,
        1,
    );
    // Thrift: a list of 2^31-1 structs, structs nested past the depth limit, a list of 1 Mi
    // empty structs (valid, unframed: walked).
    let mut call = vec![0x80, 0x01, 0x00, 0x01, 0, 0, 0, 1, b'm', 0, 0, 0, 0];
    let mut big = call.clone();
    big.extend_from_slice(&[15, 0, 1, 12, 0x7f, 0xff, 0xff, 0xff]);
    add(
        "thrift_list_count",
        "thrift",
        Direction::Request,
        big,
        Expect::Error,
        1,
    );
    let mut deep = call.clone();
    for _ in 0..100_000 {
        deep.extend_from_slice(&[12, 0, 1]);
    }
    add(
        "thrift_nested_structs",
        "thrift",
        Direction::Request,
        deep,
        Expect::Error,
        1,
    );
    call.extend_from_slice(&[15, 0, 1, 12, 0x00, 0x10, 0x00, 0x00]);
    call.extend(std::iter::repeat_n(0u8, 1 << 20));
    call.push(0);
    add(
        "thrift_million_empty_structs",
        "thrift",
        Direction::Request,
        call,
        Expect::Complete,
        1,
    );
    cases
}

#[test]
fn hostile_codec_inputs_give_typed_outcomes_in_bounded_memory() {
    for case in cases() {
        let mut codec = new_codec(case.protocol, case.direction, Limits::default()).unwrap();
        let mut md = Metadata::new();
        let mut end = None;
        let info = allocation_counter::measure(|| {
            end = Some(decode_all(
                codec.as_mut(),
                &case.input,
                &mut md,
                |_, _, _| true,
            ));
        });
        let got = match end.unwrap() {
            Ok(StreamEnd::Complete) => Expect::Complete,
            Err(_) => Expect::Error,
            other => panic!("{}: {other:?}", case.name),
        };
        assert_eq!(got, case.expect, "{}", case.name);
        let bound = case.heap_per_byte * case.input.len() as u64 + (1 << 20);
        assert!(
            info.bytes_max <= bound,
            "{}: {} bytes of heap for {} bytes of input",
            case.name,
            info.bytes_max,
            case.input.len()
        );
    }
}
