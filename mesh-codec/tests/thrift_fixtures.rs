//! Streams recorded from real Apache Thrift peers (Python client <-> Python server, see
//! tests/interop/thrift/capture.py) decode whole and at every split point to the same result.

use std::path::PathBuf;

use mesh_codec::{
    Codec, DecodeStatus, Direction, Limits, MessageType, Metadata, ResponseStatus, new_codec,
};

#[derive(Debug, Clone, PartialEq)]
struct Msg {
    size: usize,
    mtype: MessageType,
    id: Option<u64>,
    status: Option<ResponseStatus>,
    headers: Vec<(String, String)>,
    typed: Vec<(String, String)>,
}

fn snapshot(md: &Metadata, size: usize) -> Msg {
    Msg {
        size,
        mtype: md.message_type,
        id: md.request_id,
        status: md.status,
        headers: md
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        typed: md
            .typed
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn codec(dir: Direction) -> Box<dyn Codec> {
    new_codec("thrift", dir, Limits::DEFAULT).unwrap()
}

fn whole(bytes: &[u8], dir: Direction) -> Vec<Msg> {
    let mut c = codec(dir);
    let mut md = Metadata::new();
    let mut off = 0;
    let mut out = Vec::new();
    while off < bytes.len() {
        match c.decode(&bytes[off..], &mut md).unwrap() {
            DecodeStatus::Done { consumed } => {
                out.push(snapshot(&md, consumed));
                off += consumed;
            }
            DecodeStatus::NeedMoreData { .. } => panic!("stream ends mid-message at {off}"),
        }
    }
    out
}

/// Feeds the stream `chunk` bytes at a time into a buffer, decoding whenever possible.
fn chunked(bytes: &[u8], dir: Direction, chunk: usize) -> Vec<Msg> {
    let mut c = codec(dir);
    let mut md = Metadata::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match c.decode(&buf, &mut md).unwrap() {
                DecodeStatus::Done { consumed } => {
                    out.push(snapshot(&md, consumed));
                    buf.drain(..consumed);
                }
                DecodeStatus::NeedMoreData { needed } => {
                    if let Some(n) = needed {
                        assert!(n > buf.len());
                    }
                    break;
                }
            }
        }
    }
    assert!(buf.is_empty());
    out
}

fn fixtures() -> Vec<(String, Direction, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/thrift");
    let mut v = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let d = if name.ends_with(".request.bin") {
            Direction::Request
        } else if name.ends_with(".response.bin") {
            Direction::Response
        } else {
            continue;
        };
        v.push((name, d, std::fs::read(&p).unwrap()));
    }
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(v.len() >= 34, "fixtures missing: {}", v.len());
    v
}

#[test]
fn every_split_point_matches_whole() {
    for (name, dir, bytes) in fixtures() {
        let expect = whole(&bytes, dir);
        for chunk in 1..=bytes.len() {
            assert_eq!(chunked(&bytes, dir, chunk), expect, "{name} chunk {chunk}");
        }
        // two pieces split at every offset
        for split in 1..bytes.len() {
            let mut c = codec(dir);
            let mut md = Metadata::new();
            let mut buf = bytes[..split].to_vec();
            let mut got = Vec::new();
            let mut fed = false;
            loop {
                match c.decode(&buf, &mut md).unwrap() {
                    DecodeStatus::Done { consumed } => {
                        got.push(snapshot(&md, consumed));
                        buf.drain(..consumed);
                        if buf.is_empty() && fed {
                            break;
                        }
                    }
                    DecodeStatus::NeedMoreData { .. } => {
                        assert!(!fed, "{name} split {split}: incomplete at the end");
                        buf.extend_from_slice(&bytes[split..]);
                        fed = true;
                    }
                }
                if buf.is_empty() && !fed {
                    buf.extend_from_slice(&bytes[split..]);
                    fed = true;
                }
            }
            assert_eq!(got, expect, "{name} split {split}");
        }
    }
}

fn get<'a>(m: &'a Msg, k: &str) -> Option<&'a str> {
    m.headers
        .iter()
        .chain(m.typed.iter())
        .find(|(a, _)| a == k)
        .map(|(_, v)| v.as_str())
}

#[test]
fn recorded_calls_have_the_expected_metadata() {
    for (name, dir, bytes) in fixtures() {
        let dialect = name.split('.').next().unwrap();
        let msgs = whole(&bytes, dir);
        let mux = dialect.contains("multiplexed");
        let proto = if dialect.contains("compact") {
            "compact"
        } else {
            "binary"
        };
        let transport = if dialect.starts_with("header") {
            "header"
        } else if dialect.contains("unframed") {
            "unframed"
        } else {
            "framed"
        };
        let mut methods = vec![
            "ping",
            "add",
            "echo",
            "roundtrip",
            "divide",
            "divide",
            "fail",
            "fire",
            "add",
        ];
        if !mux {
            methods.push("nosuch");
        }
        match dir {
            Direction::Request => {
                let got: Vec<_> = msgs.iter().map(|m| get(m, "method").unwrap()).collect();
                assert_eq!(got, methods, "{name}");
                for m in &msgs {
                    let oneway = get(m, "method") == Some("fire");
                    let want = if oneway {
                        MessageType::Oneway
                    } else {
                        MessageType::Request
                    };
                    assert_eq!(m.mtype, want, "{name}");
                    assert_eq!(m.status, None);
                    assert_eq!(get(m, "service"), mux.then_some("Calc"), "{name}");
                    // dialects whose client sets info headers (tests/interop/thrift/peer.py)
                    let with_info = [
                        "header_binary_infoheaders",
                        "header_compact_zlib",
                        "header_binary_multiplexed",
                    ];
                    if with_info.contains(&dialect) {
                        assert_eq!(get(m, "trace-id"), Some("abc123"), "{name}");
                        assert_eq!(get(m, "caller"), Some("py"), "{name}");
                    }
                    if dialect.contains("zlib") {
                        assert_eq!(get(m, "thrift_zlib"), Some("true"), "{name}");
                    }
                }
            }
            Direction::Response => {
                // no reply to the oneway
                methods.retain(|m| *m != "fire");
                let got: Vec<_> = msgs.iter().map(|m| get(m, "method").unwrap()).collect();
                assert_eq!(got, methods, "{name}");
                let status: Vec<_> = msgs.iter().map(|m| m.status.unwrap()).collect();
                let (ok, err) = (ResponseStatus::Ok, ResponseStatus::Error);
                let mut want = vec![ok, ok, ok, ok, err, ok, err, ok];
                if !mux {
                    want.push(err);
                }
                assert_eq!(status, want, "{name}");
                assert!(msgs.iter().all(|m| m.mtype == MessageType::Response));
                assert_eq!(get(&msgs[6], "thrift_message_type"), Some("exception"));
                assert_eq!(get(&msgs[4], "thrift_message_type"), Some("reply"));
            }
        }
        for m in &msgs {
            assert_eq!(get(m, "protocol"), Some(proto), "{name}");
            assert_eq!(get(m, "transport"), Some(transport), "{name}");
            assert_eq!(
                get(m, "thrift_strict"),
                (proto == "binary").then_some(if dialect.contains("nonstrict") {
                    "false"
                } else {
                    "true"
                }),
                "{name}"
            );
        }
        let ids: Vec<_> = msgs.iter().map(|m| m.id.unwrap()).collect();
        assert!(ids.iter().all(|&i| i == 0 || i == 7), "{name}: {ids:?}");
    }
}
