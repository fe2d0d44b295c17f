//! One module per command group.

pub(crate) mod change;
pub(crate) mod demo;
pub(crate) mod template;
