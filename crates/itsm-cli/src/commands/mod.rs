//! One module per command group.

pub(crate) mod audit;
pub(crate) mod change;
pub(crate) mod demo;
pub(crate) mod deploy;
pub(crate) mod incident;
pub(crate) mod oncall;
pub(crate) mod serve;
pub(crate) mod specialist;
pub(crate) mod template;
pub(crate) mod tenant;
