//! Where each command keeps its keys (the `first key / last key / step` of Redis' command
//! table, plus the `numkeys` and `STREAMS` forms). Argument 0 is the command name.

/// Key positions of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// The command takes no key.
    NoKeys,
    /// Keys at `first, first+step, …` up to `last` (negative: counted from the end, -1 = last
    /// argument).
    Range { first: u8, last: i8, step: u8 },
    /// `numkeys` at argument `at`, followed by that many keys; `dest` means argument 1 is a
    /// destination key too (`ZUNIONSTORE dest numkeys key…`).
    NumKeys { at: u8, dest: bool },
    /// Keys are the first half of the arguments after the `STREAMS` token (`XREAD`).
    Streams,
}

use KeySpec::*;

const ONE: KeySpec = Range {
    first: 1,
    last: 1,
    step: 1,
};
const TWO: KeySpec = Range {
    first: 1,
    last: 2,
    step: 1,
};
const ALL: KeySpec = Range {
    first: 1,
    last: -1,
    step: 1,
};
const PAIRS: KeySpec = Range {
    first: 1,
    last: -1,
    step: 2,
};
const BLOCKING: KeySpec = Range {
    first: 1,
    last: -2,
    step: 1,
};
const SUBCOMMAND: KeySpec = Range {
    first: 2,
    last: 2,
    step: 1,
};

/// The key spec of a lower-case command name; `None` for commands this table does not know
/// (their keys cannot be located, so key mutations on them are refused).
pub fn key_spec(command: &str) -> Option<KeySpec> {
    Some(match command {
        "get"
        | "set"
        | "setnx"
        | "setex"
        | "psetex"
        | "getset"
        | "getdel"
        | "getex"
        | "append"
        | "strlen"
        | "incr"
        | "decr"
        | "incrby"
        | "decrby"
        | "incrbyfloat"
        | "getrange"
        | "setrange"
        | "substr"
        | "setbit"
        | "getbit"
        | "bitcount"
        | "bitpos"
        | "bitfield"
        | "bitfield_ro"
        | "type"
        | "ttl"
        | "pttl"
        | "expire"
        | "pexpire"
        | "expireat"
        | "pexpireat"
        | "expiretime"
        | "pexpiretime"
        | "persist"
        | "dump"
        | "restore"
        | "move"
        | "lpush"
        | "rpush"
        | "lpushx"
        | "rpushx"
        | "lpop"
        | "rpop"
        | "llen"
        | "lrange"
        | "lindex"
        | "lset"
        | "linsert"
        | "lrem"
        | "ltrim"
        | "lpos"
        | "hset"
        | "hsetnx"
        | "hget"
        | "hmset"
        | "hmget"
        | "hdel"
        | "hlen"
        | "hstrlen"
        | "hexists"
        | "hkeys"
        | "hvals"
        | "hgetall"
        | "hincrby"
        | "hincrbyfloat"
        | "hrandfield"
        | "hscan"
        | "hexpire"
        | "hpexpire"
        | "hexpireat"
        | "hpexpireat"
        | "httl"
        | "hpttl"
        | "hexpiretime"
        | "hpexpiretime"
        | "hpersist"
        | "hgetdel"
        | "hgetex"
        | "hsetex"
        | "sadd"
        | "srem"
        | "smembers"
        | "sismember"
        | "smismember"
        | "scard"
        | "spop"
        | "srandmember"
        | "sscan"
        | "zadd"
        | "zincrby"
        | "zrem"
        | "zcard"
        | "zcount"
        | "zrange"
        | "zrangebyscore"
        | "zrevrangebyscore"
        | "zrangebylex"
        | "zrevrangebylex"
        | "zrevrange"
        | "zrank"
        | "zrevrank"
        | "zscore"
        | "zmscore"
        | "zremrangebyrank"
        | "zremrangebyscore"
        | "zremrangebylex"
        | "zlexcount"
        | "zpopmin"
        | "zpopmax"
        | "zrandmember"
        | "zscan"
        | "pfadd"
        | "geoadd"
        | "geodist"
        | "geohash"
        | "geopos"
        | "georadius"
        | "georadius_ro"
        | "georadiusbymember"
        | "georadiusbymember_ro"
        | "geosearch"
        | "xadd"
        | "xlen"
        | "xrange"
        | "xrevrange"
        | "xdel"
        | "xtrim"
        | "xack"
        | "xclaim"
        | "xautoclaim"
        | "xpending"
        | "xsetid"
        | "sort"
        | "sort_ro" => ONE,
        "rename" | "renamenx" | "copy" | "rpoplpush" | "lmove" | "brpoplpush" | "blmove"
        | "smove" | "zrangestore" | "geosearchstore" | "lcs" => TWO,
        "exists" | "del" | "unlink" | "touch" | "mget" | "sinter" | "sunion" | "sdiff"
        | "sinterstore" | "sunionstore" | "sdiffstore" | "pfcount" | "pfmerge" | "watch" => ALL,
        "mset" | "msetnx" => PAIRS,
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => BLOCKING,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "blmpop"
        | "bzmpop" => NumKeys { at: 2, dest: false },
        "lmpop" | "zmpop" | "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" => {
            NumKeys { at: 1, dest: false }
        }
        "zunionstore" | "zinterstore" | "zdiffstore" => NumKeys { at: 2, dest: true },
        "xread" | "xreadgroup" => Streams,
        "object" | "memory" | "xinfo" | "xgroup" => SUBCOMMAND,
        "ping" | "echo" | "hello" | "auth" | "select" | "info" | "config" | "client"
        | "command" | "flushdb" | "flushall" | "dbsize" | "multi" | "exec" | "discard"
        | "unwatch" | "publish" | "spublish" | "pubsub" | "subscribe" | "unsubscribe"
        | "psubscribe" | "punsubscribe" | "ssubscribe" | "sunsubscribe" | "keys" | "scan"
        | "randomkey" | "time" | "quit" | "reset" | "lastsave" | "save" | "bgsave"
        | "bgrewriteaof" | "monitor" | "slowlog" | "latency" | "acl" | "script" | "function"
        | "cluster" | "wait" | "waitaof" | "debug" | "role" | "replicaof" | "slaveof"
        | "swapdb" | "lolwut" | "readonly" | "readwrite" | "asking" | "failover" | "shutdown"
        | "sync" | "psync" | "module" => NoKeys,
        _ => return None,
    })
}

/// True for commands answered only by pub/sub confirmations (pushes), never by a reply of
/// their own: they are one-way requests. `nargs` counts the command name.
pub fn is_subscription(command: &str, nargs: usize) -> bool {
    match command {
        "subscribe" | "psubscribe" | "ssubscribe" => nargs >= 2,
        "unsubscribe" | "punsubscribe" | "sunsubscribe" => true,
        _ => false,
    }
}

/// Tracks the first key while arguments stream by, without storing them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FirstKey {
    spec: KeySpec,
    nargs: usize,
    key_at: Option<usize>,
    streams_seen: bool,
}

impl FirstKey {
    pub(crate) fn new(spec: Option<KeySpec>, nargs: usize) -> Self {
        let spec = spec.unwrap_or(NoKeys);
        let key_at = match spec {
            Range { first, last, .. } => {
                let first = first as usize;
                let last = if last < 0 {
                    nargs as i64 + last as i64
                } else {
                    last as i64
                };
                (first < nargs && first as i64 <= last).then_some(first)
            }
            NumKeys { dest: true, .. } => (nargs > 1).then_some(1),
            _ => None,
        };
        FirstKey {
            spec,
            nargs,
            key_at,
            streams_seen: false,
        }
    }

    /// Offers argument `i`; returns true when it is the first key.
    pub(crate) fn offer(&mut self, i: usize, arg: &[u8]) -> bool {
        if self.key_at == Some(i) {
            return true;
        }
        match self.spec {
            NumKeys { at, dest: false } if i == at as usize => {
                if let Some(n) = parse_usize(arg)
                    && n > 0
                    && i + 1 < self.nargs
                {
                    self.key_at = Some(i + 1);
                }
                false
            }
            Streams if self.key_at.is_none() => {
                if self.streams_seen {
                    self.key_at = Some(i);
                    return true;
                }
                if i > 0 && arg.eq_ignore_ascii_case(b"streams") {
                    self.streams_seen = true;
                }
                false
            }
            _ => false,
        }
    }
}

fn parse_usize(b: &[u8]) -> Option<usize> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Every key position of a command with arguments `args` (argument 0 is the name); `None`
/// when the command's keys cannot be located.
pub fn key_positions(command: &str, args: &[&[u8]]) -> Option<Vec<usize>> {
    let n = args.len();
    Some(match key_spec(command)? {
        NoKeys => Vec::new(),
        Range { first, last, step } => {
            let last = if last < 0 {
                n as i64 + last as i64
            } else {
                (last as i64).min(n as i64 - 1)
            };
            let mut v = Vec::new();
            let mut i = first as i64;
            while i <= last && (i as usize) < n {
                v.push(i as usize);
                i += step as i64;
            }
            v
        }
        NumKeys { at, dest } => {
            let at = at as usize;
            let mut v = Vec::new();
            if dest && n > 1 {
                v.push(1);
            }
            if let Some(k) = args.get(at).and_then(|a| parse_usize(a)) {
                v.extend((at + 1..n).take(k));
            }
            v
        }
        Streams => {
            let s = (1..n).find(|&i| args[i].eq_ignore_ascii_case(b"streams"))?;
            let rest = n - s - 1;
            (s + 1..s + 1 + rest / 2).collect()
        }
    })
}
