//! Where the counters live: one Redis server or a Redis Cluster, reached through the maintained
//! `redis` crate (its blocking client and its `cluster` feature). This module owns the target
//! configuration (envoyproxy/ratelimit's `REDIS_TYPE` + `REDIS_URL`), the connection pool, the
//! timeouts and the mapping of the crate's errors onto [`RedisError`].

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};

/// Why a Redis exchange failed. Decisions carry it; nothing panics.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RedisError {
    /// No connection could be made (refused, unreachable, or the node answered an error while
    /// the connection was set up). `addr` is the server, or the cluster's seed list.
    #[error("redis connect to {addr}: {msg}")]
    Connect { addr: String, msg: String },
    /// The connection (TCP plus the client's setup round trip) did not complete within the
    /// connect timeout.
    #[error("redis connect to {addr} timed out after {after:?}")]
    ConnectTimeout { addr: String, after: Duration },
    #[error("redis i/o: {0}")]
    Io(String),
    /// A command (one pipeline) got no complete reply within the command timeout.
    #[error("redis timed out after {0:?}")]
    Timeout(Duration),
    #[error("redis closed the connection")]
    Closed,
    #[error("redis protocol error: {0}")]
    Protocol(String),
    #[error("redis error reply: {0}")]
    ErrorReply(String),
    #[error("redis is marked down (reconnect backoff)")]
    Backoff,
}

/// envoyproxy/ratelimit's `REDIS_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisType {
    /// One server (or a proxy in front of several): `REDIS_URL` is one `host:port`.
    Single,
    /// Redis Cluster: `REDIS_URL` is a comma-separated list of seed nodes `host:port,...`; the
    /// client discovers the slot map from them and routes each key to its slot's master.
    Cluster,
}

/// A Redis target that does not parse.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RedisConfigError {
    #[error("REDIS_TYPE {0:?} is unknown (single, cluster)")]
    UnknownType(String),
    #[error("REDIS_TYPE sentinel is not supported by Meshplane (use single or cluster)")]
    SentinelUnsupported,
    #[error("REDIS_URL is empty")]
    Empty,
    #[error("REDIS_URL names {0} nodes but REDIS_TYPE is single (use cluster for several)")]
    SeveralForSingle(usize),
    #[error("REDIS_URL node {index} ({node:?}): {reason}")]
    BadNode {
        index: usize,
        node: String,
        reason: String,
    },
}

/// The Redis deployment the global limiter counts in: one server or a cluster's seed nodes.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    kind: RedisType,
    /// As written (trimmed), for messages.
    nodes: Vec<String>,
    infos: Vec<Node>,
}

/// One node, validated.
#[derive(Debug, Clone)]
enum Node {
    Tcp(String, u16),
    /// A `redis://` URL (may carry a password or a database number).
    Url(ConnectionInfo),
}

impl Node {
    fn info(&self) -> redis::RedisResult<ConnectionInfo> {
        match self {
            Node::Tcp(host, port) => {
                ConnectionAddr::Tcp(host.clone(), *port).into_connection_info()
            }
            Node::Url(info) => Ok(info.clone()),
        }
    }
}

fn node_info(index: usize, node: &str) -> Result<Node, RedisConfigError> {
    let bad = |reason: String| RedisConfigError::BadNode {
        index,
        node: node.to_string(),
        reason,
    };
    if node.contains("://") {
        // redis://[user:password@]host:port[/db]: the crate's own URL parser.
        return node
            .into_connection_info()
            .map(Node::Url)
            .map_err(|e| bad(e.to_string()));
    }
    let (host, port) = node
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port".into()))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(bad("empty host".into()));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| bad(format!("bad port {port:?}")))?;
    Ok(Node::Tcp(host.to_string(), port))
}

impl RedisTarget {
    /// From envoyproxy/ratelimit's settings: `redis_type` is `REDIS_TYPE` (`single` — also the
    /// default when empty — or `cluster`, any case), `redis_url` is `REDIS_URL` (`host:port`,
    /// or for a cluster a comma-separated list of them; `redis://host:port` URLs are accepted
    /// too).
    pub fn parse(redis_type: &str, redis_url: &str) -> Result<RedisTarget, RedisConfigError> {
        let kind = match redis_type.trim().to_ascii_lowercase().as_str() {
            "" | "single" => RedisType::Single,
            "cluster" => RedisType::Cluster,
            "sentinel" => return Err(RedisConfigError::SentinelUnsupported),
            other => return Err(RedisConfigError::UnknownType(other.to_string())),
        };
        let nodes: Vec<&str> = redis_url.split(',').map(str::trim).collect();
        if nodes.iter().all(|n| n.is_empty()) {
            return Err(RedisConfigError::Empty);
        }
        if kind == RedisType::Single && nodes.len() > 1 {
            return Err(RedisConfigError::SeveralForSingle(nodes.len()));
        }
        let infos = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| node_info(i, n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RedisTarget {
            kind,
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            infos,
        })
    }

    /// One server at `addr`.
    pub fn single(addr: SocketAddr) -> RedisTarget {
        RedisTarget {
            kind: RedisType::Single,
            nodes: vec![addr.to_string()],
            infos: vec![Node::Tcp(addr.ip().to_string(), addr.port())],
        }
    }

    /// A Redis Cluster reached through these seed nodes (at least one).
    pub fn cluster(seeds: &[SocketAddr]) -> Result<RedisTarget, RedisConfigError> {
        let url = seeds
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(",");
        RedisTarget::parse("cluster", &url)
    }

    pub fn kind(&self) -> RedisType {
        self.kind
    }

    /// The nodes as configured (one for a single server, the seeds for a cluster).
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    fn describe(&self) -> String {
        self.nodes.join(",")
    }
}

/// Timeouts of zero would mean "block forever" to the socket layer: they are raised to 1 ms.
fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

enum Client {
    Single(redis::Client),
    Cluster(ClusterClient),
}

enum Conn {
    Single(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

/// Client, pool and timeouts for one target.
pub(crate) struct Backend {
    target: RedisTarget,
    client: Result<Client, RedisError>,
    connect_timeout: Duration,
    command_timeout: Duration,
    pool: Mutex<Vec<Conn>>,
    max_idle: usize,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("target", &self.target.nodes)
            .field("kind", &self.target.kind)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .finish()
    }
}

/// One counter increment: `INCRBY key hits` then `EXPIRE key expire_secs`.
pub(crate) struct Incr<'a> {
    pub key: &'a str,
    pub hits: u32,
    pub expire_secs: u64,
}

impl Backend {
    pub(crate) fn new(
        target: RedisTarget,
        connect_timeout: Duration,
        command_timeout: Duration,
        max_idle: usize,
    ) -> Backend {
        let connect_timeout = nonzero(connect_timeout);
        let command_timeout = nonzero(command_timeout);
        let infos = target
            .infos
            .iter()
            .map(Node::info)
            .collect::<Result<Vec<_>, _>>();
        let client = infos
            .and_then(|infos| match target.kind {
                RedisType::Single => redis::Client::open(infos[0].clone()).map(Client::Single),
                RedisType::Cluster => ClusterClientBuilder::new(infos)
                    .connection_timeout(connect_timeout)
                    .response_timeout(command_timeout)
                    // No retry loop inside a decision (the crate's default is 16 retries with
                    // exponential sleeps): the answer must come within the timeouts, and the fail
                    // mode covers the rest. A MOVED reply still re-reads the slot map once.
                    .retries(0)
                    .build()
                    .map(Client::Cluster),
            })
            .map_err(|e| RedisError::Connect {
                addr: target.describe(),
                msg: e.to_string(),
            });
        Backend {
            target,
            client,
            connect_timeout,
            command_timeout,
            pool: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    pub(crate) fn kind(&self) -> RedisType {
        self.target.kind
    }

    fn connect_error(&self, e: &redis::RedisError) -> RedisError {
        if e.is_timeout() {
            RedisError::ConnectTimeout {
                addr: self.target.describe(),
                after: self.connect_timeout,
            }
        } else {
            RedisError::Connect {
                addr: self.target.describe(),
                msg: e.to_string(),
            }
        }
    }

    fn connect(&self) -> Result<Conn, RedisError> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let timeouts = Some(self.command_timeout);
        match client {
            Client::Single(c) => {
                let conn = c
                    .get_connection_with_timeout(self.connect_timeout)
                    .map_err(|e| self.connect_error(&e))?;
                conn.set_read_timeout(timeouts)
                    .and_then(|()| conn.set_write_timeout(timeouts))
                    .map_err(|e| self.command_error(&e))?;
                Ok(Conn::Single(conn))
            }
            Client::Cluster(c) => {
                // Seeds in order until one answers, then CLUSTER SLOTS and a connection to
                // every master; each connection within the connect timeout.
                let conn = c.get_connection().map_err(|e| self.connect_error(&e))?;
                conn.set_write_timeout(timeouts)
                    .map_err(|e| self.command_error(&e))?;
                Ok(Conn::Cluster(Box::new(conn)))
            }
        }
    }

    fn command_error(&self, e: &redis::RedisError) -> RedisError {
        if e.is_timeout() {
            RedisError::Timeout(self.command_timeout)
        } else if e.is_connection_refusal() {
            // A cluster node the slot map names is down.
            RedisError::Connect {
                addr: self.target.describe(),
                msg: e.to_string(),
            }
        } else if e.is_connection_dropped() {
            RedisError::Closed
        } else if e.is_io_error() {
            RedisError::Io(e.to_string())
        } else if matches!(
            e.kind(),
            redis::ErrorKind::Server(_) | redis::ErrorKind::Extension
        ) {
            RedisError::ErrorReply(e.to_string())
        } else {
            RedisError::Protocol(e.to_string())
        }
    }

    fn run(&self, conn: &mut Conn, incrs: &[Incr<'_>]) -> Result<Vec<i64>, RedisError> {
        // INCRBY and EXPIRE of one key always go to the same node: in cluster mode the crate
        // groups the pipeline by node, one write per node.
        let replies: Result<Vec<i64>, redis::RedisError> = match conn {
            Conn::Single(c) => {
                let mut p = redis::pipe();
                for i in incrs {
                    p.cmd("INCRBY").arg(i.key).arg(i.hits);
                    p.cmd("EXPIRE").arg(i.key).arg(i.expire_secs);
                }
                p.query(c)
            }
            Conn::Cluster(c) => {
                let mut p = redis::cluster::cluster_pipe();
                for i in incrs {
                    p.cmd("INCRBY").arg(i.key).arg(i.hits);
                    p.cmd("EXPIRE").arg(i.key).arg(i.expire_secs);
                }
                p.query(c)
            }
        };
        let replies = replies.map_err(|e| self.command_error(&e))?;
        if replies.len() != incrs.len() * 2 {
            return Err(RedisError::Protocol(format!(
                "{} replies to {} INCRBY/EXPIRE pairs",
                replies.len(),
                incrs.len()
            )));
        }
        Ok(replies.chunks(2).map(|r| r[0]).collect())
    }

    /// The counts after the increments, in order; one pipelined exchange. A pooled connection
    /// found stale (e.g. the server restarted) is retried once on a fresh one. A connection that
    /// saw any error is dropped, never reused (its replies could be out of step).
    pub(crate) fn incr(&self, incrs: &[Incr<'_>]) -> Result<Vec<i64>, RedisError> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let was_pooled = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        let mut result = self.run(&mut conn, incrs);
        if was_pooled && matches!(result, Err(RedisError::Closed | RedisError::Io(_))) {
            conn = self.connect()?;
            result = self.run(&mut conn, incrs);
        }
        if result.is_ok() {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < self.max_idle {
                pool.push(conn);
            }
        }
        result
    }

    /// Every pooled connection is suspect once one failed.
    pub(crate) fn drop_pool(&self) {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envoyproxy_ratelimit_settings() {
        let t = RedisTarget::parse("", "localhost:6379").unwrap();
        assert_eq!(t.kind(), RedisType::Single);
        assert_eq!(t.nodes(), ["localhost:6379"]);
        let t = RedisTarget::parse("CLUSTER", " 10.0.0.1:7000, 10.0.0.2:7001 ,[::1]:7002").unwrap();
        assert_eq!(t.kind(), RedisType::Cluster);
        assert_eq!(t.nodes(), ["10.0.0.1:7000", "10.0.0.2:7001", "[::1]:7002"]);
        assert!(matches!(&t.infos[2], Node::Tcp(h, 7002) if h == "::1"));
        let t = RedisTarget::parse("single", "redis://:secret@127.0.0.1:6380/2").unwrap();
        let info = t.infos[0].info().unwrap();
        assert_eq!(info.redis_settings().db(), 2);
        assert_eq!(info.redis_settings().password(), Some("secret"));
        let t = RedisTarget::cluster(&["127.0.0.1:7000".parse().unwrap()]).unwrap();
        assert_eq!(t.nodes(), ["127.0.0.1:7000"]);
    }

    #[test]
    fn rejects_bad_settings_with_typed_errors() {
        use RedisConfigError::*;
        assert_eq!(
            RedisTarget::parse("memcache", "a:1").unwrap_err(),
            UnknownType("memcache".into())
        );
        assert_eq!(
            RedisTarget::parse("sentinel", "m,a:1").unwrap_err(),
            SentinelUnsupported
        );
        assert_eq!(RedisTarget::parse("cluster", " , ").unwrap_err(), Empty);
        assert_eq!(
            RedisTarget::parse("single", "a:1,b:2").unwrap_err(),
            SeveralForSingle(2)
        );
        assert!(matches!(
            RedisTarget::parse("cluster", "a:1,b").unwrap_err(),
            BadNode { index: 1, .. }
        ));
        assert!(matches!(
            RedisTarget::parse("cluster", "a:1,b:99999").unwrap_err(),
            BadNode { index: 1, .. }
        ));
        assert!(matches!(
            RedisTarget::parse("cluster", "a:1,,b:2").unwrap_err(),
            BadNode { index: 1, .. }
        ));
        assert!(matches!(
            RedisTarget::parse("single", ":6379").unwrap_err(),
            BadNode { index: 0, .. }
        ));
        assert!(matches!(
            RedisTarget::parse("single", "nosuch://x:1").unwrap_err(),
            BadNode { index: 0, .. }
        ));
    }
}
