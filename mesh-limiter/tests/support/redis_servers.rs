//! Real `redis-server` processes on free loopback ports, for the global-limit tests: one server,
//! or a three-master Redis Cluster built with `redis-cli --cluster create`. Every server runs in
//! its own temporary directory named `meshplane-limiter-redis-*` (so the CI section can prove
//! with `pgrep -f` that none is left) and is killed when its handle drops. Talking to the
//! servers goes through the `redis` crate, never hand-written RESP. Missing binaries fail
//! loudly. Servers run under `setpriv --pdeathsig KILL`, so they die with the test process
//! even when it is killed outright.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `redis-server` process.
pub struct Redis {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port P with P + 10000 (the cluster bus) free as well.
fn free_cluster_port() -> u16 {
    loop {
        let p = free_port();
        if p <= 55_000 && TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
}

/// Polls `f` every 20 ms until it is true; panics with `what` after 15 s.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Redis {
    fn spawn(port: u16, extra: &[String]) -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("meshplane-limiter-redis-")
            .tempdir()
            .unwrap();
        // setpriv (util-linux) execs redis-server with a parent-death signal: if the test
        // process dies without running `Drop` (SIGKILL, abort), the kernel kills the server.
        let mut child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--", "redis-server"])
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            // Keep the command line (with the temp dir) visible to `pgrep -f`.
            .args(["--set-proc-title", "no"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `setpriv` ({e}): install it (Debian: util-linux)")
            });
        let out = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(out).lines();
        let mut log = String::new();
        loop {
            match lines.next() {
                Some(Ok(l)) => {
                    log.push_str(&l);
                    log.push('\n');
                    if l.contains("Ready to accept connections") {
                        break;
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "redis-server exited before it was ready (is it installed? Debian: \
                         apt-get install redis-server):\n{log}"
                    )
                }
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Redis { child, port, dir }
    }

    pub fn start_on(port: u16) -> Redis {
        Redis::spawn(port, &[])
    }

    pub fn start() -> Redis {
        Redis::start_on(free_port())
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }

    /// A plain (non-cluster) connection to this one server.
    pub fn conn(&self) -> redis::Connection {
        let c = redis::Client::open(format!("redis://{}/", self.addr()))
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(5))
            .unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c
    }

    /// One command on this server; the reply as a string (integers in decimal, nil as "(nil)",
    /// status replies as their text).
    pub fn cmd(&self, args: &[&str]) -> String {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        match c.query::<redis::Value>(&mut self.conn()).unwrap() {
            redis::Value::Nil => "(nil)".into(),
            redis::Value::Int(i) => i.to_string(),
            redis::Value::Okay => "OK".into(),
            redis::Value::SimpleString(s) => s,
            redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            redis::Value::VerbatimString { text, .. } => text,
            other => format!("{other:?}"),
        }
    }

    /// `INFO commandstats` calls of `command` (lower case) since start or `CONFIG RESETSTAT`.
    pub fn calls(&self, command: &str) -> u64 {
        let stats = self.cmd(&["INFO", "commandstats"]);
        let tag = format!("cmdstat_{command}:calls=");
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&tag))
            .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
            .unwrap_or(0)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Redis Cluster of three masters, no replicas, slots split by `redis-cli --cluster create`.
/// `cluster-require-full-coverage no`: when one master dies the others keep serving their
/// slots (the setting an operator needs for "a dead node only affects its own keys").
pub struct Cluster {
    pub nodes: Vec<Redis>,
}

impl Cluster {
    pub fn start() -> Cluster {
        let nodes: Vec<Redis> = (0..3)
            .map(|_| {
                let port = free_cluster_port();
                Redis::spawn(
                    port,
                    &[
                        "--cluster-enabled".into(),
                        "yes".into(),
                        "--cluster-config-file".into(),
                        format!("nodes-{port}.conf"),
                        "--cluster-node-timeout".into(),
                        "500".into(),
                        "--cluster-require-full-coverage".into(),
                        "no".into(),
                    ],
                )
            })
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(nodes.iter().map(|n| n.addr().to_string()))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `redis-cli` ({e}): install it (Debian: apt-get install redis-tools)"
                )
            });
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster { nodes };
        for n in &cluster.nodes {
            wait_until("cluster_state:ok on every node", || {
                let info = n.cmd(&["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            });
        }
        cluster
    }

    pub fn seeds(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(Redis::addr).collect()
    }

    /// Index (into `nodes`) of the master that owns `key`'s slot, from `CLUSTER KEYSLOT` and
    /// `CLUSTER NODES` on a live node.
    pub fn owner(&self, key: &str, ask: usize) -> usize {
        let n = &self.nodes[ask];
        let slot: u16 = n.cmd(&["CLUSTER", "KEYSLOT", key]).parse().unwrap();
        let nodes = n.cmd(&["CLUSTER", "NODES"]);
        for line in nodes.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let port: u16 = f[1]
                .split('@')
                .next()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let owns = f[8..].iter().any(|r| {
                let (a, b) = r.split_once('-').unwrap_or((r, r));
                matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if (a..=b).contains(&slot))
            });
            if owns {
                return self.nodes.iter().position(|x| x.port == port).unwrap();
            }
        }
        panic!("no master owns slot {slot}:\n{nodes}")
    }

    /// Whether node `ask` sees node `dead` flagged `fail`.
    pub fn sees_failed(&self, ask: usize, dead: usize) -> bool {
        let port = self.nodes[dead].port;
        self.nodes[ask].cmd(&["CLUSTER", "NODES"]).lines().any(|l| {
            l.contains(&format!(":{port}@"))
                && l.split_whitespace()
                    .nth(2)
                    .is_some_and(|f| f.split(',').any(|x| x == "fail"))
        })
    }
}
