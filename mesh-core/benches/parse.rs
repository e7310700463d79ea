//! YAML in: `mesh_core::parse_documents` (saphyr-parser events, built with limits) against
//! what it replaced, measured in the same run: serde_norway (libyaml) in one pass, and
//! serde_norway on two threads (the text split at a `---` line in the middle), which
//! mesh-core did for large texts until the library stopped starting threads of its own.
//! Input: the render bench's SmartLimiters with their Services (1 000 and 10 000).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::Value;

fn input(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let strategy = if i % 4 == 3 { "global" } else { "single" };
        s.push_str(&format!(
            r#"---
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {{name: svc{i}, namespace: ns{ns}}}
spec:
  sets:
    _base:
      descriptor:
      - action: {{quota: "100/{{{{._base.pod}}}}", fill_interval: {{seconds: 60}}, strategy: {strategy}}}
        condition: "true"
        target: {{port: 9080}}
      - action: {{quota: "5", fill_interval: {{seconds: 1}}, strategy: {strategy}}}
        condition: "{{{{._base.pod}}}}>1"
        match: [{{name: x-user, exact_match: "user{i}"}}]
        target: {{port: 9080}}
---
apiVersion: v1
kind: Service
metadata: {{name: svc{i}, namespace: ns{ns}}}
spec: {{selector: {{app: svc{i}}}}}
"#,
            ns = i % 50
        ));
    }
    s
}

fn serde_norway(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|de| Value::deserialize(de).expect("parses"))
        .filter(|v| !v.is_null())
        .collect()
}

fn serde_norway_two_threads(text: &str) -> Vec<Value> {
    let mid = text.len() / 2;
    let at = mid + text[mid..].find("\n---\n").expect("a document start") + 1;
    let (a, b) = text.split_at(at);
    std::thread::scope(|s| {
        let second = s.spawn(|| serde_norway(b));
        let mut docs = serde_norway(a);
        docs.extend(second.join().expect("no panic"));
        docs
    })
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        let text = input(n);
        let docs = mesh_core::parse_documents(&text).expect("parses");
        assert_eq!(docs, serde_norway(&text));
        assert_eq!(docs, serde_norway_two_threads(&text));
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("meshplane", n), &text, |b, t| {
            b.iter(|| mesh_core::parse_documents(t).expect("parses"))
        });
        g.bench_with_input(BenchmarkId::new("serde_norway", n), &text, |b, t| {
            b.iter(|| serde_norway(t))
        });
        g.bench_with_input(
            BenchmarkId::new("serde_norway_2threads", n),
            &text,
            |b, t| b.iter(|| serde_norway_two_threads(t)),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
