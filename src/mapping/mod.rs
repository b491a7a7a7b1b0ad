//! Code mapping (对码): crosswalk files, applying them to datasets, coverage, and ranked
//! suggestions for what is still unmapped.

pub mod accept;
pub mod agree;
pub mod apply;
pub mod coverage;
pub mod crosswalk;
pub mod fill;
pub mod gather;
pub mod load;
pub mod review;
pub mod suggest;
