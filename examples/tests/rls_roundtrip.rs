//! One RLS model on both sides: a global SmartLimiter is rendered by mesh-core, its ConfigMap is
//! given to mesh-limiter's Redis global limiter, the request descriptors are built from the
//! rendered route actions (as Envoy would), and the limits the limiter enforces against a real
//! `redis-server` (spawned here on a free loopback port) are exactly the rendered ones.
//! Run: `cargo test -p meshplane-examples --features redis-tests --test rls_roundtrip`.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mesh_envoy::istio::{EnvoyFilter, PatchValue};
use mesh_envoy::ratelimit::Action;
use mesh_envoy::rls::{RlsConfig, RlsDescriptor, Unit};
use mesh_limiter::ManualClock;
use mesh_limiter::global::{Code, GlobalOptions, GlobalRateLimiter, Rules};

const LIMITER: &str = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: productpage, namespace: default}
spec:
  sets:
    _base:
      descriptor:
      - action: {quota: "3", fill_interval: {seconds: 60}, strategy: global}
        condition: "true"
        target: {port: 9080}
      - action: {quota: "2", fill_interval: {seconds: 3600}, strategy: global}
        condition: "true"
        match: [{name: x-user, exact_match: alice}]
        target: {port: 9080}
      - action: {quota: "4", fill_interval: {seconds: 1}, strategy: global}
        condition: "true"
        match: [{name: x-tenant, present_match_separate: true}]
        target: {port: 9080}
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec: {selector: {app: productpage}}
"#;

/// Unix time at the ManualClock's origin: the start of a day (so of every window).
const T0: Duration = Duration::from_secs(1_700_006_400);

struct Redis(Child, u16);

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `redis-server` ({e}): install it (Debian: apt-get install redis-server)")
            });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("Ready to accept connections") => break,
                Some(Ok(_)) => {}
                _ => panic!("redis-server exited before it was ready"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Redis(child, port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The request descriptor Envoy builds from one `rate_limits` entry for a request with these
/// headers (None when an action produces no entry, so the descriptor is not sent).
fn request_descriptor(
    actions: &[Action],
    headers: &[(&str, &str)],
) -> Option<Vec<(String, String)>> {
    let header = |name: &str| headers.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    actions
        .iter()
        .map(|a| match a {
            Action::GenericKey { descriptor_value } => {
                Some(("generic_key".to_string(), descriptor_value.clone()))
            }
            Action::RequestHeaders {
                header_name,
                descriptor_key,
            } => header(header_name).map(|v| (descriptor_key.clone(), v.to_string())),
            Action::HeaderValueMatch {
                descriptor_value,
                headers: matchers,
            } => matchers
                .iter()
                .all(|m| header(&m.name) == m.exact_match.as_deref())
                .then(|| ("header_match".to_string(), descriptor_value.clone())),
            other => panic!("not used by this SmartLimiter: {other:?}"),
        })
        .collect()
}

/// The rate limit of the rendered config node a request descriptor reaches.
fn rendered_limit(cfg: &RlsConfig, entries: &[(String, String)]) -> (Unit, u32) {
    let mut level: &[RlsDescriptor] = &cfg.descriptors;
    let mut node = None;
    for (k, v) in entries {
        let n = level
            .iter()
            .find(|d| &d.key == k && (&d.value == v || d.value.is_empty()))
            .unwrap_or_else(|| panic!("no rendered RLS node for {k}={v}"));
        level = &n.descriptors;
        node = Some(n);
    }
    let rl = node.unwrap().rate_limit.as_ref().expect("a rendered limit");
    (rl.unit.unwrap(), rl.requests_per_unit)
}

#[test]
fn rendered_global_limits_are_the_enforced_ones() {
    let out = mesh_core::render_documents(LIMITER, &Default::default()).unwrap();
    let objects = out.objects();
    let cm = objects.last().unwrap();
    assert_eq!(cm["kind"], "ConfigMap");
    let config_yaml = cm["data"]["config.yaml"].as_str().unwrap();
    let cfg_value = mesh_core::parse_documents(config_yaml).unwrap().remove(0);
    let cfg: RlsConfig = serde_json::from_value(cfg_value).unwrap();
    assert_eq!(cfg.domain, "slime");
    assert_eq!(cfg.descriptors.len(), 3);

    // The route actions, read back through the typed EnvoyFilter.
    let ef: EnvoyFilter = serde_json::from_value(out.objects()[0].clone()).unwrap();
    let rate_limits: Vec<Vec<Action>> = ef
        .spec
        .config_patches
        .iter()
        .filter_map(|p| match &p.patch.value {
            PatchValue::Route(r) => r.route.as_ref(),
            PatchValue::HttpFilter(_) => None,
        })
        .flat_map(|r| r.rate_limits.iter().map(|rl| rl.actions.clone()))
        .collect();
    assert_eq!(rate_limits.len(), 3);

    let redis = Redis::start();
    let clock = ManualClock::new();
    let rules = Rules::new(&cfg).unwrap();
    let opts = GlobalOptions::new(SocketAddr::from(([127, 0, 0, 1], redis.1)))
        .timeout(Duration::from_secs(2));
    let rl = GlobalRateLimiter::new(rules, opts, clock.clone(), T0);

    let requests: [&[(&str, &str)]; 3] = [&[], &[("x-user", "alice")], &[("x-tenant", "acme")]];
    let mut checked: Vec<Vec<(String, String)>> = Vec::new();
    for actions in &rate_limits {
        for headers in requests {
            let Some(entries) = request_descriptor(actions, headers) else {
                continue;
            };
            if checked.contains(&entries) {
                continue; // the same request descriptor (and counter) for another request
            }
            let (unit, quota) = rendered_limit(&cfg, &entries);
            for i in 0..quota {
                let d = rl.check(&[&entries], 1);
                assert!(
                    d.allowed,
                    "{entries:?}: request {i} of {quota} denied: {d:?}"
                );
                let limit = d.statuses[0].limit.as_ref().unwrap();
                assert_eq!((limit.unit, limit.requests_per_unit), (unit, quota));
            }
            let d = rl.check(&[&entries], 1);
            assert!(!d.allowed, "{entries:?}: request {} allowed", quota + 1);
            assert_eq!(d.statuses[0].code, Code::OverLimit);
            checked.push(entries);
        }
    }
    // The plain descriptor (any request), alice's, and acme's per-tenant bucket.
    assert_eq!(
        checked.len(),
        3,
        "every rendered descriptor was exercised: {checked:?}"
    );

    // Per header value: another tenant has its own bucket; a new window resets the counters.
    let other = request_descriptor(&rate_limits[2], &[("x-tenant", "globex")]).unwrap();
    assert!(rl.check(&[&other], 1).allowed);
    clock.advance(Duration::from_secs(1));
    let acme = request_descriptor(&rate_limits[2], &[("x-tenant", "acme")]).unwrap();
    assert!(rl.check(&[&acme], 1).allowed, "a new SECOND window");
}
