//! Properties: every RESP value round-trips (encode → codec decode → same size and type;
//! encode → Value::decode → same value), every proper prefix asks for more, requests keep
//! their command and key, and arbitrary bytes never panic the decoders.

use bytes::BytesMut;
use mesh_codec::redis::{RedisCodec, Value};
use mesh_codec::{
    Codec, DecodeStatus, Direction, Limits, Metadata, Mutation, ResponseStatus, TypedValue,
};
use proptest::prelude::*;

fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..12,
    )
}

fn blob() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..24)
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        line_bytes().prop_map(Value::SimpleString),
        line_bytes().prop_map(Value::Error),
        any::<i64>().prop_map(Value::Integer),
        blob().prop_map(Value::BulkString),
        Just(Value::NullBulkString),
        Just(Value::NullArray),
        Just(Value::Null),
        prop_oneof![
            any::<f64>().prop_filter("not NaN", |d| !d.is_nan()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY)
        ]
        .prop_map(Value::Double),
        any::<bool>().prop_map(Value::Boolean),
        (any::<[u8; 3]>(), blob())
            .prop_map(|(format, text)| Value::VerbatimString { format, text }),
        ("-?[0-9]{1,40}").prop_map(|s| Value::BigNumber(s.into_bytes())),
        blob().prop_map(Value::BlobError),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let pairs = prop::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Set),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Push),
            pairs.clone().prop_map(Value::Map),
            (pairs, inner).prop_map(|(attributes, v)| Value::Attribute {
                attributes,
                value: Box::new(v)
            }),
        ]
    })
}

fn inner_value(v: &Value) -> &Value {
    match v {
        Value::Attribute { value, .. } => inner_value(value),
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_value_round_trips(v in value()) {
        let mut wire = BytesMut::new();
        v.encode(&mut wire);
        let mut codec = RedisCodec::new(Direction::Response, Limits::default());
        let mut md = Metadata::new();
        prop_assert_eq!(codec.decode(&wire, &mut md).unwrap(), DecodeStatus::Done { consumed: wire.len() });
        prop_assert_eq!(md.typed("type"), Some(&TypedValue::Str(v.resp_type().as_str())));
        let err = inner_value(&v).resp_type().is_error();
        prop_assert_eq!(md.status, Some(if err { ResponseStatus::Error } else { ResponseStatus::Ok }));
        let (back, n) = Value::decode(&wire, &Limits::default()).unwrap().unwrap();
        prop_assert_eq!(n, wire.len());
        prop_assert_eq!(back, v);
        // Unchanged re-encode is byte-identical.
        let mut out = BytesMut::new();
        codec.encode(&wire, &md, &Mutation::new(), &mut out).unwrap();
        prop_assert_eq!(&out[..], &wire[..]);
        // Every proper prefix asks for more, from a fresh codec and from one resuming.
        for cut in 0..wire.len() {
            let mut fresh = RedisCodec::new(Direction::Response, Limits::default());
            let is_need = matches!(fresh.decode(&wire[..cut], &mut md), Ok(DecodeStatus::NeedMoreData { .. }));
            prop_assert!(is_need, "cut {}", cut);
            let is_need = matches!(codec.decode(&wire[..cut], &mut md), Ok(DecodeStatus::NeedMoreData { .. }));
            prop_assert!(is_need, "resumed cut {}", cut);
            prop_assert!(Value::decode(&wire[..cut], &Limits::default()).unwrap().is_none());
        }
        prop_assert_eq!(codec.decode(&wire, &mut md).unwrap(), DecodeStatus::Done { consumed: wire.len() });
    }

    #[test]
    fn requests_keep_command_and_key(
        cmd in prop_oneof![Just("GET"), Just("set"), Just("HGet"), Just("Del"), Just("PING")],
        key in blob(),
        rest in prop::collection::vec(blob(), 0..4),
        prefix in "[a-z]{1,6}:",
    ) {
        let mut args = vec![cmd.as_bytes().to_vec()];
        if cmd != "PING" {
            args.push(key.clone());
        }
        args.extend(rest);
        let mut wire = BytesMut::new();
        Value::Array(args.iter().cloned().map(Value::BulkString).collect()).encode(&mut wire);
        let mut codec = RedisCodec::new(Direction::Request, Limits::default());
        let mut md = Metadata::new();
        prop_assert_eq!(codec.decode(&wire, &mut md).unwrap(), DecodeStatus::Done { consumed: wire.len() });
        let lower = cmd.to_ascii_lowercase();
        prop_assert_eq!(md.get("command"), Some(lower.as_str()));
        let want = (cmd != "PING").then(|| String::from_utf8_lossy(&key).into_owned());
        prop_assert_eq!(md.get("key").map(str::to_string), want);
        // Prefixing rewrites the key and nothing else.
        let mut out = BytesMut::new();
        codec.encode(&wire, &md, &Mutation::new().with("key_prefix", prefix.clone()), &mut out).unwrap();
        let mut expect = args.clone();
        if cmd != "PING" {
            expect[1] = [prefix.as_bytes(), &key].concat();
            if lower == "del" {
                for a in expect.iter_mut().skip(2) {
                    *a = [prefix.as_bytes(), &a[..]].concat();
                }
            }
        }
        let mut want_wire = BytesMut::new();
        Value::Array(expect.into_iter().map(Value::BulkString).collect()).encode(&mut want_wire);
        prop_assert_eq!(&out[..], &want_wire[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let limits = Limits { max_frame_size: 1 << 16, max_depth: 8, max_elements: 64 };
        for dir in [Direction::Request, Direction::Response] {
            let mut codec = RedisCodec::new(dir, limits);
            let mut md = Metadata::new();
            let mut off = 0;
            while off < bytes.len() {
                match codec.decode(&bytes[off..], &mut md) {
                    Ok(DecodeStatus::Done { consumed }) => {
                        prop_assert!(consumed > 0 && consumed <= bytes.len() - off);
                        off += consumed;
                    }
                    Ok(DecodeStatus::NeedMoreData { .. }) => break,
                    Err(e) => {
                        prop_assert!(e.offset().unwrap() <= bytes.len() - off);
                        break;
                    }
                }
            }
        }
        let _ = Value::decode(&bytes, &limits);
    }
}
