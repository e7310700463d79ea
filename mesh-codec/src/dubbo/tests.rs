//! Unit tests on frames seen from real peers (apache-dubbo-js consumer, Caucho-based provider).

use super::*;
use crate::hessian2::write_string;

fn s(out: &mut Vec<u8>, v: &str) {
    write_string(out, v);
}

fn frame(flags: u8, status: u8, id: u64, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0xda, 0xbb, flags, status];
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&(body.len() as u32).to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// The request apache-dubbo-js sent for `sayHello("héllo", 42, User{alice, 30, 1234567890123})`.
pub(crate) fn dubbo_js_request() -> Vec<u8> {
    let mut b = Vec::new();
    for v in [
        "2.0.2",
        "com.example.UserService",
        "1.0.0",
        "sayHello",
        "Ljava/lang/String;ILcom/example/User;",
        "héllo",
    ] {
        s(&mut b, v);
    }
    b.push(0xba);
    b.extend_from_slice(b"\x43\x10com.example.User\x93\x04name\x03age\x02id");
    b.extend_from_slice(b"\x60\x05alice\xae\x4c\x00\x00\x01\x1f\x71\xfb\x04\xcb");
    b.push(b'H');
    for (k, v) in [
        ("application", "dubbo-js"),
        ("group", "g1"),
        ("interface", "com.example.UserService"),
        ("path", "com.example.UserService"),
    ] {
        s(&mut b, k);
        s(&mut b, v);
    }
    s(&mut b, "timeout");
    b.push(0x93);
    s(&mut b, "version");
    s(&mut b, "1.0.0");
    b.push(b'Z');
    assert_eq!(b.len(), 0x102, "body length seen on the wire");
    frame(0xc2, 0, 1, &b)
}

fn decode(dir: Direction, f: &[u8]) -> Result<(Metadata, DecodeStatus), CodecError> {
    let mut c = DubboCodec::new(dir, Limits::default());
    let mut md = Metadata::new();
    let st = c.decode(f, &mut md)?;
    Ok((md, st))
}

#[test]
fn real_request_metadata() {
    let f = dubbo_js_request();
    let (md, st) = decode(Direction::Request, &f).unwrap();
    assert_eq!(st, DecodeStatus::Done { consumed: f.len() });
    assert_eq!(md.message_type, MessageType::Request);
    assert_eq!(md.request_id, Some(1));
    assert_eq!(md.status, None);
    assert_eq!(md.header_size, 16);
    assert_eq!(md.body_size, 0x102);
    let h: Vec<(&str, &str)> = md.headers.iter().collect();
    assert_eq!(
        h,
        [
            ("interface", "com.example.UserService"),
            ("method", "sayHello"),
            ("version", "1.0.0"),
            ("application", "dubbo-js"),
            ("group", "g1"),
            ("path", "com.example.UserService"),
        ]
    );
}

#[test]
fn every_split_point_needs_more_data() {
    let f = dubbo_js_request();
    let mut c = DubboCodec::new(Direction::Request, Limits::default());
    let mut md = Metadata::new();
    for i in 0..f.len() {
        match c.decode(&f[..i], &mut md).unwrap() {
            DecodeStatus::NeedMoreData { needed } => {
                assert_eq!(needed, Some(if i < 16 { 16 } else { f.len() }));
            }
            other => panic!("prefix {i}: {other:?}"),
        }
    }
    let mut two = f.clone();
    two.extend_from_slice(&f);
    assert_eq!(
        c.decode(&two, &mut md).unwrap(),
        DecodeStatus::Done { consumed: f.len() }
    );
}

#[test]
fn responses_of_every_flag_and_status() {
    // flag 4: value + attachments (Caucho provider, dubbo version 2.0.2)
    let mut b = vec![0x94];
    s(&mut b, "héllo");
    b.extend_from_slice(b"H\x05dubbo\x052.0.2Z");
    assert_eq!(b.len(), 0x16);
    let (md, _) = decode(Direction::Response, &frame(0x02, 20, 1, &b)).unwrap();
    assert_eq!(md.message_type, MessageType::Response);
    assert_eq!(md.status, Some(ResponseStatus::Ok));
    assert_eq!(md.typed("status_code"), Some(&TypedValue::Str("20")));
    assert_eq!(
        md.typed("response_type"),
        Some(&TypedValue::Str("value_with_attachments"))
    );
    assert_eq!(md.get("dubbo"), Some("2.0.2"));
    // flag 5, flag 1 (no attachments), flag 0 (exception object)
    let (md, _) = decode(
        Direction::Response,
        &frame(2, 20, 2, b"\x95H\x05dubbo\x052.0.2Z"),
    )
    .unwrap();
    assert_eq!(md.get("dubbo"), Some("2.0.2"));
    let (md, _) = decode(
        Direction::Response,
        &frame(2, 20, 3, b"\x91\x05h\xc3\xa9llo"),
    )
    .unwrap();
    assert_eq!(md.typed("response_type"), Some(&TypedValue::Str("value")));
    let exc = b"\x90\x43\x1ajava.lang.RuntimeException\x91\x0ddetailMessage\x60\x04boom";
    let (md, _) = decode(Direction::Response, &frame(2, 20, 4, exc)).unwrap();
    assert_eq!(
        md.typed("response_type"),
        Some(&TypedValue::Str("exception"))
    );
    assert_eq!(md.status, Some(ResponseStatus::Ok));
    // status 60 with the error string body
    let mut b = Vec::new();
    s(&mut b, "Service not found: nosuch");
    assert_eq!(b.len(), 0x1a);
    let (md, _) = decode(Direction::Response, &frame(2, 60, 4, &b)).unwrap();
    assert_eq!(md.status, Some(ResponseStatus::Error));
    assert_eq!(md.typed("status_code"), Some(&TypedValue::Str("60")));
    // 80 (SERVER_ERROR) is a valid status, 81 is not
    let (md, _) = decode(Direction::Response, &frame(2, 80, 4, &b)).unwrap();
    assert_eq!(md.typed("status_code"), Some(&TypedValue::Str("80")));
    let e = decode(Direction::Response, &frame(2, 81, 4, &b)).unwrap_err();
    assert_eq!(e.offset(), Some(3));
    // flag out of range
    let e = decode(Direction::Response, &frame(2, 20, 4, b"\x96")).unwrap_err();
    assert_eq!(e.offset(), Some(16));
}

#[test]
fn heartbeats_and_oneway() {
    let hb = frame(0xe2, 0, 0, b"N");
    let mut c = DubboCodec::new(Direction::Request, Limits::default());
    let mut md = Metadata::new();
    c.decode(&hb, &mut md).unwrap();
    assert_eq!(md.message_type, MessageType::Heartbeat);
    let mut out = BytesMut::new();
    assert!(c.heartbeat_reply(&md, &mut out).unwrap());
    assert_eq!(&out[..], &frame(0x22, 20, 0, b"N")[..]);
    // the reply decodes as a heartbeat response; no reply to a reply
    let (md, _) = decode(Direction::Response, &out).unwrap();
    assert_eq!(md.message_type, MessageType::Heartbeat);
    assert_eq!(md.status, Some(ResponseStatus::Ok));
    assert!(!c.heartbeat_reply(&md, &mut BytesMut::new()).unwrap());
    // oneway: request without the two-way bit
    let mut f = dubbo_js_request();
    f[2] = 0x82;
    let (md, _) = decode(Direction::Request, &f).unwrap();
    assert_eq!(md.message_type, MessageType::Oneway);
    let mut out = BytesMut::new();
    c.on_error(
        &md,
        &LocalError::new(LocalErrorKind::RouteNotFound, "x"),
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
}

#[test]
fn bad_headers_are_typed_errors() {
    let mut f = dubbo_js_request();
    f[2] = 0xc3; // serialization 3
    assert!(matches!(
        decode(Direction::Request, &f),
        Err(CodecError::Unsupported { offset: 2, .. })
    ));
    let e = decode(Direction::Request, b"\xda\xbc").unwrap_err();
    assert_eq!(e.offset(), Some(0));
    let mut f = frame(0xc2, 0, 1, b"");
    f[12..16].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    assert!(matches!(
        decode(Direction::Request, &f),
        Err(CodecError::FrameTooLarge { .. })
    ));
    f[12..16].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    assert!(matches!(
        decode(Direction::Request, &f),
        Err(CodecError::Malformed { offset: 12, .. })
    ));
    // a response on the request direction
    let e = decode(Direction::Request, &frame(2, 20, 1, b"\x92")).unwrap_err();
    assert_eq!(e.offset(), Some(2));
    // truncated body content: offset inside the frame
    let mut b = Vec::new();
    s(&mut b, "2.0.2");
    b.push(0x05);
    let e = decode(Direction::Request, &frame(0xc2, 0, 1, &b)).unwrap_err();
    assert!(matches!(e, CodecError::Malformed { offset: 23, .. }), "{e}");
    // bad descriptor
    let mut b = Vec::new();
    for v in ["2.0.2", "p", "1", "m", "Lfoo"] {
        s(&mut b, v);
    }
    let e = decode(Direction::Request, &frame(0xc2, 0, 1, &b)).unwrap_err();
    assert!(e.to_string().contains("descriptor"), "{e}");
}

#[test]
fn descriptor_counts() {
    assert_eq!(count_args(""), Some(0));
    assert_eq!(count_args("Ljava/lang/String;ILcom/example/User;"), Some(3));
    assert_eq!(count_args("[[I[Ljava/lang/String;JZ"), Some(4));
    assert_eq!(count_args("L;"), Some(1));
    assert_eq!(count_args("X"), None);
    assert_eq!(count_args("["), None);
}

#[test]
fn mutation_rewrites_only_the_attachments() {
    let f = dubbo_js_request();
    let mut c = DubboCodec::new(Direction::Request, Limits::default());
    let mut md = Metadata::new();
    c.decode(&f, &mut md).unwrap();
    let mut out = BytesMut::new();
    c.encode(&f, &md, &Mutation::new(), &mut out).unwrap();
    assert_eq!(&out[..], &f[..]);
    out.clear();
    let m = Mutation::new().with("group", "g2").with("x-mesh", "yes");
    c.encode(&f, &md, &m, &mut out).unwrap();
    // everything before the attachment map is unchanged except the body length
    let map_at = f.iter().rposition(|&b| b == b'H').unwrap();
    assert_eq!(out[..12], f[..12]);
    assert_eq!(out[16..map_at], f[16..map_at]);
    let (md2, st) = decode(Direction::Request, &out).unwrap();
    assert_eq!(
        st,
        DecodeStatus::Done {
            consumed: out.len()
        }
    );
    assert_eq!(md2.get("group"), Some("g2"));
    assert_eq!(md2.get("x-mesh"), Some("yes"));
    assert_eq!(md2.get("application"), Some("dubbo-js"));
    let body = &out[16..];
    let mut d = Decoder::new(body);
    for _ in 0..8 {
        d.skip().unwrap();
    }
    let atts = d.read_value().unwrap();
    assert_eq!(
        atts,
        crate::hessian2::Value::map(vec![
            ("application".into(), "dubbo-js".into()),
            ("group".into(), "g2".into()),
            ("interface".into(), "com.example.UserService".into()),
            ("path".into(), "com.example.UserService".into()),
            ("timeout".into(), 3.into()),
            ("version".into(), "1.0.0".into()),
            ("x-mesh".into(), "yes".into()),
        ])
    );
    // responses: flag 4 rewritten, flag 1 refused, status 60 refused
    let mut rc = DubboCodec::new(Direction::Response, Limits::default());
    let r = frame(2, 20, 1, b"\x94\x01aH\x05dubbo\x052.0.2Z");
    let mut out = BytesMut::new();
    rc.encode(&r, &md, &Mutation::new().with("k", "v"), &mut out)
        .unwrap();
    assert_eq!(
        &out[..],
        &frame(2, 20, 1, b"\x94\x01aH\x05dubbo\x052.0.2\x01k\x01vZ")[..]
    );
    let mut out = BytesMut::from(&b"keep"[..]);
    let e = rc
        .encode(
            &frame(2, 20, 1, b"\x91\x01a"),
            &md,
            &Mutation::new().with("k", "v"),
            &mut out,
        )
        .unwrap_err();
    assert!(matches!(e, CodecError::MutationRefused { .. }));
    assert_eq!(&out[..], b"keep");
    let e = rc
        .encode(
            &frame(2, 60, 1, b"\x01a"),
            &md,
            &Mutation::new().with("k", "v"),
            &mut out,
        )
        .unwrap_err();
    assert!(matches!(e, CodecError::MutationRefused { .. }));
}

#[test]
fn class_definitions_span_the_body() {
    // argument 1 defines class A; attachment value is an A instance and a ref to the argument
    let mut b = Vec::new();
    for v in ["2.0.2", "p", "", "m", "Lx/A;"] {
        s(&mut b, v);
    }
    b.extend_from_slice(b"\x43\x01A\x91\x01v\x60\x91");
    b.extend_from_slice(b"H\x03obj\x60\x92\x03ref\x51\x90\x01k\x01vZ");
    let (md, _) = decode(Direction::Request, &frame(0xc2, 0, 9, &b)).unwrap();
    assert_eq!(md.get("k"), Some("v"));
    assert_eq!(md.get("version"), Some(""));
}

#[test]
fn on_error_writes_dubbo_error_responses() {
    let f = dubbo_js_request();
    let (md, _) = decode(Direction::Request, &f).unwrap();
    let mut c = DubboCodec::new(Direction::Request, Limits::default());
    for (kind, code) in [
        (LocalErrorKind::RouteNotFound, "60"),
        (LocalErrorKind::BadResponse, "50"),
        (LocalErrorKind::ClusterNotFound, "80"),
        (LocalErrorKind::NoHealthyUpstream, "80"),
        (LocalErrorKind::Unspecified, "80"),
        (LocalErrorKind::Timeout, "31"),
        (LocalErrorKind::OverLimit, "100"),
    ] {
        let mut out = BytesMut::new();
        c.on_error(&md, &LocalError::new(kind, "no route: héllo"), &mut out)
            .unwrap();
        let (rmd, st) = decode(Direction::Response, &out).unwrap();
        assert_eq!(
            st,
            DecodeStatus::Done {
                consumed: out.len()
            }
        );
        assert_eq!(rmd.request_id, Some(1));
        assert_eq!(rmd.status, Some(ResponseStatus::Error));
        assert_eq!(rmd.typed("status_code"), Some(&TypedValue::Str(code)));
        assert_eq!(
            crate::hessian2::from_slice(&out[16..]).unwrap(),
            "no route: héllo".into()
        );
    }
}

/// A request and a flag-4 response carrying `n` distinct string attachments.
pub(crate) fn many_attachments(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut map = vec![b'H'];
    for i in 0..n {
        s(&mut map, &format!("attachment-{i}"));
        s(&mut map, &format!("{i}"));
    }
    map.push(b'Z');
    let mut req = Vec::new();
    for v in ["2.0.2", "p", "1.0", "m", ""] {
        s(&mut req, v);
    }
    req.extend_from_slice(&map);
    let mut resp = vec![0x94, b'N'];
    resp.extend_from_slice(&map);
    (frame(0xc2, 0, 1, &req), frame(0x02, 20, 1, &resp))
}

/// Key comparisons made decoding `f` twice on one codec (the second time reuses the slots).
fn decode_compares(dir: Direction, f: &[u8], n: usize) -> u64 {
    let mut c = DubboCodec::new(dir, Limits::default());
    let mut md = Metadata::new();
    let before = crate::metadata::key_compares();
    for _ in 0..2 {
        assert_eq!(
            c.decode(f, &mut md).unwrap(),
            DecodeStatus::Done { consumed: f.len() }
        );
        assert_eq!(
            md.get(&format!("attachment-{}", n - 1)),
            Some(&*format!("{}", n - 1))
        );
    }
    crate::metadata::key_compares() - before
}

#[test]
fn attachment_work_grows_linearly() {
    let n = 3_000;
    let (req, resp) = many_attachments(n);
    let (req2, resp2) = many_attachments(2 * n);
    for (dir, a, b) in [
        (Direction::Request, &req, &req2),
        (Direction::Response, &resp, &resp2),
    ] {
        let (ca, cb) = (decode_compares(dir, a, n), decode_compares(dir, b, 2 * n));
        // A search of every earlier key per attachment would quadruple the count.
        assert!(
            cb <= ca * 5 / 2,
            "{dir:?}: {ca} comparisons for {n}, {cb} for {}",
            2 * n
        );
        assert!(ca <= 2 * n as u64 * 12, "{dir:?}: {ca} comparisons for {n}");
    }
}
