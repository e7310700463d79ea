//! Rendering N SmartLimiters (each with its Service) to multi-document YAML.
//! Group `render`: `smartlimiters/1000` and `smartlimiters/10000` show linearity; the goal is
//! under one second for 10 000.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mesh_core::{RenderOptions, render_documents};

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

fn bench(c: &mut Criterion) {
    let mut options = RenderOptions::default();
    options.metrics.insert("_base.pod".into(), "3".into());
    let mut g = c.benchmark_group("render");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        let text = input(n);
        assert!(render_documents(&text, &options).is_ok());
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("smartlimiters", n), &text, |b, text| {
            b.iter(|| render_documents(text, &options).expect("renders"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
