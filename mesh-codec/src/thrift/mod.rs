//! thrift codec (being built: see its issue).

use crate::{Codec, Direction, Limits};

/// Builds this protocol's codec for the registry; `None` until the codec lands.
pub(crate) fn boxed(_direction: Direction, _limits: Limits) -> Option<Box<dyn Codec>> {
    None
}
