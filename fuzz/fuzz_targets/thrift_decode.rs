//! Thrift codec on arbitrary bytes: never panics, errors carry in-range offsets, every decoded
//! message re-encodes unchanged, THeader messages carry a mutation and decode again (other
//! transports refuse it), and every request's on_error reply decodes as an error response
//! with the request's seqid, protocol and transport (or is refused, for a non-strict unframed
//! request whose name could make the reply read as a frame).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mesh_codec::thrift::ThriftCodec;
use mesh_codec::{
    Codec, CodecError, DecodeStatus, Direction, Limits, LocalError, LocalErrorKind, MessageType,
    Metadata, Mutation, ResponseStatus, TypedValue,
};
use meshplane_fuzz::{LIMITS, drive, mutate_and_redecode};

fuzz_target!(|data: &[u8]| {
    drive(data, ThriftCodec::new, |_, msg, md| {
        mutation_round_trip(msg, md);
        local_reply_decodes(md, LIMITS);
    });
});

fn mutation_round_trip(msg: &[u8], md: &Metadata) {
    let m = Mutation::new().with("x-fuzz", "1");
    let header = md.typed("transport").map(|v| v.to_string()) == Some("header".into());
    if let Some(again) = mutate_and_redecode(ThriftCodec::new, Direction::Request, msg, md, &m) {
        assert!(header, "only THeader messages carry a mutation");
        assert_eq!(again.get("x-fuzz"), Some("1"));
        assert_eq!(again.get("method"), md.get("method"));
        assert_eq!(again.request_id, md.request_id);
    }
}

fn local_reply_decodes(md: &Metadata, limits: Limits) {
    if md.message_type != MessageType::Request {
        return;
    }
    let mut codec = ThriftCodec::new(Direction::Request, limits);
    let mut out = BytesMut::new();
    let err = LocalError::new(LocalErrorKind::OverLimit, "fuzz");
    let name = md.get("method").unwrap_or("");
    let ambiguous = md.typed("thrift_strict") == Some(&TypedValue::Bool(false))
        && md.typed("transport") == Some(&TypedValue::Str("unframed"))
        && name
            .chars()
            .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER);
    match codec.on_error(md, &err, &mut out) {
        Err(CodecError::InvalidMetadata { .. }) if ambiguous => return,
        other => other.unwrap(),
    }
    let big = Limits {
        max_frame_size: usize::MAX,
        ..limits
    };
    let mut r = ThriftCodec::new(Direction::Response, big);
    let mut rmd = Metadata::new();
    match r.decode(&out, &mut rmd) {
        Ok(DecodeStatus::Done { consumed }) => assert_eq!(consumed, out.len()),
        other => panic!("local reply does not decode: {other:?}"),
    }
    assert_eq!(rmd.message_type, MessageType::Response);
    assert_eq!(rmd.status, Some(ResponseStatus::Error));
    assert_eq!(rmd.request_id, md.request_id);
    // the reply names the method without a multiplexing prefix (as real servers do), so a
    // method name that itself holds ':' reads back split
    let back = match rmd.get("service") {
        Some(s) => format!("{s}:{}", rmd.get("method").unwrap_or("")),
        None => rmd.get("method").unwrap_or("").to_string(),
    };
    assert_eq!(Some(back.as_str()), md.get("method"));
    for k in ["protocol", "transport", "thrift_strict"] {
        assert_eq!(rmd.typed(k), md.typed(k), "{k}");
    }
}
