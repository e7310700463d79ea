//! `meta_proxy`: a small TCP proxy built on any Meshplane codec, used by the interop tests to
//! put our codec between real protocol peers.
//!
//! Every message in both directions is decoded, then re-encoded with [`Codec::encode`] (with
//! the `--mutate` changes for requests) before it is forwarded. With `--check-roundtrip` every
//! message is also re-encoded with no mutation and compared byte for byte with the original; a
//! difference closes the connection and is reported on stderr as `ROUNDTRIP MISMATCH`.
//!
//! ```text
//! meta_proxy --protocol redis --listen 127.0.0.1:0 --upstream 127.0.0.1:6379 \
//!            [--mutate KEY=VALUE]... [--mutate-response KEY=VALUE]... \
//!            [--reject KEY=VALUE]... [--answer-heartbeats] [--check-roundtrip]
//! ```
//!
//! On start it prints `listening on <addr>` on stdout (use port 0 to let the OS pick one).
//! `--reject KEY=VALUE` answers requests whose metadata KEY equals VALUE locally with the
//! codec's `on_error` (route not found) instead of forwarding them; local replies are written as
//! soon as the request is seen, so they can overtake earlier pipelined responses.
#![forbid(unsafe_code)] // the workspace only denies it, for the FFI crates' sake

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::BytesMut;
use mesh_codec::stream::Framer;
use mesh_codec::{
    Codec, Direction, Limits, LocalError, LocalErrorKind, MessageType, Metadata, Mutation,
    new_codec,
};

#[derive(Debug, Clone)]
struct Config {
    protocol: String,
    listen: String,
    upstream: String,
    mutate_request: Mutation,
    mutate_response: Mutation,
    reject: Vec<(String, String)>,
    answer_heartbeats: bool,
    check_roundtrip: bool,
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: meta_proxy --protocol P --listen ADDR --upstream ADDR [--mutate K=V]... \
         [--mutate-response K=V]... [--reject K=V]... [--answer-heartbeats] [--check-roundtrip]"
    );
    ExitCode::from(2)
}

fn split_kv(s: &str) -> Option<(String, String)> {
    let (k, v) = s.split_once('=')?;
    Some((k.to_string(), v.to_string()))
}

fn parse_args() -> Option<Config> {
    let mut cfg = Config {
        protocol: String::new(),
        listen: String::new(),
        upstream: String::new(),
        mutate_request: Mutation::new(),
        mutate_response: Mutation::new(),
        reject: Vec::new(),
        answer_heartbeats: false,
        check_roundtrip: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--protocol" => cfg.protocol = args.next()?,
            "--listen" => cfg.listen = args.next()?,
            "--upstream" => cfg.upstream = args.next()?,
            "--mutate" => {
                let (k, v) = split_kv(&args.next()?)?;
                cfg.mutate_request.set(k, v);
            }
            "--mutate-response" => {
                let (k, v) = split_kv(&args.next()?)?;
                cfg.mutate_response.set(k, v);
            }
            "--reject" => cfg.reject.push(split_kv(&args.next()?)?),
            "--answer-heartbeats" => cfg.answer_heartbeats = true,
            "--check-roundtrip" => cfg.check_roundtrip = true,
            _ => return None,
        }
    }
    if cfg.protocol.is_empty() || cfg.listen.is_empty() || cfg.upstream.is_empty() {
        return None;
    }
    Some(cfg)
}

fn main() -> ExitCode {
    let Some(cfg) = parse_args() else {
        return usage();
    };
    if let Err(e) = new_codec(&cfg.protocol, Direction::Request, Limits::default()) {
        eprintln!("meta_proxy: {e}");
        return ExitCode::from(2);
    }
    let listener = match TcpListener::bind(&cfg.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("meta_proxy: bind {}: {e}", cfg.listen);
            return ExitCode::from(1);
        }
    };
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    println!("listening on {addr}");
    let _ = std::io::stdout().flush();
    let cfg = Arc::new(cfg);
    for conn in listener.incoming() {
        match conn {
            Ok(client) => {
                let cfg = Arc::clone(&cfg);
                thread::spawn(move || {
                    if let Err(e) = serve(client, &cfg) {
                        eprintln!("meta_proxy: connection: {e}");
                    }
                });
            }
            Err(e) => eprintln!("meta_proxy: accept: {e}"),
        }
    }
    ExitCode::SUCCESS
}

/// One client connection: a thread per direction.
fn serve(client: TcpStream, cfg: &Arc<Config>) -> std::io::Result<()> {
    let upstream = TcpStream::connect(&cfg.upstream)?;
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    let to_client = Arc::new(Mutex::new(client.try_clone()?));
    let to_upstream = upstream.try_clone()?;

    let responses = {
        let cfg = Arc::clone(cfg);
        let to_client = Arc::clone(&to_client);
        let client_end = client.try_clone()?;
        thread::spawn(move || {
            let mut sink = SharedSink(to_client);
            pump(upstream, Direction::Response, &cfg, &mut sink, None);
            let _ = client_end.shutdown(Shutdown::Write);
        })
    };
    let mut upstream_sink = to_upstream.try_clone()?;
    pump(
        client,
        Direction::Request,
        cfg,
        &mut upstream_sink,
        Some(&to_client),
    );
    let _ = to_upstream.shutdown(Shutdown::Write);
    let _ = responses.join();
    Ok(())
}

/// The client socket, shared by the response pump and local replies.
struct SharedSink(Arc<Mutex<TcpStream>>);

impl Write for SharedSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("client socket lock").write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.lock().expect("client socket lock").write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().expect("client socket lock").flush()
    }
}

/// Reads one direction, decodes every message and forwards it re-encoded to `sink`.
/// `local` is where local replies (rejections, heartbeats) go, for the request direction.
fn pump(
    mut from: TcpStream,
    direction: Direction,
    cfg: &Config,
    sink: &mut dyn Write,
    local: Option<&Arc<Mutex<TcpStream>>>,
) {
    let mut codec =
        new_codec(&cfg.protocol, direction, Limits::default()).expect("protocol checked at start");
    let mutation = match direction {
        Direction::Request => &cfg.mutate_request,
        Direction::Response => &cfg.mutate_response,
    };
    let mut framer = Framer::new();
    let mut md = Metadata::new();
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        loop {
            let msg = match framer.next_message(codec.as_mut(), &mut md) {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(e) => {
                    eprintln!("meta_proxy: decode error ({direction:?}): {e}");
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
            };
            out.clear();
            let handled_locally = match local {
                Some(client) => match local_reply(codec.as_mut(), &md, cfg, &mut out) {
                    Ok(true) => {
                        if client
                            .lock()
                            .expect("client socket lock")
                            .write_all(&out)
                            .is_err()
                        {
                            return;
                        }
                        true
                    }
                    Ok(false) => false,
                    Err(e) => {
                        eprintln!("meta_proxy: local reply failed: {e}");
                        return;
                    }
                },
                None => false,
            };
            if handled_locally {
                continue;
            }
            if cfg.check_roundtrip && !roundtrip_ok(codec.as_mut(), &msg, &md, &mut out) {
                eprintln!(
                    "meta_proxy: ROUNDTRIP MISMATCH ({direction:?}, {} bytes)",
                    msg.len()
                );
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
            out.clear();
            if let Err(e) = codec.encode(&msg, &md, mutation, &mut out) {
                eprintln!("meta_proxy: encode error ({direction:?}): {e}");
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
            if sink.write_all(&out).is_err() {
                return;
            }
        }
    }
}

/// Writes a local reply into `out` when the request is rejected by `--reject` or is a
/// heartbeat answered by `--answer-heartbeats`.
fn local_reply(
    codec: &mut dyn Codec,
    md: &Metadata,
    cfg: &Config,
    out: &mut BytesMut,
) -> Result<bool, mesh_codec::CodecError> {
    if cfg.answer_heartbeats && md.message_type == MessageType::Heartbeat {
        return codec.heartbeat_reply(md, out);
    }
    if let Some((k, v)) = cfg
        .reject
        .iter()
        .find(|(k, v)| md.get(k) == Some(v.as_str()))
    {
        let err = LocalError::new(
            LocalErrorKind::RouteNotFound,
            format!("no route for {k}={v}"),
        );
        codec.on_error(md, &err, out)?;
        return Ok(true);
    }
    Ok(false)
}

fn roundtrip_ok(codec: &mut dyn Codec, msg: &[u8], md: &Metadata, out: &mut BytesMut) -> bool {
    out.clear();
    codec.encode(msg, md, &Mutation::new(), out).is_ok() && out[..] == *msg
}
