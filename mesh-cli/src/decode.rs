//! `meshctl decode`: one JSON object per decoded message, one per line.
//!
//! Exit codes: 0 when the whole input decoded, 3 (`incomplete message at offset N`) when it ends
//! mid-message, 1 (`offset N: reason`) on malformed input, 2 on usage/I-O errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mesh_codec::stream::{StreamEnd, decode_all};
use mesh_codec::{Direction, Limits, Metadata, PROTOCOLS, TypedValue, new_codec};
use serde_json::{Map, Value};

use crate::input::read_all;

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Protocol: redis, thrift or dubbo.
    #[arg(long)]
    protocol: String,
    /// Which side of the connection the bytes come from.
    #[arg(long, value_parser = ["request", "response"])]
    direction: String,
    /// Largest message accepted, in bytes.
    #[arg(long, default_value_t = Limits::DEFAULT.max_frame_size)]
    max_frame_size: usize,
    /// Raw byte stream (`-` = stdin).
    file: PathBuf,
}

pub fn run(args: DecodeArgs) -> ExitCode {
    let direction: Direction = args.direction.parse().expect("clap checked the value");
    let limits = Limits {
        max_frame_size: args.max_frame_size,
        ..Limits::DEFAULT
    };
    let mut codec = match new_codec(&args.protocol, direction, limits) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("meshctl decode: {e} (available: {})", PROTOCOLS.join(", "));
            return ExitCode::from(2);
        }
    };
    let input = match read_all(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("meshctl decode: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut md = Metadata::new();
    let end = decode_all(codec.as_mut(), &input, &mut md, |md, _, size| {
        writeln!(out, "{}", message_json(md, size)).is_ok()
    });
    let flushed = out.flush().is_ok();
    match end {
        Ok(StreamEnd::Complete) if flushed => ExitCode::SUCCESS,
        Ok(StreamEnd::Complete | StreamEnd::Stopped { .. }) => ExitCode::from(2),
        Ok(StreamEnd::Incomplete { offset }) => {
            eprintln!("incomplete message at offset {offset}");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// The JSON line for one message: routable keys and typed values go under `metadata`.
pub fn message_json(md: &Metadata, size: usize) -> Value {
    let mut meta = Map::new();
    for (k, v) in md.headers.iter() {
        meta.insert(k.to_string(), Value::String(v.to_string()));
    }
    for (k, v) in &md.typed {
        let v = match v {
            TypedValue::Str(s) => Value::String((*s).to_string()),
            TypedValue::Int(i) => Value::from(*i),
            TypedValue::UInt(u) => Value::from(*u),
            TypedValue::Bool(b) => Value::Bool(*b),
        };
        meta.insert((*k).to_string(), v);
    }
    let mut obj = Map::new();
    obj.insert(
        "message_type".into(),
        Value::String(md.message_type.as_str().into()),
    );
    obj.insert(
        "request_id".into(),
        md.request_id.map_or(Value::Null, Value::from),
    );
    obj.insert("size".into(), Value::from(size));
    obj.insert(
        "status".into(),
        md.status
            .map_or(Value::Null, |s| Value::String(s.as_str().into())),
    );
    obj.insert("metadata".into(), Value::Object(meta));
    Value::Object(obj)
}
