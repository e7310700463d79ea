//! Redis (RESP2 and RESP3) codec.
//!
//! # Requests
//! Multibulk (`*N` of `$len` bulks) and inline commands (quotes and escapes as the server
//! reads them). Metadata: header `command` (lower-case) and `key` (the first key argument, from
//! a table of the commands' key positions, see [`key_spec`]). The request id is the position of
//! the request among the requests that expect a reply on the connection (0, 1, 2, …): replies
//! come back in order. `SUBSCRIBE`-family commands are [`MessageType::Oneway`] with no request
//! id: the server answers them with pushes, not replies. Empty multibulks (`*0`, `*-1`) and
//! blank inline lines, which the server skips, are absorbed into the next request.
//!
//! # Responses
//! Every RESP2 and RESP3 type. Typed value `type` is the RESP type name of the reply
//! (`attribute` when an attribute precedes it); status is [`ResponseStatus::Error`] for error
//! replies (simple and blob, also after an attribute), else `Ok`. Replies get request ids 0, 1,
//! 2, … in order. Pushes (RESP3 `>`, and under RESP2 the pub/sub arrays `subscribe`,
//! `unsubscribe`, … confirmations and, while subscribed, `message`/`pmessage`/`smessage`) are not
//! replies: they get no request id. The protocol version is tracked from `HELLO` replies
//! (and reset by `RESET`); it only matters for recognising RESP2 pub/sub pushes.
//!
//! Blob payloads are skipped by length: decoding a 100 MB bulk reply costs what its header
//! costs. The metadata-only path allocates nothing once a connection's [`Metadata`] has warmed
//! up.
//!
//! # Mutation (requests only)
//! - `key` = NEW: replaces the first key of the command.
//! - `key_prefix` = P: prefixes every key of the command (after `key`).
//!
//! Mutated requests are re-encoded as multibulk. Commands whose key positions are unknown
//! (not in [`key_spec`]), commands without a key when `key` is set, responses with a
//! non-empty mutation and any other mutation key are refused with
//! [`CodecError::MutationRefused`].
//!
//! Not modelled: `CLIENT REPLY OFF|SKIP` and `MONITOR` (they break reply ordering).

mod commands;
mod request;
mod value;
mod wire;

use std::borrow::Cow;

use bytes::BytesMut;

pub use commands::{KeySpec, is_subscription, key_positions, key_spec};
pub use request::INLINE_MAX;
pub use value::Value;
pub use wire::RespType;

use crate::{
    Codec, CodecError, DecodeStatus, Direction, Limits, LocalError, MessageType, Metadata,
    Mutation, ResponseStatus, TypedValue,
};
use commands::FirstKey;
use request::{InlineScratch, scan_request};
use wire::{Scan, ScanState, Step, int_line, scan_value};

/// Mutation keys this codec understands.
pub const MUTATION_KEYS: &[&str] = &["key", "key_prefix"];

/// The Redis codec for one direction of one connection.
#[derive(Debug, Clone)]
pub struct RedisCodec {
    direction: Direction,
    limits: Limits,
    next_id: u64,
    proto: u8,
    subscribed: bool,
    scan: ScanState,
    aux: ScanState,
    command: String,
    inline: InlineScratch,
}

impl RedisCodec {
    /// A codec for `direction`, bounded by `limits`.
    pub fn new(direction: Direction, limits: Limits) -> Self {
        RedisCodec {
            direction,
            limits,
            next_id: 0,
            proto: 2,
            subscribed: false,
            scan: ScanState::default(),
            aux: ScanState::default(),
            command: String::new(),
            inline: InlineScratch::default(),
        }
    }

    /// RESP version in use on the connection as far as this codec has seen (2 until a
    /// `HELLO 3` reply).
    pub fn protocol_version(&self) -> u8 {
        self.proto
    }

    fn decode_request(
        &mut self,
        input: &[u8],
        md: &mut Metadata,
    ) -> Result<DecodeStatus, CodecError> {
        let command = &mut self.command;
        let mut tracker = FirstKey::new(None, 0);
        let mut nargs_seen = 0;
        let headers = &mut md.headers;
        let mut on_arg = |i: usize, nargs: usize, arg: &[u8]| {
            if i == 0 {
                lower_into(command, arg);
                headers.insert("command", command);
                tracker = FirstKey::new(key_spec(command), nargs);
                nargs_seen = nargs;
            } else if tracker.offer(i, arg) {
                headers.insert_bytes("key", arg);
            }
        };
        let end = match scan_request(input, &self.limits, &mut self.inline, &mut on_arg)? {
            Step::Done(end) => end,
            Step::Need(needed) => return Ok(DecodeStatus::NeedMoreData { needed }),
        };
        if is_subscription(&self.command, nargs_seen) {
            md.message_type = MessageType::Oneway;
        } else {
            md.message_type = MessageType::Request;
            md.request_id = Some(self.next_id);
            self.next_id += 1;
        }
        md.message_size = end;
        md.header_size = end;
        md.body_size = 0;
        Ok(DecodeStatus::Done { consumed: end })
    }

    fn decode_response(
        &mut self,
        input: &[u8],
        md: &mut Metadata,
    ) -> Result<DecodeStatus, CodecError> {
        let scan = match scan_value(input, &self.limits, &mut self.scan)? {
            Step::Done(scan) => scan,
            Step::Need(needed) => return Ok(DecodeStatus::NeedMoreData { needed }),
        };
        let msg = &input[..scan.end];
        let mut push = scan.value == RespType::Push;
        if !push
            && self.proto == 2
            && scan.first == RespType::Array
            && (scan.count == 3 || scan.count == 4)
        {
            push = self.resp2_pubsub(msg, &scan);
        }
        match scan.value {
            RespType::SimpleString if msg == b"+RESET\r\n" => {
                self.subscribed = false;
                self.proto = 2;
            }
            RespType::Map | RespType::Array if !push => self.hello_reply(msg, &scan),
            _ => {}
        }
        md.message_type = MessageType::Response;
        if !push {
            md.request_id = Some(self.next_id);
            self.next_id += 1;
        }
        md.status = Some(if scan.value.is_error() {
            ResponseStatus::Error
        } else {
            ResponseStatus::Ok
        });
        md.set_typed("type", TypedValue::Str(scan.first.as_str()));
        md.message_size = scan.end;
        md.body_size = scan.body + if scan.body > 0 { 2 } else { 0 };
        md.header_size = scan.end - md.body_size;
        Ok(DecodeStatus::Done { consumed: scan.end })
    }

    /// RESP2 pub/sub messages look like arrays: recognise them by shape.
    fn resp2_pubsub(&mut self, msg: &[u8], scan: &Scan) -> bool {
        let Some((_, p)) = int_line(msg, scan.value_at + 1).ok().flatten() else {
            return false;
        };
        let Some((kind, p)) = bulk_at(msg, p) else {
            return false;
        };
        match (kind, scan.count) {
            (
                b"subscribe" | b"unsubscribe" | b"psubscribe" | b"punsubscribe" | b"ssubscribe"
                | b"sunsubscribe",
                3,
            ) => {
                let Some(p) = self.skip_at(msg, p) else {
                    return false;
                };
                if msg.get(p) != Some(&b':') {
                    return false;
                }
                let Some((n, _)) = int_line(msg, p + 1).ok().flatten() else {
                    return false;
                };
                self.subscribed = n > 0;
                true
            }
            (b"message" | b"smessage", 3) | (b"pmessage", 4) => self.subscribed,
            _ => false,
        }
    }

    /// `HELLO` replies (`server`, `redis`, …, `proto`, N, …) tell the protocol version.
    fn hello_reply(&mut self, msg: &[u8], scan: &Scan) {
        let pairs = if scan.value == RespType::Map {
            scan.count
        } else {
            scan.count / 2
        };
        if !(6..=16).contains(&pairs) {
            return;
        }
        let Some((_, mut p)) = int_line(msg, scan.value_at + 1).ok().flatten() else {
            return;
        };
        for i in 0..pairs {
            let Some((k, next)) = bulk_at(msg, p) else {
                return;
            };
            if i == 0 && k != b"server" {
                return;
            }
            if k == b"proto" {
                if msg.get(next) == Some(&b':')
                    && let Some((v, _)) = int_line(msg, next + 1).ok().flatten()
                    && (v == 2 || v == 3)
                {
                    self.proto = v as u8;
                }
                return;
            }
            let Some(after) = self.skip_at(msg, next) else {
                return;
            };
            p = after;
        }
    }

    fn skip_at(&mut self, msg: &[u8], p: usize) -> Option<usize> {
        let r = match scan_value(&msg[p..], &self.limits, &mut self.aux) {
            Ok(Step::Done(s)) => Some(p + s.end),
            _ => None,
        };
        self.aux.forget();
        r
    }

    fn encode_request(
        &mut self,
        original: &[u8],
        mutation: &Mutation,
        out: &mut BytesMut,
    ) -> Result<(), CodecError> {
        for (k, _) in mutation.iter() {
            if !MUTATION_KEYS.contains(&k) {
                return Err(refused(format!(
                    "unknown mutation key {k:?} (redis understands key, key_prefix)"
                )));
            }
        }
        let mut args: Vec<Vec<u8>> = Vec::new();
        let mut collect = |_: usize, _: usize, a: &[u8]| args.push(a.to_vec());
        match scan_request(original, &self.limits, &mut self.inline, &mut collect)? {
            Step::Done(_) => {}
            Step::Need(_) => {
                return Err(CodecError::InvalidMetadata {
                    reason: "original is not a whole redis request".into(),
                });
            }
        }
        let mut command = String::new();
        lower_into(&mut command, &args[0]);
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let Some(keys) = key_positions(&command, &refs) else {
            return Err(refused(format!(
                "key positions of command {command:?} are unknown"
            )));
        };
        drop(refs);
        if let Some(new_key) = mutation.get("key") {
            let Some(&first) = keys.first() else {
                return Err(refused(format!("command {command:?} has no key")));
            };
            args[first] = new_key.as_bytes().to_vec();
        }
        if let Some(prefix) = mutation.get("key_prefix") {
            for &i in &keys {
                let mut k = Vec::with_capacity(prefix.len() + args[i].len());
                k.extend_from_slice(prefix.as_bytes());
                k.extend_from_slice(&args[i]);
                args[i] = k;
            }
        }
        Value::Array(args.into_iter().map(Value::BulkString).collect()).encode(out);
        Ok(())
    }
}

fn refused(reason: String) -> CodecError {
    CodecError::MutationRefused {
        reason: Cow::Owned(reason),
    }
}

/// `$len\r\nbytes\r\n` at `p`: the bytes and the position after.
fn bulk_at(msg: &[u8], p: usize) -> Option<(&[u8], usize)> {
    if msg.get(p) != Some(&b'$') {
        return None;
    }
    let (len, next) = int_line(msg, p + 1).ok().flatten()?;
    let len = usize::try_from(len).ok()?;
    let end = next.checked_add(len)?;
    (msg.len() >= end + 2).then(|| (&msg[next..end], end + 2))
}

fn lower_into(out: &mut String, arg: &[u8]) {
    out.clear();
    match std::str::from_utf8(arg) {
        Ok(s) => out.extend(s.chars().map(|c| c.to_ascii_lowercase())),
        Err(_) => out.push_str(&String::from_utf8_lossy(arg).to_ascii_lowercase()),
    }
}

impl Codec for RedisCodec {
    fn protocol(&self) -> &'static str {
        "redis"
    }

    fn decode(&mut self, input: &[u8], md: &mut Metadata) -> Result<DecodeStatus, CodecError> {
        md.reset();
        match self.direction {
            Direction::Request => self.decode_request(input, md),
            Direction::Response => self.decode_response(input, md),
        }
    }

    fn encode(
        &mut self,
        original: &[u8],
        _md: &Metadata,
        mutation: &Mutation,
        out: &mut BytesMut,
    ) -> Result<(), CodecError> {
        if mutation.is_empty() {
            out.extend_from_slice(original);
            return Ok(());
        }
        match self.direction {
            Direction::Request => self.encode_request(original, mutation, out),
            Direction::Response => Err(refused(
                "redis replies carry no mutable metadata".to_string(),
            )),
        }
    }

    fn on_error(
        &mut self,
        _md: &Metadata,
        error: &LocalError,
        out: &mut BytesMut,
    ) -> Result<(), CodecError> {
        let msg = if error.message.is_empty() {
            error.kind.as_str()
        } else {
            error.message.as_str()
        };
        out.extend_from_slice(b"-ERR ");
        out.extend(
            msg.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// Builds this protocol's codec for the registry.
pub(crate) fn boxed(direction: Direction, limits: Limits) -> Option<Box<dyn Codec>> {
    Some(Box::new(RedisCodec::new(direction, limits)))
}

#[cfg(test)]
mod tests;
