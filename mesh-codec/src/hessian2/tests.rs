//! Unit tests: the encodings the reference (Caucho Hessian 4.0.38) was seen to produce.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn check(v: Value, expect_hex: &str) {
    let bytes = to_vec(&v);
    assert_eq!(bytes, hex(expect_hex), "encoding of {v:?}");
    assert_eq!(from_slice(&bytes).unwrap(), v, "decoding of {expect_hex}");
    let mut d = Decoder::new(&bytes);
    d.skip().unwrap();
    assert!(d.is_empty());
}

#[test]
#[allow(clippy::approx_constant)] // 3.14159 is the reference's vector, not PI
fn scalars_match_reference() {
    check(Value::Null, "4e");
    check(true.into(), "54");
    check(false.into(), "46");
    for (v, h) in [
        (0, "90"),
        (-16, "80"),
        (47, "bf"),
        (48, "c830"),
        (-17, "c7ef"),
        (-2048, "c000"),
        (2047, "cfff"),
        (2048, "d40800"),
        (-262144, "d00000"),
        (262143, "d7ffff"),
        (262144, "4900040000"),
        (i32::MIN, "4980000000"),
    ] {
        check(Value::Int(v), h);
    }
    for (v, h) in [
        (0i64, "e0"),
        (-8, "d8"),
        (15, "ef"),
        (16, "f810"),
        (-2048, "f000"),
        (2047, "ffff"),
        (2048, "3c0800"),
        (262143, "3fffff"),
        (262144, "5900040000"),
        (i32::MAX as i64, "597fffffff"),
        (1 << 31, "4c0000000080000000"),
        (-(1 << 31), "5980000000"),
        (i64::MAX, "4c7fffffffffffffff"),
    ] {
        check(Value::Long(v), h);
    }
    for (v, h) in [
        (0.0, "5b"),
        (1.0, "5c"),
        (127.0, "5d7f"),
        (-128.0, "5d80"),
        (128.0, "5e0080"),
        (32767.0, "5e7fff"),
        (32768.0, "5f01f40000"),
        (12.25, "5f00002fda"),
        (0.001, "5f00000001"),
        (3.14159, "44400921f9f01b866e"),
        (f64::NAN, "447ff8000000000000"),
    ] {
        check(Value::Double(v), h);
    }
    assert_eq!(to_vec(&Value::Double(-0.0)), hex("5b"));
    check(Value::Date(0x019143c0 * 60_000), "4b019143c0");
    let ms = 0x16f5e66e87b_i64;
    check(Value::Date(ms), "4a0000016f5e66e87b");
}

#[test]
fn strings_match_reference() {
    check("".into(), "00");
    check("a".into(), "0161");
    check("héllo ✓".into(), "0768c3a96c6c6f20e29c93");
    check("\u{1F600}".into(), "02eda0bdedb880");
    let s31 = "x".repeat(31);
    assert_eq!(to_vec(&s31.clone().into())[0], 0x1f);
    assert_eq!(to_vec(&"x".repeat(32).into())[..2], [0x30, 0x20]);
    assert_eq!(to_vec(&"x".repeat(1023).into())[..2], [0x33, 0xff]);
    assert_eq!(to_vec(&"x".repeat(1024).into())[..3], [0x53, 0x04, 0x00]);
    let s = "x".repeat(32768);
    assert_eq!(to_vec(&s.clone().into())[..3], [0x53, 0x80, 0x00]);
    let s = "x".repeat(70000);
    let b = to_vec(&s.clone().into());
    assert_eq!(b[..3], [0x52, 0x80, 0x00]);
    assert_eq!(b[3 + 32768..3 + 32768 + 3], [0x52, 0x80, 0x00]);
    assert_eq!(b[6 + 65536..6 + 65536 + 3], [0x53, 0x11, 0x70]);
    assert_eq!(from_slice(&b).unwrap(), Value::String(s));
    // A surrogate pair is never split across chunks.
    let s = format!("{}\u{1F600}tail", "y".repeat(32767));
    let b = to_vec(&s.clone().into());
    assert_eq!(b[..3], [0x52, 0x7f, 0xff]);
    assert_eq!(from_slice(&b).unwrap(), Value::String(s));
}

#[test]
fn binary_matches_reference_and_accepts_any_chunking() {
    check(Value::Binary(vec![]), "20");
    check(Value::Binary(vec![1, 2, 3]), "23010203");
    assert_eq!(to_vec(&Value::Binary(vec![0; 15]))[0], 0x2f);
    assert_eq!(to_vec(&Value::Binary(vec![0; 16]))[..2], [0x34, 0x10]);
    assert_eq!(to_vec(&Value::Binary(vec![0; 1023]))[..2], [0x37, 0xff]);
    assert_eq!(
        to_vec(&Value::Binary(vec![0; 1024]))[..3],
        [0x42, 0x04, 0x00]
    );
    let data: Vec<u8> = (0..70000u32).map(|i| i as u8).collect();
    let b = to_vec(&Value::Binary(data.clone()));
    for k in 0..8 {
        assert_eq!(b[k * 8192..k * 8192 + 3], [0x41, 0x1f, 0xfd]);
    }
    assert_eq!(b[8 * 8192..8 * 8192 + 3], [0x42, 0x11, 0x88]);
    // hessian.js style: 4093-byte chunks and a compact final chunk.
    let mut js = Vec::new();
    let mut rest = &data[..];
    while rest.len() > 4093 {
        js.extend_from_slice(&[0x41, 0x0f, 0xfd]);
        js.extend_from_slice(&rest[..4093]);
        rest = &rest[4093..];
    }
    js.extend_from_slice(&[0x35, 0xa3]);
    js.extend_from_slice(rest);
    assert_eq!(from_slice(&js).unwrap(), Value::Binary(data));
}

#[test]
fn lists_maps_objects_refs_match_reference() {
    check(Value::list(vec![1.into(), 2.into(), 3.into()]), "7b919293");
    check(Value::list(vec![]), "78");
    check(
        Value::list((0..10).map(Value::Int).collect()),
        "589a90919293949596979899",
    );
    check(
        Value::list(vec![
            1.into(),
            "a".into(),
            Value::Null,
            true.into(),
            Value::Long(2),
        ]),
        "7d9101614e54e2",
    );
    check(
        Value::typed_list("[int", vec![1.into(), 2.into(), 3.into()]),
        "73045b696e74919293",
    );
    check(
        Value::typed_list("[long", vec![Value::Long(1), Value::Long(2)]),
        "72055b6c6f6e67e1e2",
    );
    check(Value::map(vec![("a".into(), 1.into())]), "480161915a");
    check(Value::map(vec![]), "485a");
    check(Value::map(vec![(1.into(), "one".into())]), "4891036f6e655a");
    let user = Value::object(
        "com.example.User",
        vec![
            ("name", "alice".into()),
            ("age", 30.into()),
            ("id", Value::Long(1234567890123)),
        ],
    );
    let mut out = Vec::new();
    let mut enc = Encoder::new();
    enc.write_value(&mut out, &user);
    enc.write_value(&mut out, &user);
    assert_eq!(
        out,
        hex(
            "4310 636f6d2e6578616d706c652e55736572 93 046e616d65 03616765 026964
             60 05616c696365 ae 4c0000011f71fb04cb 60 05616c696365 ae 4c0000011f71fb04cb"
        )
    );
    let mut d = Decoder::new(&out);
    assert_eq!(d.read_value().unwrap(), user);
    assert_eq!(d.read_value().unwrap(), user);
    assert_eq!(d.context().ref_count(), 2);
    check(
        Value::object("com.example.Color", vec![("name", "BLUE".into())]),
        "4311636f6d2e6578616d706c652e436f6c6f72 91 046e616d65 60 04424c5545",
    );
    // self-referencing list: ["s", <itself>]
    check(Value::list(vec!["s".into(), Value::Ref(0)]), "7a01735190");
    // same instance twice: [obj, ref 1]
    let b = hex("7a 43014191017660 91 5191");
    let v = from_slice(&b).unwrap();
    assert_eq!(
        v,
        Value::list(vec![
            Value::object("A", vec![("v", 1.into())]),
            Value::Ref(1)
        ])
    );
}

#[test]
fn variable_and_typed_forms_decode() {
    // 'U' typed variable list, 'W' untyped variable, 'V' typed fixed with type ref, 'M' map
    let b = hex("57 91 92 5a");
    assert_eq!(
        from_slice(&b).unwrap(),
        Value::list(vec![1.into(), 2.into()])
    );
    let b = hex("7a 55 0474797065 91 5a 56 90 92 93 94");
    assert_eq!(
        from_slice(&b).unwrap(),
        Value::list(vec![
            Value::typed_list("type", vec![1.into()]),
            Value::typed_list("type", vec![3.into(), 4.into()]),
        ])
    );
    let b = hex("4d 0474797065 0161 91 5a");
    assert_eq!(
        from_slice(&b).unwrap(),
        Value::Map(Map {
            type_name: Some("type".into()),
            entries: vec![("a".into(), 1.into())]
        })
    );
    // 'O' with an explicit class ref, and chunked strings mixing R with a compact final chunk
    let b = hex("43 0141 90 4f 90");
    assert_eq!(from_slice(&b).unwrap(), Value::object("A", vec![]));
    let b = hex("52 0002 6162 01 63");
    assert_eq!(from_slice(&b).unwrap(), Value::String("abc".into()));
}

#[test]
fn hostile_input_is_a_typed_error() {
    // fixed list claiming 2^31-1 elements: no allocation, limit error
    let e = from_slice(&hex("58 497fffffff")).unwrap_err();
    assert!(matches!(e, HessianError::TooLarge { offset: 1, .. }), "{e}");
    // within the limit but truncated: EOF, capacity bounded by the input
    let e = from_slice(&hex("58 d40800 90")).unwrap_err();
    assert!(e.is_eof(), "{e}");
    let e = from_slice(&hex("53 ffff 61")).unwrap_err();
    assert!(e.is_eof());
    let e = from_slice(&hex("5190")).unwrap_err();
    assert!(matches!(
        e,
        HessianError::BadReference { what: "value", .. }
    ));
    let e = from_slice(&hex("60")).unwrap_err();
    assert!(matches!(
        e,
        HessianError::BadReference { what: "class", .. }
    ));
    let e = from_slice(&hex("7191")).unwrap_err();
    assert!(matches!(e, HessianError::BadReference { what: "type", .. }));
    let e = from_slice(&hex("40")).unwrap_err();
    assert_eq!(e.offset(), 0);
    let e = from_slice(&hex("02 ff ff")).unwrap_err();
    assert!(matches!(e, HessianError::InvalidUtf8 { offset: 1 }));
    let e = from_slice(&hex("02 c3 41")).unwrap_err();
    assert!(matches!(e, HessianError::InvalidUtf8 { offset: 2 }), "{e}");
    // overlong forms decode as the reference decodes them
    assert_eq!(
        from_slice(&hex("01 c0 80")).unwrap(),
        Value::String("\0".into())
    );
    let deep: Vec<u8> = std::iter::repeat_n(0x79u8, 100).chain([0x90]).collect();
    let e = from_slice(&deep).unwrap_err();
    assert!(matches!(e, HessianError::DepthExceeded { limit: 64, .. }));
    let mut d = Decoder::new(&deep);
    assert!(matches!(d.skip(), Err(HessianError::DepthExceeded { .. })));
    let limits = HessianLimits {
        max_string_len: 4,
        ..HessianLimits::DEFAULT
    };
    let e = Decoder::with_limits(&hex("05 6161616161"), limits)
        .read_value()
        .unwrap_err();
    assert!(matches!(e, HessianError::TooLarge { what: "string", .. }));
}

#[test]
fn every_prefix_is_eof_never_a_panic() {
    let user = Value::object(
        "U",
        vec![("n", "héllo \u{1F600}".into()), ("l", Value::Long(1 << 40))],
    );
    let v = Value::list(vec![
        user.clone(),
        user,
        Value::Ref(1),
        Value::map(vec![(Value::Date(1234), Value::Binary(vec![9; 20]))]),
        Value::Double(3.5),
    ]);
    let b = to_vec(&v);
    for i in 0..b.len() {
        let e = from_slice(&b[..i]).unwrap_err();
        assert!(e.is_eof(), "prefix {i}: {e}");
        let mut d = Decoder::new(&b[..i]);
        assert!(d.skip().unwrap_err().is_eof());
    }
    assert_eq!(from_slice(&b).unwrap(), v);
}

#[test]
fn surrogate_halves_pair_across_chunks_and_lone_halves_are_replaced() {
    // 'R' chunk of 2 units ending with a high half, final chunk starting with the low half
    let b = hex("52 0002 61 eda0bd 02 edb880 62");
    assert_eq!(from_slice(&b).unwrap(), Value::String("a\u{1F600}b".into()));
    // lone high half, lone low half
    assert_eq!(
        from_slice(&hex("02 eda0bd 61")).unwrap(),
        Value::String("\u{FFFD}a".into())
    );
    assert_eq!(
        from_slice(&hex("01 edb880")).unwrap(),
        Value::String("\u{FFFD}".into())
    );
    // a 4-byte UTF-8 sequence counts as two units (lenient: some encoders write it)
    assert_eq!(
        from_slice(&hex("03 f09f9880 61")).unwrap(),
        Value::String("\u{1F600}a".into())
    );
}
