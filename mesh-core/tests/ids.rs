//! Descriptor Ids across sets: identical descriptors in two subsets render (one EnvoyFilter
//! each); different descriptors whose Ids collide are reported as a collision naming both.

use mesh_core::{RenderOptions, render_documents};

fn input(v1: &str, v2: &str) -> String {
    format!(
        r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {{name: reviews, namespace: default}}
spec:
  sets:
    v1:
      descriptor:
{v1}
    v2:
      descriptor:
{v2}
---
apiVersion: v1
kind: Service
metadata: {{name: reviews, namespace: default}}
spec: {{selector: {{app: reviews}}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: reviews, namespace: default}}
spec:
  host: reviews
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
"#
    )
}

fn descriptor(quota: u32, user: &str, strategy: &str) -> String {
    format!(
        "      - action: {{quota: \"{quota}\", fill_interval: {{seconds: 60}}, strategy: {strategy}}}\n        condition: \"true\"\n        match: [{{name: x-user, exact_match: {user}}}]\n        target: {{port: 9080}}"
    )
}

#[test]
fn identical_local_descriptors_in_two_subsets_render() {
    let d = descriptor(10, "u1", "single");
    let out = render_documents(&input(&d, &d), &RenderOptions::default()).unwrap();
    let objects = out.objects();
    let names: Vec<&str> = objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "reviews.default.v1.ratelimit",
            "reviews.default.v2.ratelimit"
        ]
    );
    assert_eq!(
        out.objects()[0]["spec"]["workloadSelector"]["labels"]["version"],
        "v1"
    );
    assert_eq!(
        out.objects()[1]["spec"]["workloadSelector"]["labels"]["version"],
        "v2"
    );
}

#[test]
fn identical_global_descriptors_in_two_subsets_explain_the_shared_rls_config() {
    let d = descriptor(10, "u1", "global");
    let errs = render_documents(&input(&d, &d), &RenderOptions::default()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs}");
    let e = errs.to_string();
    assert!(
        e.starts_with("default/reviews: spec.sets.v2.descriptor[0]: identical to the global descriptor spec.sets.v1.descriptor[0]"),
        "{e}"
    );
    assert!(e.contains("RLS config"), "{e}");
}

#[test]
fn colliding_ids_are_a_collision_naming_both() {
    // Adler-32 collides: the byte sums and their weighted sums are the same.
    let a = descriptor(121, "u120", "single");
    let b = descriptor(202, "u201", "single");
    let both = format!("{a}\n{b}");
    let other = descriptor(5, "other", "single");
    let errs = render_documents(&input(&both, &other), &RenderOptions::default()).unwrap_err();
    let e = errs.to_string();
    assert_eq!(errs.len(), 1, "{e}");
    assert!(
        e.starts_with(
            "default/reviews: spec.sets.v1.descriptor[1]: Id collision: spec.sets.v1.descriptor[0] and this descriptor are different but get the same Id Service[reviews.default]-Id["
        ),
        "{e}"
    );
    assert!(!e.contains("identical"), "{e}");
    assert!(e.contains("spell `strategy` differently"), "{e}");
    // The advice works: another spelling of a local strategy changes the Id.
    let fixed = format!("{a}\n{}", descriptor(202, "u201", "average"));
    render_documents(&input(&fixed, &other), &RenderOptions::default()).unwrap();
    // In two subsets (two EnvoyFilters) local collisions do not meet.
    render_documents(&input(&a, &b), &RenderOptions::default()).unwrap();
    // Global ones meet in the RLS config.
    let ga = descriptor(121, "u120", "global");
    let gb = descriptor(202, "u201", "global");
    let e = render_documents(&input(&ga, &gb), &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Id collision: spec.sets.v1.descriptor[0]"),
        "{e}"
    );
    assert!(e.contains("RLS config"), "{e}");
}
