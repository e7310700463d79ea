//! The problems of one descriptor, with whether any check failed.

use crate::error::Sink;

/// Problems of one descriptor: each check that fails marks it, so that a descriptor with a
/// problem is never built (the problems still all get reported, deduplicated by the sink).
pub(super) struct Checks<'s, 'o> {
    pub(super) sink: &'s mut Sink<'o>,
    pub(super) ok: bool,
}

impl Checks<'_, '_> {
    pub(super) fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.ok = false;
        self.sink.err(path, message);
    }
}
