//! Property tests: every value round-trips; `skip` and `read_value` agree; arbitrary bytes
//! never panic and never make `skip` and `read_value` disagree.

use mesh_codec::hessian2::{Decoder, List, Map, Object, Value, from_slice, to_vec};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::Int),
        prop_oneof![any::<i32>(), -300_000i32..300_000].prop_map(Value::Int),
        any::<i64>().prop_map(Value::Long),
        (-300_000i64..300_000).prop_map(Value::Long),
        any::<f64>().prop_map(Value::Double),
        (-100_000i32..100_000).prop_map(|m| Value::Double(m as f64 * 0.001)),
        any::<i64>().prop_map(Value::Date),
        any::<i32>().prop_map(|m| Value::Date(m as i64 * 60_000)),
        any::<String>().prop_map(Value::String),
        "[a-z\u{e9}\u{1F600}]{0,40}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::Binary),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            (
                proptest::option::of("[a-z.\\[]{1,12}"),
                proptest::collection::vec(inner.clone(), 0..10)
            )
                .prop_map(|(type_name, items)| {
                    Value::List(List {
                        type_name: type_name.map(Into::into),
                        items,
                    })
                }),
            (
                proptest::option::of("[a-zA-Z.]{1,12}"),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..6)
            )
                .prop_map(|(type_name, entries)| {
                    Value::Map(Map {
                        type_name: type_name.map(Into::into),
                        entries,
                    })
                }),
            (
                prop_oneof![Just("com.example.A".to_string()), "[a-z.]{1,10}"],
                proptest::collection::vec(("[a-z]{1,6}", inner), 0..5)
            )
                .prop_map(|(class, fields)| {
                    Value::Object(Object {
                        class: class.into(),
                        fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
                    })
                }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn values_round_trip(v in value()) {
        let bytes = to_vec(&v);
        prop_assert_eq!(from_slice(&bytes).unwrap(), v);
        let mut d = Decoder::new(&bytes);
        d.skip().unwrap();
        prop_assert!(d.is_empty());
    }

    #[test]
    fn streams_share_definitions(vs in proptest::collection::vec(value(), 1..6)) {
        let mut enc = mesh_codec::hessian2::Encoder::new();
        let mut bytes = Vec::new();
        for v in &vs {
            enc.write_value(&mut bytes, v);
        }
        let mut d = Decoder::new(&bytes);
        for v in &vs {
            prop_assert_eq!(&d.read_value().unwrap(), v);
        }
        prop_assert!(d.is_empty());
        let mut s = Decoder::new(&bytes);
        for _ in &vs {
            s.skip().unwrap();
        }
        prop_assert!(s.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut a = Decoder::new(&bytes);
        let mut b = Decoder::new(&bytes);
        let ra = a.read_value();
        let rb = b.skip();
        prop_assert_eq!(ra.is_ok(), rb.is_ok());
        if ra.is_ok() {
            prop_assert_eq!(a.position(), b.position());
        }
    }
}
