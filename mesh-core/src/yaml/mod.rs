//! Multi-document YAML in (module `parse`) and out (module `emit`).

mod emit;
mod parse;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub use emit::emit_documents;
pub use emit::{push_document, to_yaml, to_yaml_ordered};
pub use parse::parse_documents;
