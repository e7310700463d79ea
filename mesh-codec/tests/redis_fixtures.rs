//! Real byte streams captured between redis-server 7.0 and redis-cli, redis-benchmark and
//! redis-py (tests/interop/redis/capture.py): decoded whole, fed in chunks of every small size,
//! byte by byte (every prefix of every message) and cut in two at split points — always the
//! same messages as the whole decode.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mesh_codec::stream::Framer;
use mesh_codec::{DecodeStatus, Direction, Limits, MessageType, Metadata, new_codec};

#[derive(Debug, Clone, PartialEq)]
struct Msg {
    kind: MessageType,
    id: Option<u64>,
    size: usize,
    status: Option<mesh_codec::ResponseStatus>,
    meta: String,
}

fn msg(md: &Metadata, size: usize) -> Msg {
    Msg {
        kind: md.message_type,
        id: md.request_id,
        size,
        status: md.status,
        meta: format!("{:?} {:?}", md.headers, md.typed),
    }
}

fn fixtures() -> Vec<(String, Direction, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redis");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "fixtures missing in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let dir = if name.ends_with(".request.bin") {
                Direction::Request
            } else {
                assert!(name.ends_with(".response.bin"), "{name}");
                Direction::Response
            };
            (name, dir, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn whole(dir: Direction, input: &[u8]) -> Vec<Msg> {
    let mut codec = new_codec("redis", dir, Limits::default()).unwrap();
    let mut md = Metadata::new();
    let mut out = Vec::new();
    let mut off = 0;
    while off < input.len() {
        match codec.decode(&input[off..], &mut md) {
            Ok(DecodeStatus::Done { consumed }) => {
                out.push(msg(&md, consumed));
                off += consumed;
            }
            other => panic!("offset {off}: {other:?}"),
        }
    }
    out
}

fn chunked(dir: Direction, input: &[u8], cuts: &mut dyn Iterator<Item = usize>) -> Vec<Msg> {
    let mut codec = new_codec("redis", dir, Limits::default()).unwrap();
    let mut framer = Framer::new();
    let mut md = Metadata::new();
    let mut out = Vec::new();
    let mut last = 0;
    for cut in cuts.chain(std::iter::once(input.len())) {
        framer.push(&input[last..cut]);
        last = cut;
        while let Some(m) = framer.next_message(codec.as_mut(), &mut md).unwrap() {
            out.push(msg(&md, m.len()));
        }
    }
    assert_eq!(framer.buffered(), 0);
    out
}

#[test]
fn every_fixture_decodes_the_same_in_any_chunking() {
    for (name, dir, input) in fixtures() {
        let expect = whole(dir, &input);
        let n = input.len();
        let steps: Vec<usize> = if n <= 32 * 1024 {
            (1..=64).chain([97, 1000, 4096]).collect()
        } else {
            vec![1, 2, 3, 5, 7, 16, 64, 97, 1000, 4096, 65536]
        };
        for step in steps {
            let got = chunked(dir, &input, &mut (step..n).step_by(step));
            assert_eq!(got, expect, "{name}: chunks of {step}");
        }
        // Every 2-chunk split (near every message boundary, and at a stride in between, for
        // the large captures; the 1-byte feeding above already covers every prefix).
        let mut bounds = vec![0];
        for m in &expect {
            bounds.push(bounds.last().unwrap() + m.size);
        }
        let mut splits = BTreeSet::new();
        if n <= 16 * 1024 {
            splits.extend(1..n);
        } else {
            for &b in &bounds {
                splits.extend(b.saturating_sub(24)..(b + 24).min(n));
            }
            splits.extend((1..n).step_by(1021));
        }
        for s in splits.into_iter().filter(|&s| s > 0 && s < n) {
            let got = chunked(dir, &input, &mut std::iter::once(s));
            assert_eq!(got, expect, "{name}: split at {s}");
        }
    }
}

#[test]
fn replies_pair_with_requests_and_every_type_appears() {
    let all = fixtures();
    let mut types = BTreeSet::new();
    for (name, dir, input) in &all {
        if *dir == Direction::Response {
            for m in whole(*dir, input) {
                let t = m
                    .meta
                    .split("\"type\", Str(\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_string();
                types.insert(t);
            }
            continue;
        }
        let req = whole(*dir, input);
        let resp_name = name.replace(".request.bin", ".response.bin");
        let (_, _, resp_bytes) = all.iter().find(|(n, _, _)| *n == resp_name).unwrap();
        let resp = whole(Direction::Response, resp_bytes);
        let asked: Vec<u64> = req.iter().filter_map(|m| m.id).collect();
        let answered: Vec<u64> = resp.iter().filter_map(|m| m.id).collect();
        // Every request that expects a reply got exactly one, in order (pushes excluded).
        assert_eq!(asked, answered, "{name}");
        assert!(
            req.iter()
                .all(|m| m.kind != MessageType::Oneway || m.id.is_none())
        );
    }
    for t in [
        "simple_string",
        "error",
        "integer",
        "bulk_string",
        "array",
        "null",
        "map",
        "set",
        "double",
        "boolean",
        "verbatim_string",
        "big_number",
        "push",
        "attribute",
    ] {
        assert!(types.contains(t), "no {t} reply in the captures: {types:?}");
    }
}

#[test]
fn captured_requests_carry_command_and_key() {
    let all = fixtures();
    let (_, dir, input) = all
        .iter()
        .find(|(n, _, _)| n == "cli_resp2.request.bin")
        .unwrap();
    let msgs = whole(*dir, input);
    assert!(
        msgs.iter()
            .any(|m| m.meta.contains("\"command\": \"mget\", \"key\": \"k\"")),
        "{msgs:?}"
    );
    let (_, dir, input) = all
        .iter()
        .find(|(n, _, _)| n == "raw_edge.request.bin")
        .unwrap();
    let msgs = whole(*dir, input);
    let cmds: Vec<&str> = msgs.iter().map(|m| m.meta.as_str()).collect();
    assert!(cmds[2].contains("\"command\": \"echo\""), "{cmds:?}");
    assert!(
        cmds.iter().any(|c| c.contains("\"command\": \"$3\"")),
        "{cmds:?}"
    );
}
