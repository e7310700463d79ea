//! Property tests: messages written by the `thrift` crate (an independent encoder) in every
//! protocol and transport decode to the metadata they were built from; encode with an empty
//! mutation gives the original bytes back; THeader mutations round-trip; decode never panics.

use bytes::BytesMut;
use mesh_codec::{
    Codec, CodecError, DecodeStatus, Direction, Limits, MessageType, Metadata, Mutation,
    ResponseStatus, new_codec,
};
use proptest::prelude::*;
use thrift::protocol::{
    TBinaryOutputProtocol, TCompactOutputProtocol, TFieldIdentifier, TListIdentifier,
    TMapIdentifier, TMessageIdentifier, TMessageType, TOutputProtocol, TSetIdentifier,
    TStructIdentifier, TType,
};

#[derive(Debug, Clone)]
enum V {
    Bool(bool),
    Byte(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    Dbl(f64),
    Str(String),
    Struct(Vec<(i16, V)>),
    ListI32(Vec<i32>),
    SetStr(Vec<String>),
    ListBool(Vec<bool>),
    ListStruct(Vec<Vec<(i16, V)>>),
    MapStrI64(Vec<(String, i64)>),
    MapI32List(Vec<(i32, Vec<i64>)>),
}

fn ttype(v: &V) -> TType {
    match v {
        V::Bool(_) => TType::Bool,
        V::Byte(_) => TType::I08,
        V::I16(_) => TType::I16,
        V::I32(_) => TType::I32,
        V::I64(_) => TType::I64,
        V::Dbl(_) => TType::Double,
        V::Str(_) => TType::String,
        V::Struct(_) => TType::Struct,
        V::ListI32(_) | V::ListBool(_) | V::ListStruct(_) => TType::List,
        V::SetStr(_) => TType::Set,
        V::MapStrI64(_) | V::MapI32List(_) => TType::Map,
    }
}

fn write_struct(p: &mut dyn TOutputProtocol, fields: &[(i16, V)]) {
    p.write_struct_begin(&TStructIdentifier::new("s")).unwrap();
    for (id, v) in fields {
        p.write_field_begin(&TFieldIdentifier::new("f", ttype(v), *id))
            .unwrap();
        write_value(p, v);
        p.write_field_end().unwrap();
    }
    p.write_field_stop().unwrap();
    p.write_struct_end().unwrap();
}

fn write_value(p: &mut dyn TOutputProtocol, v: &V) {
    match v {
        V::Bool(b) => p.write_bool(*b).unwrap(),
        V::Byte(b) => p.write_i8(*b).unwrap(),
        V::I16(i) => p.write_i16(*i).unwrap(),
        V::I32(i) => p.write_i32(*i).unwrap(),
        V::I64(i) => p.write_i64(*i).unwrap(),
        V::Dbl(d) => p.write_double(*d).unwrap(),
        V::Str(s) => p.write_string(s).unwrap(),
        V::Struct(f) => write_struct(p, f),
        V::ListI32(l) => {
            p.write_list_begin(&TListIdentifier::new(TType::I32, l.len() as i32))
                .unwrap();
            for i in l {
                p.write_i32(*i).unwrap();
            }
            p.write_list_end().unwrap();
        }
        V::ListBool(l) => {
            p.write_list_begin(&TListIdentifier::new(TType::Bool, l.len() as i32))
                .unwrap();
            for b in l {
                p.write_bool(*b).unwrap();
            }
            p.write_list_end().unwrap();
        }
        V::SetStr(l) => {
            p.write_set_begin(&TSetIdentifier::new(TType::String, l.len() as i32))
                .unwrap();
            for s in l {
                p.write_string(s).unwrap();
            }
            p.write_set_end().unwrap();
        }
        V::ListStruct(l) => {
            p.write_list_begin(&TListIdentifier::new(TType::Struct, l.len() as i32))
                .unwrap();
            for s in l {
                write_struct(p, s);
            }
            p.write_list_end().unwrap();
        }
        V::MapStrI64(m) => {
            p.write_map_begin(&TMapIdentifier::new(
                TType::String,
                TType::I64,
                m.len() as i32,
            ))
            .unwrap();
            for (k, v) in m {
                p.write_string(k).unwrap();
                p.write_i64(*v).unwrap();
            }
            p.write_map_end().unwrap();
        }
        V::MapI32List(m) => {
            p.write_map_begin(&TMapIdentifier::new(
                TType::I32,
                TType::List,
                m.len() as i32,
            ))
            .unwrap();
            for (k, l) in m {
                p.write_i32(*k).unwrap();
                p.write_list_begin(&TListIdentifier::new(TType::I64, l.len() as i32))
                    .unwrap();
                for i in l {
                    p.write_i64(*i).unwrap();
                }
                p.write_list_end().unwrap();
            }
            p.write_map_end().unwrap();
        }
    }
}

fn value() -> impl Strategy<Value = V> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(V::Bool),
        any::<i8>().prop_map(V::Byte),
        any::<i16>().prop_map(V::I16),
        any::<i32>().prop_map(V::I32),
        any::<i64>().prop_map(V::I64),
        any::<f64>().prop_map(V::Dbl),
        ".{0,12}".prop_map(V::Str),
        prop::collection::vec(any::<i32>(), 0..20).prop_map(V::ListI32),
        prop::collection::vec(any::<bool>(), 0..20).prop_map(V::ListBool),
        prop::collection::vec("[a-z]{0,5}", 0..5).prop_map(V::SetStr),
        prop::collection::vec(("[a-z]{0,5}", any::<i64>()), 0..5).prop_map(V::MapStrI64),
        prop::collection::vec(
            (any::<i32>(), prop::collection::vec(any::<i64>(), 0..4)),
            0..4
        )
        .prop_map(V::MapI32List),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            fields(inner.clone()).prop_map(V::Struct),
            prop::collection::vec(fields(inner), 0..4).prop_map(V::ListStruct),
        ]
    })
}

fn fields(v: impl Strategy<Value = V>) -> impl Strategy<Value = Vec<(i16, V)>> {
    prop::collection::vec((prop_oneof![1i16..20, -16000i16..16000], v), 0..5)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Proto {
    Strict,
    NonStrict,
    Compact,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transport {
    Unframed,
    Framed,
    Header { zlib: bool },
}

#[derive(Debug, Clone)]
struct Case {
    proto: Proto,
    transport: Transport,
    service: Option<String>,
    method: String,
    mtype: u8,
    seqid: i32,
    /// Reply: id of the first result field (0 = success) and its value.
    body: Vec<(i16, V)>,
    info: Vec<(String, String)>,
}

fn case() -> impl Strategy<Value = Case> {
    let proto = prop_oneof![
        Just(Proto::Strict),
        Just(Proto::NonStrict),
        Just(Proto::Compact)
    ];
    let transport = prop_oneof![
        Just(Transport::Unframed),
        Just(Transport::Framed),
        any::<bool>().prop_map(|zlib| Transport::Header { zlib }),
    ];
    (
        proto,
        transport,
        prop::option::of("[A-Za-z][A-Za-z0-9_]{0,10}"),
        "[A-Za-z_][A-Za-z0-9_]{0,20}",
        1u8..=4,
        any::<i32>(),
        fields(value()),
        prop::collection::vec(("[a-z][a-z0-9-]{0,10}", "[ -~]{0,16}"), 0..4),
    )
        .prop_map(
            |(proto, transport, service, method, mtype, seqid, body, info)| {
                // non-strict binary is not carried in THeader by real peers
                let proto = match (proto, transport) {
                    (Proto::NonStrict, Transport::Header { .. }) => Proto::Strict,
                    (p, _) => p,
                };
                let mut seen = std::collections::HashSet::new();
                let info = match transport {
                    Transport::Header { .. } => info
                        .into_iter()
                        .filter(|(k, _)| k != "method" && k != "service" && seen.insert(k.clone()))
                        .collect(),
                    _ => Vec::new(),
                };
                Case {
                    proto,
                    transport,
                    service,
                    method,
                    mtype,
                    seqid,
                    body,
                    info,
                }
            },
        )
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn build(c: &Case) -> Vec<u8> {
    let mut msg = Vec::new();
    let name = match &c.service {
        Some(s) => format!("{s}:{}", c.method),
        None => c.method.clone(),
    };
    let mt = match c.mtype {
        1 => TMessageType::Call,
        2 => TMessageType::Reply,
        3 => TMessageType::Exception,
        _ => TMessageType::OneWay,
    };
    {
        let mut p: Box<dyn TOutputProtocol + '_> = match c.proto {
            Proto::Strict => Box::new(TBinaryOutputProtocol::new(&mut msg, true)),
            Proto::NonStrict => Box::new(TBinaryOutputProtocol::new(&mut msg, false)),
            Proto::Compact => Box::new(TCompactOutputProtocol::new(&mut msg)),
        };
        p.write_message_begin(&TMessageIdentifier::new(name, mt, c.seqid))
            .unwrap();
        write_struct(&mut *p, &c.body);
        p.write_message_end().unwrap();
        p.flush().unwrap();
    }
    match c.transport {
        Transport::Unframed => msg,
        Transport::Framed => {
            let mut f = (msg.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(&msg);
            f
        }
        Transport::Header { zlib } => {
            let payload = if zlib {
                use std::io::Write;
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                z.write_all(&msg).unwrap();
                z.finish().unwrap()
            } else {
                msg
            };
            let mut h = Vec::new();
            varint(&mut h, if c.proto == Proto::Compact { 2 } else { 0 });
            if zlib {
                h.extend_from_slice(&[1, 1]);
            } else {
                h.push(0);
            }
            if !c.info.is_empty() {
                h.push(1);
                varint(&mut h, c.info.len() as u64);
                for (k, v) in &c.info {
                    varint(&mut h, k.len() as u64);
                    h.extend_from_slice(k.as_bytes());
                    varint(&mut h, v.len() as u64);
                    h.extend_from_slice(v.as_bytes());
                }
            }
            while h.len() % 4 != 0 {
                h.push(0);
            }
            let mut f = ((10 + h.len() + payload.len()) as u32)
                .to_be_bytes()
                .to_vec();
            f.extend_from_slice(&[0x0f, 0xff, 0, 1]);
            f.extend_from_slice(&c.seqid.to_be_bytes());
            f.extend_from_slice(&((h.len() / 4) as u16).to_be_bytes());
            f.extend_from_slice(&h);
            f.extend_from_slice(&payload);
            f
        }
    }
}

fn codec() -> Box<dyn Codec> {
    new_codec("thrift", Direction::Request, Limits::DEFAULT).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_messages_round_trip(c in case(), cut in any::<prop::sample::Index>()) {
        let wire = build(&c);
        let mut codec = codec();
        let mut md = Metadata::new();
        prop_assert_eq!(codec.decode(&wire, &mut md).unwrap(), DecodeStatus::Done { consumed: wire.len() });
        prop_assert_eq!(md.message_size, wire.len());
        prop_assert_eq!(md.get("method"), Some(c.method.as_str()));
        prop_assert_eq!(md.get("service"), c.service.as_deref());
        prop_assert_eq!(md.request_id, Some(u64::from(c.seqid as u32)));
        let (mt, status) = match c.mtype {
            1 => (MessageType::Request, None),
            2 => {
                let declared = c.body.first().is_some_and(|(id, _)| *id != 0);
                (MessageType::Response, Some(if declared { ResponseStatus::Error } else { ResponseStatus::Ok }))
            }
            3 => (MessageType::Response, Some(ResponseStatus::Error)),
            _ => (MessageType::Oneway, None),
        };
        prop_assert_eq!(md.message_type, mt);
        prop_assert_eq!(md.status, status);
        let proto = if c.proto == Proto::Compact { "compact" } else { "binary" };
        prop_assert_eq!(md.typed("protocol").map(|v| v.to_string()), Some(proto.to_string()));
        let transport = match c.transport {
            Transport::Unframed => "unframed",
            Transport::Framed => "framed",
            Transport::Header { .. } => "header",
        };
        prop_assert_eq!(md.typed("transport").map(|v| v.to_string()), Some(transport.to_string()));
        for (k, v) in &c.info {
            prop_assert_eq!(md.get(k), Some(v.as_str()));
        }
        // empty mutation: the original bytes
        let mut out = BytesMut::new();
        codec.encode(&wire, &md, &Mutation::new(), &mut out).unwrap();
        prop_assert_eq!(&out[..], &wire[..]);
        // a mutation: THeader carries it, the others refuse it
        let m = Mutation::new().with("x-mesh", "blue");
        let mut out = BytesMut::new();
        match (c.transport, codec.encode(&wire, &md, &m, &mut out)) {
            (Transport::Header { .. }, Ok(())) => {
                let mut md2 = Metadata::new();
                prop_assert_eq!(codec.decode(&out, &mut md2).unwrap(), DecodeStatus::Done { consumed: out.len() });
                prop_assert_eq!(md2.get("x-mesh"), Some("blue"));
                prop_assert_eq!(md2.get("method"), Some(c.method.as_str()));
                prop_assert_eq!(md2.request_id, md.request_id);
                for (k, v) in &c.info {
                    prop_assert_eq!(md2.get(k), Some(v.as_str()));
                }
            }
            (Transport::Header { .. }, Err(e)) => prop_assert!(false, "THeader mutation failed: {e}"),
            (_, Err(CodecError::MutationRefused { .. })) => prop_assert!(out.is_empty()),
            (_, other) => prop_assert!(false, "mutation not refused: {other:?}"),
        }
        // any strict prefix asks for more
        let n = cut.index(wire.len());
        let st = codec.decode(&wire[..n], &mut md).unwrap();
        prop_assert!(matches!(st, DecodeStatus::NeedMoreData { .. }), "prefix {}: {:?}", n, st);
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut codec = codec();
        let mut md = Metadata::new();
        if let Ok(DecodeStatus::Done { consumed }) = codec.decode(&bytes, &mut md) {
            prop_assert!(consumed <= bytes.len() && consumed > 0);
        }
    }

    #[test]
    fn corrupted_messages_never_panic(c in case(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut wire = build(&c);
        for (i, b) in flips {
            let i = i.index(wire.len());
            wire[i] = b;
        }
        let mut codec = codec();
        let mut md = Metadata::new();
        match codec.decode(&wire, &mut md) {
            Ok(DecodeStatus::Done { consumed }) => prop_assert!(consumed <= wire.len()),
            Ok(DecodeStatus::NeedMoreData { .. }) => {}
            Err(e) => prop_assert!(e.offset().is_some_and(|o| o <= wire.len() + 16), "{e}"),
        }
    }
}
