//! SmartLimiter rendering on arbitrary text: never panics; a successful render's YAML reads
//! back as Kubernetes objects; output and error text stay within a fixed multiple of the
//! YAML reader's budget for the input (2 units per byte + 2^20, aliases included), so no input
//! amplifies past it. Not UTF-8 is read lossily (meshctl refuses it before rendering).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_core::{RenderOptions, parse_documents, render_documents, validate_documents};

/// Output bytes allowed per unit of the reader's budget.
const BYTES_PER_UNIT: usize = 64;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut options = RenderOptions::default();
    for (k, v) in [
        ("_base.pod", "3"),
        ("_base.cpu.sum", "566.41"),
        ("v1.pod", "1"),
        ("v2.pod", "2"),
    ] {
        options.metrics.insert(k.into(), v.into());
    }
    let budget = (2 * text.len() + (1 << 20)) * BYTES_PER_UNIT;
    match render_documents(&text, &options) {
        Ok(out) => {
            assert!(
                out.yaml.len() <= budget,
                "{} bytes out of {}",
                out.yaml.len(),
                text.len()
            );
            let back = parse_documents(&out.yaml).expect("rendered YAML reads back");
            // `objects()` is this read-back; each must be a Kubernetes object.
            assert!(back.iter().all(|o| o["kind"].is_string() && o["apiVersion"].is_string()));
            assert!(validate_documents(&text, &options).is_ok());
        }
        Err(errors) => {
            let shown = errors.to_string();
            assert!(!errors.0.is_empty());
            assert!(shown.len() <= budget, "{} bytes of errors", shown.len());
            assert!(validate_documents(&text, &options).is_err());
        }
    }
});
