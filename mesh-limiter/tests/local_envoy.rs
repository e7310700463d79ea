//! Differential test against a real Envoy: the same LocalRateLimit config is given to Envoy's
//! `envoy.filters.http.local_ratelimit` (route-level, descriptors from `request_headers`
//! actions) and to [`LocalRateLimiter`]; a pseudo-random request sequence must get the same
//! allow/deny and the same `x-ratelimit-limit` / `x-ratelimit-remaining` from both.
//!
//! Needs Envoy: the binary in `$ENVOY_1_40_0` (what `scripts/lib.sh envoy_bin 1.40.0` installs);
//! missing is a loud failure. Runs with `--features envoy-tests` (scripts/ci.d/50-limiter.sh).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mesh_limiter::{LocalRateLimit, LocalRateLimiter, ManualClock};
use serde_json::{Value, json};

/// Long fill intervals: nothing measurable refills while the test runs on Envoy's real clock.
const CONFIG: &str = r#"{"statPrefix":"diff",
  "tokenBucket":{"maxTokens":12,"tokensPerFill":12,"fillInterval":"3600s"},
  "filterEnabled":{"defaultValue":{"numerator":100,"denominator":"HUNDRED"}},
  "filterEnforced":{"defaultValue":{"numerator":100,"denominator":"HUNDRED"}},
  "enableXRatelimitHeaders":"DRAFT_VERSION_03",
  "maxDynamicDescriptors":2,
  "descriptors":[
    {"entries":[{"key":"a","value":"1"}],"tokenBucket":{"maxTokens":4,"tokensPerFill":10,"fillInterval":"3600s"}},
    {"entries":[{"key":"b","value":"1"}],"tokenBucket":{"maxTokens":3,"tokensPerFill":1,"fillInterval":"3600s"}},
    {"entries":[{"key":"a","value":"1"},{"key":"b","value":"1"}],"tokenBucket":{"maxTokens":5,"tokensPerFill":5,"fillInterval":"3600s"}},
    {"entries":[{"key":"c","value":""}],"tokenBucket":{"maxTokens":2,"tokensPerFill":2,"fillInterval":"3600s"}}]}"#;

/// Route `rate_limits`: each list of (header, descriptor key) makes one request descriptor
/// when all its headers are present.
const ACTIONS: &[&[(&str, &str)]] = &[
    &[("x-a", "a")],
    &[("x-b", "b")],
    &[("x-a", "a"), ("x-b", "b")],
    &[("x-c", "c")],
];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An upstream that answers 200 to every request and counts them.
fn upstream() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let h = h.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..p + 4);
                        h.fetch_add(1, Ordering::SeqCst);
                        if conn
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .is_err()
                        {
                            return;
                        }
                    }
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (port, hits)
}

fn bootstrap(listen: u16, up: u16, lrl: &LocalRateLimit) -> Value {
    let mut per_route: Value = serde_json::from_str(&lrl.to_json()).unwrap();
    per_route["@type"] = json!(
        "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
    );
    let rate_limits: Vec<Value> = ACTIONS
        .iter()
        .map(|acts| {
            json!({"actions": acts.iter().map(|(h, k)|
                json!({"request_headers": {"header_name": h, "descriptor_key": k}})).collect::<Vec<_>>()})
        })
        .collect();
    json!({
      "static_resources": {
        "listeners": [{
          "name": "diff",
          "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen}},
          "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              "stat_prefix": "diff",
              "route_config": {"name": "r", "virtual_hosts": [{
                "name": "vh", "domains": ["*"],
                "routes": [{
                  "match": {"prefix": "/"},
                  "route": {"cluster": "up", "rate_limits": rate_limits},
                  "typed_per_filter_config": {"envoy.filters.http.local_ratelimit": per_route}
                }]
              }]},
              "http_filters": [
                {"name": "envoy.filters.http.local_ratelimit", "typed_config": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                  "stat_prefix": "listener_level"}},
                {"name": "envoy.filters.http.router", "typed_config": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
              ]
            }
          }]}]
        }],
        "clusters": [{
          "name": "up", "type": "STATIC", "connect_timeout": "1s",
          "load_assignment": {"cluster_name": "up", "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": up}}}}]}]}
        }]
      }
    })
}

struct Envoy(Child);

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_envoy(config: &Value, dir: &std::path::Path) -> Envoy {
    let bin = std::env::var("ENVOY_1_40_0").unwrap_or_else(|_| {
        panic!("ENVOY_1_40_0 is not set: point it at an Envoy 1.40.0 binary (scripts/lib.sh: envoy_bin 1.40.0)")
    });
    let path = dir.join("envoy.json");
    std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    let mut child = Command::new(&bin)
        .args(["-c", path.to_str().unwrap(), "--concurrency", "1"])
        .args(["--disable-hot-restart", "--log-level", "info"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run Envoy at {bin}: {e}"));
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    loop {
        match lines.next() {
            Some(Ok(l)) => {
                log.push_str(&l);
                log.push('\n');
                if l.contains("starting main dispatch loop") {
                    break;
                }
            }
            _ => panic!("Envoy exited before it was ready:\n{log}"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Envoy(child)
}

/// One request through Envoy: (status, x-ratelimit-limit, x-ratelimit-remaining).
fn get(port: u16, headers: &[(&str, &str)]) -> (u16, Option<u32>, Option<u32>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = String::from("GET / HTTP/1.1\r\nhost: diff\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // Read the head and a content-length body (not to EOF: Envoy delays its close).
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "Envoy closed before a full response");
        raw.extend_from_slice(&chunk[..n]);
    };
    let resp = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let body_len: usize = resp
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim().parse().unwrap())
        .unwrap_or(0);
    while raw.len() < head_end + body_len {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "Envoy closed before the full body");
        raw.extend_from_slice(&chunk[..n]);
    }
    let mut lines = resp.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let (mut limit, mut remaining) = (None, None);
    for l in lines.take_while(|l| !l.is_empty()) {
        let (k, v) = l.split_once(':').unwrap();
        match k.to_ascii_lowercase().as_str() {
            "x-ratelimit-limit" => limit = v.trim().parse().ok(),
            "x-ratelimit-remaining" => remaining = v.trim().parse().ok(),
            _ => {}
        }
    }
    (status, limit, remaining)
}

#[test]
fn same_decisions_and_headers_as_envoy_1_40() {
    let lrl = LocalRateLimit::from_json(CONFIG).unwrap();
    let ours = LocalRateLimiter::from_config(&lrl, ManualClock::new()).unwrap();
    let (up_port, hits) = upstream();
    let listen = free_port();
    let dir = tempfile::tempdir().unwrap();
    let _envoy = start_envoy(&bootstrap(listen, up_port, &lrl), dir.path());
    // Envoy logs the line above once its workers run; the listener may take a moment more.
    let mut ready = false;
    for _ in 0..2000 {
        if TcpStream::connect(("127.0.0.1", listen)).is_ok() {
            ready = true;
            break;
        }
        std::thread::yield_now();
    }
    assert!(ready, "Envoy never listened on {listen}");

    // A deterministic pseudo-random mix of headers (xorshift).
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let mut mismatches = Vec::new();
    let mut allowed = 0;
    for i in 0..60 {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        match next(3) {
            1 => headers.push(("x-a", "1")),
            2 => headers.push(("x-a", "2")),
            _ => {}
        }
        if next(2) == 1 {
            headers.push(("x-b", "1"));
        }
        match next(4) {
            1 => headers.push(("x-c", "p")),
            2 => headers.push(("x-c", "q")),
            3 => headers.push(("x-c", "r")),
            _ => {}
        }
        // The request descriptors Envoy's actions produce, in rate_limits order.
        let descriptors: Vec<Vec<(&str, &str)>> = ACTIONS
            .iter()
            .filter_map(|acts| {
                acts.iter()
                    .map(|(h, k)| {
                        headers
                            .iter()
                            .find(|(name, _)| name == h)
                            .map(|(_, v)| (*k, *v))
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .collect();
        let d = ours.check(&descriptors);
        let x = d.x_ratelimit();
        let mine = (
            if d.allowed { 200 } else { 429 },
            x.map(|x| x.limit),
            x.map(|x| x.remaining),
        );
        let theirs = get(listen, &headers);
        if d.allowed {
            allowed += 1;
        }
        if mine != theirs {
            mismatches.push(format!(
                "#{i} {headers:?}: meshplane {mine:?} envoy {theirs:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        allowed,
        "denied requests never reach the upstream"
    );
    assert!(
        allowed > 5 && allowed < 55,
        "the sequence exercises both outcomes ({allowed})"
    );
}
