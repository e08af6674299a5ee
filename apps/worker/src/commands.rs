//! One module per subcommand.

pub(crate) mod admins;
pub(crate) mod analytics;
pub(crate) mod integrity;
pub(crate) mod knowledge;
pub(crate) mod migrate;
pub(crate) mod partitions;
