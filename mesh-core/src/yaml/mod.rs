//! Multi-document YAML in (module `parse`) and out (module `emit`).

mod emit;
mod parse;
#[cfg(test)]
mod tests;

pub use emit::{emit_documents, to_yaml, to_yaml_ordered};
pub use parse::parse_documents;
