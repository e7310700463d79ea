use super::*;
use crate::LocalErrorKind;

fn dec(dir: Direction, input: &[u8]) -> Vec<(Metadata, usize)> {
    let mut c = RedisCodec::new(dir, Limits::default());
    let mut out = Vec::new();
    let mut off = 0;
    while off < input.len() {
        let mut md = Metadata::new();
        match c.decode(&input[off..], &mut md).unwrap() {
            DecodeStatus::Done { consumed } => {
                out.push((md, consumed));
                off += consumed;
            }
            DecodeStatus::NeedMoreData { .. } => panic!("incomplete at {off}"),
        }
    }
    out
}

fn one(dir: Direction, input: &[u8]) -> Metadata {
    let v = dec(dir, input);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].1, input.len());
    v.into_iter().next().unwrap().0
}

fn ty(md: &Metadata) -> &str {
    match md.typed("type") {
        Some(TypedValue::Str(s)) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn request_command_and_key() {
    let md = one(
        Direction::Request,
        b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n",
    );
    assert_eq!(md.get("command"), Some("set"));
    assert_eq!(md.get("key"), Some("foo"));
    assert_eq!(md.request_id, Some(0));
    assert_eq!(md.message_type, MessageType::Request);
    let md = one(Direction::Request, b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(md.get("command"), Some("ping"));
    assert_eq!(md.get("key"), None);
}

#[test]
fn first_key_positions() {
    let cases: &[(&str, Option<&str>)] = &[
        ("EVAL s 2 k1 k2 a", Some("k1")),
        ("EVAL s 0 a", None),
        ("ZUNIONSTORE dst 2 a b", Some("dst")),
        ("LMPOP 2 l1 l2 LEFT", Some("l1")),
        ("BLMPOP 0 1 l1 LEFT", Some("l1")),
        ("XREAD COUNT 2 STREAMS s1 s2 0 0", Some("s1")),
        ("XREADGROUP GROUP g c STREAMS s1 >", Some("s1")),
        ("OBJECT ENCODING k", Some("k")),
        ("MEMORY STATS", None),
        ("MSET a 1 b 2", Some("a")),
        ("BLPOP l1 l2 0", Some("l1")),
        ("DEL", None),
        ("publish ch msg", None),
        ("nosuchcmd x", None),
    ];
    for (line, key) in cases {
        let wire = format!("{line}\r\n");
        let md = one(Direction::Request, wire.as_bytes());
        assert_eq!(md.get("key"), *key, "{line}");
    }
}

#[test]
fn inline_and_pipelined_requests_get_positions() {
    let v = dec(
        Direction::Request,
        b"PING\r\nECHO \"hello world\"\r\nGET k\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    );
    let ids: Vec<_> = v.iter().map(|(m, _)| m.request_id).collect();
    assert_eq!(ids, [Some(0), Some(1), Some(2), Some(3)]);
    assert_eq!(v[1].0.get("command"), Some("echo"));
    assert_eq!(v[2].0.get("key"), Some("k"));
    assert_eq!(v[2].1, 6);
}

#[test]
fn empty_multibulks_are_absorbed_like_the_server_skips_them() {
    // `*-1` and `*0` are skipped; the following lines are inline commands.
    let v = dec(
        Direction::Request,
        b"*-1\r\n$3\r\nfoo\r\n*0\r\n\r\n*1\r\n$4\r\nPING\r\n",
    );
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].0.get("command"), Some("$3"));
    assert_eq!(v[0].1, 9);
    assert_eq!(v[1].0.get("command"), Some("foo"));
    assert_eq!(v[2].0.get("command"), Some("ping"));
    assert_eq!(v[2].0.request_id, Some(2));
    let mut c = RedisCodec::new(Direction::Request, Limits::default());
    let mut md = Metadata::new();
    assert!(matches!(
        c.decode(b"*0\r\n", &mut md),
        Ok(DecodeStatus::NeedMoreData { .. })
    ));
}

#[test]
fn bad_requests_are_typed_errors_with_offsets() {
    let mut c = RedisCodec::new(Direction::Request, Limits::default());
    let mut md = Metadata::new();
    let e = c.decode(b"*1\r\nfoo\r\n", &mut md).unwrap_err();
    assert_eq!(e.offset(), Some(4));
    let e = c.decode(b"*1\r\n$x\r\n", &mut md).unwrap_err();
    assert_eq!(e.offset(), Some(5));
    let e = c.decode(b"SET k \"open\r\n", &mut md).unwrap_err();
    assert!(matches!(e, CodecError::Malformed { .. }));
    let e = c.decode(b"*99999999\r\n", &mut md).unwrap_err();
    assert!(matches!(e, CodecError::TooManyElements { offset: 0, .. }));
    let e = c.decode(b"*1\r\n$999999999999\r\n", &mut md).unwrap_err();
    assert!(
        matches!(e, CodecError::FrameTooLarge { offset: 4, .. }),
        "{e:?}"
    );
    let e = c
        .decode(b"*1\r\n$99999999999999999999999\r\n", &mut md)
        .unwrap_err();
    assert!(matches!(e, CodecError::Malformed { .. }));
}

#[test]
fn subscriptions_are_oneway() {
    let v = dec(
        Direction::Request,
        b"SUBSCRIBE a b\r\nPING\r\nSUBSCRIBE\r\n",
    );
    assert_eq!(v[0].0.message_type, MessageType::Oneway);
    assert_eq!(v[0].0.request_id, None);
    assert_eq!(v[1].0.request_id, Some(0));
    // Without a channel it is an error reply: a normal request.
    assert_eq!(v[2].0.request_id, Some(1));
}

#[test]
fn every_resp3_type() {
    let cases: &[(&[u8], &str, ResponseStatus)] = &[
        (b"+OK\r\n", "simple_string", ResponseStatus::Ok),
        (b"-ERR x\r\n", "error", ResponseStatus::Error),
        (b":-12\r\n", "integer", ResponseStatus::Ok),
        (b"$3\r\nabc\r\n", "bulk_string", ResponseStatus::Ok),
        (b"$-1\r\n", "null", ResponseStatus::Ok),
        (b"*-1\r\n", "null", ResponseStatus::Ok),
        (b"_\r\n", "null", ResponseStatus::Ok),
        (b"*2\r\n:1\r\n-E x\r\n", "array", ResponseStatus::Ok),
        (b"%1\r\n+a\r\n:1\r\n", "map", ResponseStatus::Ok),
        (b"~2\r\n:1\r\n:2\r\n", "set", ResponseStatus::Ok),
        (b",3.141\r\n", "double", ResponseStatus::Ok),
        (b",-inf\r\n", "double", ResponseStatus::Ok),
        (b"#t\r\n", "boolean", ResponseStatus::Ok),
        (b"=8\r\ntxt:abcd\r\n", "verbatim_string", ResponseStatus::Ok),
        (b"(-123456789012345678901234567890\r\n", "big_number", ResponseStatus::Ok),
        (b"!5\r\nERR x\r\n", "blob_error", ResponseStatus::Error),
        (b"|1\r\n+k\r\n:1\r\n-ERR after attr\r\n", "attribute", ResponseStatus::Error),
        (b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n", "attribute", ResponseStatus::Ok),
        (b"*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", "array", ResponseStatus::Ok),
    ];
    for (wire, name, status) in cases {
        let md = one(Direction::Response, wire);
        assert_eq!(ty(&md), *name, "{}", String::from_utf8_lossy(wire));
        assert_eq!(
            md.status,
            Some(*status),
            "{}",
            String::from_utf8_lossy(wire)
        );
        assert_eq!(md.request_id, Some(0));
    }
}

#[test]
fn pushes_have_no_request_id() {
    let wire = b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n+PONG\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n:5\r\n";
    let v = dec(Direction::Response, wire);
    let ids: Vec<_> = v.iter().map(|(m, _)| m.request_id).collect();
    assert_eq!(ids, [None, None, Some(0), None, Some(1)]);
    assert_eq!(ty(&v[0].0), "push");
}

#[test]
fn resp2_pubsub_arrays_are_pushes() {
    let wire = b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
    let v = dec(Direction::Response, wire);
    let ids: Vec<_> = v.iter().map(|(m, _)| m.request_id).collect();
    // After the last unsubscribe, a `message`-shaped array is an ordinary reply (e.g. LRANGE).
    assert_eq!(ids, [None, None, Some(0), None, Some(1)]);
}

#[test]
fn hello_tracks_the_protocol() {
    let mut c = RedisCodec::new(Direction::Response, Limits::default());
    let hello3 = b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:24\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
    let mut md = Metadata::new();
    assert_eq!(
        c.decode(hello3, &mut md).unwrap(),
        DecodeStatus::Done {
            consumed: hello3.len()
        }
    );
    assert_eq!(c.protocol_version(), 3);
    // Under RESP3 a message-shaped array is a reply.
    let arr = b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n";
    c.decode(arr, &mut md).unwrap();
    assert_eq!(md.request_id, Some(1));
    c.decode(b"+RESET\r\n", &mut md).unwrap();
    assert_eq!(c.protocol_version(), 2);
}

#[test]
fn partial_input_needs_more_and_big_bulk_reports_its_size() {
    let mut c = RedisCodec::new(Direction::Response, Limits::default());
    let mut md = Metadata::new();
    let wire = b"$10\r\n0123456789\r\n";
    for n in 0..wire.len() {
        assert!(
            matches!(
                c.decode(&wire[..n], &mut md),
                Ok(DecodeStatus::NeedMoreData { .. })
            ),
            "{n}"
        );
    }
    assert_eq!(
        c.decode(b"$100000\r\nabc", &mut md).unwrap(),
        DecodeStatus::NeedMoreData {
            needed: Some(100_011)
        }
    );
}

#[test]
fn hostile_responses() {
    let limits = Limits {
        max_frame_size: 1000,
        max_depth: 3,
        max_elements: 10,
    };
    let mut c = RedisCodec::new(Direction::Response, limits);
    let mut md = Metadata::new();
    assert!(matches!(
        c.decode(b"$5000\r\n", &mut md),
        Err(CodecError::FrameTooLarge { offset: 0, .. })
    ));
    assert!(matches!(
        c.decode(b"*11\r\n", &mut md),
        Err(CodecError::TooManyElements { offset: 0, .. })
    ));
    assert!(matches!(
        c.decode(b"*1\r\n*1\r\n*1\r\n*1\r\n", &mut md),
        Err(CodecError::DepthExceeded { offset: 12, .. })
    ));
    assert!(matches!(
        c.decode(&[b'+'; 2000], &mut md),
        Err(CodecError::FrameTooLarge { .. })
    ));
    assert!(matches!(
        c.decode(b"?x\r\n", &mut md),
        Err(CodecError::Malformed { offset: 0, .. })
    ));
    assert!(matches!(
        c.decode(b"#x\r\n", &mut md),
        Err(CodecError::Malformed { offset: 1, .. })
    ));
    assert!(matches!(
        c.decode(b"$3\r\nabcd\r\n", &mut md),
        Err(CodecError::Malformed { offset: 7, .. })
    ));
    assert!(matches!(
        c.decode(b"=2\r\nab\r\n", &mut md),
        Err(CodecError::Malformed { .. })
    ));
}

#[test]
fn mutation_prefixes_and_replaces_keys() {
    let mut c = RedisCodec::new(Direction::Request, Limits::default());
    let md = Metadata::new();
    let mut out = BytesMut::new();
    let m = Mutation::new().with("key_prefix", "t1:");
    c.encode(b"MSET a 1 b 2\r\n", &md, &m, &mut out).unwrap();
    assert_eq!(
        &out[..],
        b"*5\r\n$4\r\nMSET\r\n$4\r\nt1:a\r\n$1\r\n1\r\n$4\r\nt1:b\r\n$1\r\n2\r\n"
    );
    out.clear();
    let m = Mutation::new()
        .with("key", "other")
        .with("key_prefix", "p:");
    c.encode(
        b"*3\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n",
        &md,
        &m,
        &mut out,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        &out[..],
        b"*3\r\n$6\r\nLRANGE\r\n$7\r\np:other\r\n$1\r\n0\r\n"
    );
    out.clear();
    c.encode(
        b"EVAL s 2 a b x\r\n",
        &md,
        &Mutation::new().with("key_prefix", "p:"),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        &out[..],
        b"*6\r\n$4\r\nEVAL\r\n$1\r\ns\r\n$1\r\n2\r\n$3\r\np:a\r\n$3\r\np:b\r\n$1\r\nx\r\n"
    );
    out.clear();
    c.encode(
        b"XREAD STREAMS s1 s2 0 0\r\n",
        &md,
        &Mutation::new().with("key_prefix", "p:"),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        &out[..],
        b"*6\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n$4\r\np:s1\r\n$4\r\np:s2\r\n$1\r\n0\r\n$1\r\n0\r\n"
    );
    out.clear();
    // keyless commands pass with a prefix, unknown ones and unknown keys are refused
    c.encode(
        b"PING\r\n",
        &md,
        &Mutation::new().with("key_prefix", "p:"),
        &mut out,
    )
    .unwrap();
    for (wire, m) in [
        (&b"PING\r\n"[..], Mutation::new().with("key", "x")),
        (
            b"MIGRATE h p k 0 0\r\n",
            Mutation::new().with("key_prefix", "x"),
        ),
        (b"GET k\r\n", Mutation::new().with("x-request-id", "1")),
    ] {
        assert!(matches!(
            c.encode(wire, &md, &m, &mut out),
            Err(CodecError::MutationRefused { .. })
        ));
    }
    let mut r = RedisCodec::new(Direction::Response, Limits::default());
    assert!(
        r.encode(b"+OK\r\n", &md, &Mutation::new().with("key", "x"), &mut out)
            .is_err()
    );
}

#[test]
fn on_error_writes_one_error_line() {
    let mut c = RedisCodec::new(Direction::Request, Limits::default());
    let mut out = BytesMut::new();
    let e = LocalError::new(LocalErrorKind::OverLimit, "too many\r\n+OK");
    c.on_error(&Metadata::new(), &e, &mut out).unwrap();
    assert_eq!(&out[..], b"-ERR too many  +OK\r\n");
    let r = RedisCodec::new(Direction::Response, Limits::default());
    let md = one(Direction::Response, &out);
    assert_eq!(md.status, Some(ResponseStatus::Error));
    let _ = r.protocol();
}

#[test]
fn value_round_trip_samples() {
    let v = Value::Attribute {
        attributes: vec![(Value::SimpleString(b"a".to_vec()), Value::Double(1.5))],
        value: Box::new(Value::Map(vec![(
            Value::BigNumber(b"-12".to_vec()),
            Value::VerbatimString {
                format: *b"txt",
                text: b"x\r\ny".to_vec(),
            },
        )])),
    };
    let mut out = BytesMut::new();
    v.encode(&mut out);
    let (back, n) = Value::decode(&out, &Limits::default()).unwrap().unwrap();
    assert_eq!(n, out.len());
    assert_eq!(back, v);
}

#[test]
fn doubles_are_checked_by_the_same_rule_as_the_value_decoder() {
    // Fuzz find: the scanner took any mix of digits and signs, the value decoder did not.
    for bad in [
        &b",3+.141\r\n"[..],
        b",1-2\r\n",
        b",e\r\n",
        b",infinity\r\n",
        b",1..2\r\n",
    ] {
        let mut codec = RedisCodec::new(Direction::Response, Limits::DEFAULT);
        let err = codec.decode(bad, &mut Metadata::new()).unwrap_err();
        assert!(
            matches!(err, CodecError::Malformed { offset: 1, .. }),
            "{err:?}"
        );
        assert!(Value::decode(bad, &Limits::DEFAULT).is_err());
    }
    for good in [
        &b",3.141\r\n"[..],
        b",-1.5e-3\r\n",
        b",+2E10\r\n",
        b",10\r\n",
        b",nan\r\n",
    ] {
        let md = one(Direction::Response, good);
        assert_eq!(ty(&md), "double");
        assert!(Value::decode(good, &Limits::DEFAULT).unwrap().is_some());
    }
}

/// Bytes searched for line ends while a reply of `n` bytes arrives `chunk` bytes at a time,
/// decoded after every chunk as a `Framer` does; also checks the reply decodes whole.
fn line_bytes_searched(line: &[u8], chunk: usize) -> u64 {
    let mut c = RedisCodec::new(Direction::Response, Limits::default());
    let mut md = Metadata::new();
    let before = wire::LINE_BYTES.with(|c| c.get());
    let mut k = 0;
    loop {
        k = (k + chunk).min(line.len());
        match c.decode(&line[..k], &mut md).unwrap() {
            DecodeStatus::Done { consumed } => {
                assert_eq!((consumed, k), (line.len(), line.len()));
                break;
            }
            DecodeStatus::NeedMoreData { .. } => assert!(k < line.len()),
        }
    }
    wire::LINE_BYTES.with(|c| c.get()) - before
}

#[test]
fn a_long_line_arriving_in_chunks_is_searched_once() {
    for (kind, n) in [
        (b'+', 1 << 20),
        (b'-', 1 << 20),
        (b'(', 1 << 20),
        (b',', 1 << 20),
    ] {
        let mut line = vec![kind];
        line.extend(std::iter::repeat_n(b'1', n));
        line.extend_from_slice(b"\r\n");
        let (a, b) = (
            line_bytes_searched(&line, 1024),
            line_bytes_searched(&line, 1023),
        );
        // Once through the line (plus one byte per chunk); a search from the line start per
        // chunk would be ~n²/2048 (512 MiB).
        assert!(
            a <= 2 * n as u64 && b <= 2 * n as u64,
            "{}: {a} / {b} bytes",
            kind as char
        );
    }
    // A CR at the end of a chunk, its LF in the next.
    let mut line = b"+".to_vec();
    line.extend(std::iter::repeat_n(b'x', 1022));
    line.extend_from_slice(b"\r\n");
    assert_eq!(line.len(), 1025);
    line_bytes_searched(&line, 1024);
    // A bare LF found after a resumed search is still malformed.
    let mut c = RedisCodec::new(Direction::Response, Limits::default());
    let mut md = Metadata::new();
    let bad = b"+abcdef\nxyz\r\n";
    assert!(matches!(
        c.decode(&bad[..4], &mut md),
        Ok(DecodeStatus::NeedMoreData { .. })
    ));
    let e = c.decode(bad, &mut md).unwrap_err();
    assert_eq!(e.offset(), Some(7));
}
