//! Unit tests on bytes taken from real peers (spec: peers.md §2).

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn decode(bytes: &[u8]) -> Result<(DecodeStatus, Metadata), CodecError> {
    let mut c = ThriftCodec::new(Direction::Request, Limits::DEFAULT);
    let mut md = Metadata::new();
    c.decode(bytes, &mut md).map(|s| (s, md))
}

fn done(bytes: &[u8]) -> Metadata {
    let (s, md) = decode(bytes).unwrap();
    assert_eq!(
        s,
        DecodeStatus::Done {
            consumed: bytes.len()
        }
    );
    // every strict prefix asks for more
    for i in 0..bytes.len() {
        let (s, _) = decode(&bytes[..i]).unwrap();
        assert!(matches!(s, DecodeStatus::NeedMoreData { .. }), "prefix {i}");
    }
    md
}

fn ts(md: &Metadata, k: &str) -> String {
    md.typed(k).map(|v| v.to_string()).unwrap_or_default()
}

const ADD_BIN: &str = "80010001 00000003 616464 00000000 08 0001 00000001 08 0002 00000002 00";

#[test]
fn binary_unframed_call() {
    let md = done(&hex(ADD_BIN));
    assert_eq!(md.message_type, MessageType::Request);
    assert_eq!(md.request_id, Some(0));
    assert_eq!(md.get("method"), Some("add"));
    assert_eq!(md.get("service"), None);
    assert_eq!(ts(&md, "protocol"), "binary");
    assert_eq!(ts(&md, "transport"), "unframed");
    assert_eq!(md.header_size, 15);
}

#[test]
fn binary_framed_reply_ok() {
    let b = hex("00000017 80010002 00000003 616464 00000000 08 0000 00000003 00");
    let md = done(&b);
    assert_eq!(md.message_type, MessageType::Response);
    assert_eq!(md.status, Some(ResponseStatus::Ok));
    assert_eq!(ts(&md, "transport"), "framed");
    let (s, _) = decode(&b[..10]).unwrap();
    assert_eq!(
        s,
        DecodeStatus::NeedMoreData {
            needed: Some(b.len())
        }
    );
}

#[test]
fn non_strict_unframed() {
    let md = done(&hex(
        "00000003 616464 01 00000000 08 0001 00000001 08 0002 00000002 00",
    ));
    assert_eq!(md.get("method"), Some("add"));
    assert_eq!(ts(&md, "thrift_strict"), "false");
    assert_eq!(ts(&md, "transport"), "unframed");
}

#[test]
fn non_strict_framed() {
    let msg = hex("00000003 616464 02 00000005 08 0000 00000003 00");
    let mut b = (msg.len() as u32).to_be_bytes().to_vec();
    b.extend_from_slice(&msg);
    let md = done(&b);
    assert_eq!(md.request_id, Some(5));
    assert_eq!(md.status, Some(ResponseStatus::Ok));
    assert_eq!(ts(&md, "transport"), "framed");
}

#[test]
fn compact_declared_exception_and_app_exception() {
    let md = done(&hex(
        "82410006646976696465 1c 15 54 18 0e 646976696465206279207a65726f 00 00",
    ));
    assert_eq!(md.message_type, MessageType::Response);
    assert_eq!(md.status, Some(ResponseStatus::Error));
    assert_eq!(ts(&md, "protocol"), "compact");
    let md = done(&hex(
        "826107066e6f73756368 18 17 556e6b6e6f776e2066756e6374696f6e206e6f73756368 15 02 00",
    ));
    assert_eq!(md.status, Some(ResponseStatus::Error));
    assert_eq!(md.request_id, Some(7));
    assert_eq!(ts(&md, "thrift_message_type"), "exception");
}

#[test]
fn oneway_and_multiplexed() {
    let md = done(&hex(
        "80010004 00000004 66697265 00000000 0b0001 0000000f 666972652d616e642d666f7267657400",
    ));
    assert_eq!(md.message_type, MessageType::Oneway);
    let md = done(&hex(
        "00000023 80010001 00000008 43616c633a616464 00000000 08 0001 00000001 08 0002 00000002 00",
    ));
    assert_eq!(md.get("service"), Some("Calc"));
    assert_eq!(md.get("method"), Some("add"));
}

const HDR_INFO: &str = "00000048 0fff 0000 00000000 0008 00 00 01 02 08 74726163652d6964 06 616263313233 06 63616c6c6572 02 7079 0000";

fn header_info_add() -> Vec<u8> {
    let mut b = hex(HDR_INFO);
    b.extend_from_slice(&hex(ADD_BIN));
    b
}

#[test]
fn theader_info_headers() {
    let b = header_info_add();
    assert_eq!(b.len(), 0x48 + 4);
    let md = done(&b);
    assert_eq!(md.get("trace-id"), Some("abc123"));
    assert_eq!(md.get("caller"), Some("py"));
    assert_eq!(md.get("method"), Some("add"));
    assert_eq!(ts(&md, "transport"), "header");
    assert_eq!(ts(&md, "protocol"), "binary");
}

#[test]
fn theader_mutation_rebuilds_header() {
    let b = header_info_add();
    let mut c = ThriftCodec::new(Direction::Request, Limits::DEFAULT);
    let mut md = Metadata::new();
    c.decode(&b, &mut md).unwrap();
    let mut out = BytesMut::new();
    c.encode(&b, &md, &Mutation::new(), &mut out).unwrap();
    assert_eq!(&out[..], &b[..]);
    let m = Mutation::new()
        .with("caller", "proxy")
        .with("x-route", "blue");
    let mut out = BytesMut::new();
    c.encode(&b, &md, &m, &mut out).unwrap();
    let mut md2 = Metadata::new();
    let st = c.decode(&out, &mut md2).unwrap();
    assert_eq!(
        st,
        DecodeStatus::Done {
            consumed: out.len()
        }
    );
    assert_eq!(md2.get("caller"), Some("proxy"));
    assert_eq!(md2.get("x-route"), Some("blue"));
    assert_eq!(md2.get("trace-id"), Some("abc123"));
    assert_eq!(md2.get("method"), Some("add"));
    assert!(out.ends_with(&hex(ADD_BIN)));
}

#[test]
fn mutation_refused_without_theader() {
    let b = hex(ADD_BIN);
    let mut c = ThriftCodec::new(Direction::Request, Limits::DEFAULT);
    let mut md = Metadata::new();
    c.decode(&b, &mut md).unwrap();
    let mut out = BytesMut::new();
    let e = c
        .encode(&b, &md, &Mutation::new().with("a", "b"), &mut out)
        .unwrap_err();
    assert!(matches!(e, CodecError::MutationRefused { .. }));
    assert!(out.is_empty());
}

#[test]
fn empty_theader_frame_is_heartbeat() {
    let b = hex("0000000e 0fff 0000 00000000 0001 00 00 00 00");
    let md = done(&b);
    assert_eq!(md.message_type, MessageType::Heartbeat);
    assert_eq!(md.request_id, None);
}

#[test]
fn on_error_in_each_dialect_decodes_back() {
    let inputs = [
        hex(ADD_BIN),
        hex("00000017 80010002 00000003 616464 00000000 08 0000 00000003 00"),
        hex("82 21 09 03 616464 15 02 15 04 00"),
        header_info_add(),
        hex("00000003 616464 01 00000004 08 0001 00000001 08 0002 00000002 00"),
    ];
    for b in inputs {
        let mut c = ThriftCodec::new(Direction::Request, Limits::DEFAULT);
        let mut md = Metadata::new();
        c.decode(&b, &mut md).unwrap();
        for (kind, code) in [
            (LocalErrorKind::RouteNotFound, APP_EXC_UNKNOWN_METHOD),
            (LocalErrorKind::OverLimit, APP_EXC_INTERNAL_ERROR),
        ] {
            let mut out = BytesMut::new();
            c.on_error(&md, &LocalError::new(kind, "no route"), &mut out)
                .unwrap();
            let mut r = Metadata::new();
            let mut rc = ThriftCodec::new(Direction::Response, Limits::DEFAULT);
            assert_eq!(
                rc.decode(&out, &mut r).unwrap(),
                DecodeStatus::Done {
                    consumed: out.len()
                }
            );
            assert_eq!(r.status, Some(ResponseStatus::Error));
            assert_eq!(r.request_id, md.request_id);
            assert_eq!(r.get("method"), Some("add"));
            assert_eq!(ts(&r, "protocol"), ts(&md, "protocol"));
            assert_eq!(ts(&r, "transport"), ts(&md, "transport"));
            assert_eq!(ts(&r, "thrift_strict"), ts(&md, "thrift_strict"));
            // the exception type is the last i32 before STOP
            let tail = &out[out.len() - 5..];
            if ts(&md, "protocol") == "binary" {
                assert_eq!(&tail[..4], &code.to_be_bytes());
            } else {
                assert_eq!(out[out.len() - 2], (code << 1) as u8);
            }
        }
    }
}

#[test]
fn hostile_inputs_are_typed_errors() {
    let small = Limits {
        max_frame_size: 1024,
        ..Limits::DEFAULT
    };
    let mut c = ThriftCodec::new(Direction::Request, small);
    let mut md = Metadata::new();
    // frame length over the limit
    let e = c.decode(&hex("00100000 8001 0001"), &mut md).unwrap_err();
    assert!(matches!(e, CodecError::FrameTooLarge { offset: 0, .. }));
    // unframed string length over the limit
    let e = c.decode(&hex("80010001 7fffffff 61"), &mut md).unwrap_err();
    assert!(matches!(e, CodecError::FrameTooLarge { offset: 4, .. }));
    // bad version
    let e = c.decode(&hex("80020001 00000000"), &mut md).unwrap_err();
    assert!(matches!(e, CodecError::Malformed { offset: 0, .. }));
    // bad message type
    let e = c.decode(&hex("80010009 00000000"), &mut md).unwrap_err();
    assert!(matches!(e, CodecError::Malformed { offset: 3, .. }));
    // negative frame length
    let e = c.decode(&hex("ff000000 0000"), &mut md).unwrap_err();
    assert!(matches!(e, CodecError::Malformed { offset: 0, .. }));
    // THeader with an unsupported transform (snappy = 3)
    let e = c
        .decode(
            &hex("00000012 0fff 0000 00000000 0002 00 01 03 00 00 00 00 00"),
            &mut md,
        )
        .unwrap_err();
    assert!(matches!(e, CodecError::Unsupported { offset: 16, .. }));
    // THeader header larger than the frame
    let e = c
        .decode(
            &hex("0000000e 0fff 0000 00000000 00ff 00 00 00 00"),
            &mut md,
        )
        .unwrap_err();
    assert!(matches!(e, CodecError::Malformed { offset: 12, .. }));
    // framed message whose string runs past the frame
    let e = c
        .decode(&hex("0000000c 80010001 000000ff 616464 00"), &mut md)
        .unwrap_err();
    assert!(matches!(e, CodecError::Malformed { .. }));
}

#[test]
fn zlib_payload() {
    use std::io::Write;
    let payload = hex("82 21 00 03 616464 15 02 15 04 00");
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&payload).unwrap();
    let z = z.finish().unwrap();
    let hdr = hex("02 01 01 00");
    let mut b = ((10 + hdr.len() + z.len()) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(&hex("0fff 0000 00000000 0001"));
    b.extend_from_slice(&hdr);
    b.extend_from_slice(&z);
    let md = done(&b);
    assert_eq!(md.get("method"), Some("add"));
    assert_eq!(ts(&md, "protocol"), "compact");
    assert_eq!(ts(&md, "thrift_zlib"), "true");
}

#[test]
fn protocol_is_detected_per_frame() {
    // A C++ THeader server answers a compact request in binary: one response codec sees
    // compact, binary, framed and unframed frames in turn.
    let mut frames = Vec::new();
    let compact = hex("82 41 00 03 616464 05 00 06 00");
    let binary = hex("80010002 00000003 616464 00000000 08 0000 00000003 00");
    let mut hdr = |pid: u8, payload: &[u8]| {
        let mut b = ((14 + payload.len()) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(&hex("0fff 0000 00000000 0001"));
        b.extend_from_slice(&[pid, 0, 0, 0]);
        b.extend_from_slice(payload);
        frames.push(b);
    };
    hdr(2, &compact);
    hdr(0, &binary);
    let mut framed = (binary.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&binary);
    frames.push(framed);
    frames.push(compact.clone());
    let mut c = ThriftCodec::new(Direction::Response, Limits::DEFAULT);
    let mut md = Metadata::new();
    let want = [
        ("compact", "header"),
        ("binary", "header"),
        ("binary", "framed"),
        ("compact", "unframed"),
    ];
    let stream: Vec<u8> = frames.concat();
    let mut off = 0;
    for (proto, transport) in want {
        let DecodeStatus::Done { consumed } = c.decode(&stream[off..], &mut md).unwrap() else {
            panic!("incomplete at {off}")
        };
        assert_eq!(ts(&md, "protocol"), proto);
        assert_eq!(ts(&md, "transport"), transport);
        assert_eq!(md.status, Some(ResponseStatus::Ok));
        off += consumed;
    }
    assert_eq!(off, stream.len());
}

#[test]
fn on_error_refuses_a_non_strict_unframed_name_that_could_read_as_a_frame() {
    // Fuzz find: a non-strict unframed call named "\0\0\0\0\x04\x03\0\xff" (not UTF-8). Its
    // lossy name is longer, and a reply carrying it starts like a framed message with an empty
    // name: the reply would decode as 14 bytes of a 38-byte message.
    let b = hex("00000008 00000000 0403 00ff 01 00000004 00");
    let mut c = ThriftCodec::new(Direction::Request, Limits::DEFAULT);
    let mut md = Metadata::new();
    assert_eq!(
        c.decode(&b, &mut md).unwrap(),
        DecodeStatus::Done { consumed: b.len() }
    );
    assert_eq!(ts(&md, "transport"), "unframed");
    let mut out = BytesMut::new();
    let err = LocalError::new(LocalErrorKind::OverLimit, "x");
    assert!(matches!(
        c.on_error(&md, &err, &mut out),
        Err(CodecError::InvalidMetadata { .. })
    ));
    assert!(out.is_empty());
    // A printable name in the same dialect is answered (the reply cannot start like a frame).
    let b = hex("00000003 616464 01 00000004 00");
    c.decode(&b, &mut md).unwrap();
    c.on_error(&md, &err, &mut out).unwrap();
    assert!(!out.is_empty());
}

#[test]
fn multiplex_colon_agrees_with_a_byte_scan() {
    // Every length, a colon at every position (or none), and neighbours of ':' (0x3a) that a
    // word trick could confuse with it.
    for n in 0..=20 {
        for fill in [b'a', 0x39, 0x3b, 0xba, 0x00, 0xff] {
            let mut name = vec![fill; n];
            assert_eq!(multiplex_colon(&name), None, "{n} {fill:#x}");
            for i in 0..n {
                name[i] = b':';
                assert_eq!(
                    multiplex_colon(&name),
                    Some(name.iter().position(|&b| b == b':').unwrap()),
                    "{n} {i}"
                );
                name[i] = fill;
            }
        }
    }
}

#[test]
fn reused_metadata_follows_changing_names() {
    // One Metadata across messages: a slot that already holds the previous name must not
    // leak it into the next message (same length, different bytes; service appearing and
    // disappearing).
    let mut c = ThriftCodec::new(Direction::Request, Limits::DEFAULT);
    let mut md = Metadata::new();
    for (name, service, method) in [
        ("add", None, "add"),
        ("sub", None, "sub"),
        ("svc:add", Some("svc"), "add"),
        ("add:svc", Some("add"), "svc"),
        ("svc:add", Some("svc"), "add"),
        ("svcadd", None, "svcadd"),
        ("add", None, "add"),
    ] {
        let mut msg = Vec::new();
        wire::write_msg_header(
            &mut msg,
            wire::Proto::Binary { strict: true },
            name.as_bytes(),
            wire::T_CALL,
            1,
        );
        msg.push(0);
        assert_eq!(
            c.decode(&msg, &mut md).unwrap(),
            DecodeStatus::Done {
                consumed: msg.len()
            }
        );
        assert_eq!(md.get("service"), service, "{name}");
        assert_eq!(md.get("method"), Some(method), "{name}");
        assert_eq!(
            md.headers.len(),
            1 + usize::from(service.is_some()),
            "{name}"
        );
    }
}

#[test]
fn typed_rows_match_protocol_transport_and_message_type() {
    let protos = [
        (wire::Proto::Binary { strict: true }, "binary", Some(true)),
        (wire::Proto::Binary { strict: false }, "binary", Some(false)),
        (wire::Proto::Compact, "compact", None),
    ];
    let transports = [
        (Transport::Unframed, "unframed"),
        (Transport::Framed, "framed"),
        (Transport::Header, "header"),
    ];
    let mtypes = ["call", "reply", "exception", "oneway"];
    let mut seen = std::collections::HashSet::new();
    for (p, pname, strict) in protos {
        for (t, tname) in transports {
            for (i, mname) in mtypes.iter().enumerate() {
                let at = typed_row(p, t, wire::T_CALL + i as u8);
                assert!(seen.insert(at), "row {at} used twice");
                let row = &TYPED_ROWS[at];
                assert_eq!(row[0], ("protocol", TypedValue::Str(pname)));
                assert_eq!(row[1], ("transport", TypedValue::Str(tname)));
                assert_eq!(row[2], ("thrift_message_type", TypedValue::Str(mname)));
                if let Some(strict) = strict {
                    assert_eq!(row[3], ("thrift_strict", TypedValue::Bool(strict)));
                }
            }
        }
    }
    assert_eq!(seen.len(), TYPED_ROWS.len());
}

/// A THeader frame (binary protocol, the `add` call) with `n` distinct info headers.
pub(crate) fn theader_with_keys(n: usize) -> Vec<u8> {
    let mut hdr = vec![0x00, 0x00, 0x01]; // binary, no transforms, key/values
    wire::write_varint(&mut hdr, n as u64);
    for i in 0..n {
        let (k, v) = (format!("k{i}"), format!("{i}"));
        wire::write_varint(&mut hdr, k.len() as u64);
        hdr.extend_from_slice(k.as_bytes());
        wire::write_varint(&mut hdr, v.len() as u64);
        hdr.extend_from_slice(v.as_bytes());
    }
    while hdr.len() % 4 != 0 {
        hdr.push(0);
    }
    let payload = hex(ADD_BIN);
    let mut f = Vec::new();
    f.extend_from_slice(&((10 + hdr.len() + payload.len()) as u32).to_be_bytes());
    f.extend_from_slice(&[0x0f, 0xff, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&((hdr.len() / 4) as u16).to_be_bytes());
    f.extend_from_slice(&hdr);
    f.extend_from_slice(&payload);
    f
}

#[test]
fn info_header_work_grows_linearly() {
    let compares = |n: usize| {
        let f = theader_with_keys(n);
        let mut c = ThriftCodec::new(Direction::Request, Limits::DEFAULT);
        let mut md = Metadata::new();
        let before = crate::metadata::key_compares();
        for _ in 0..2 {
            let st = c.decode(&f, &mut md).unwrap();
            assert_eq!(st, DecodeStatus::Done { consumed: f.len() });
            assert_eq!(md.headers.len(), n + 1);
            assert_eq!(md.get(&format!("K{}", n - 1)), Some(&*format!("{}", n - 1)));
        }
        crate::metadata::key_compares() - before
    };
    let n = 3_000;
    let (a, b) = (compares(n), compares(2 * n));
    assert!(
        b <= a * 5 / 2,
        "{a} comparisons for {n} keys, {b} for {}",
        2 * n
    );
    assert!(a <= 2 * n as u64 * 12, "{a} comparisons for {n} keys");
}
