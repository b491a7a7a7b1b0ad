//! yibao: offline data governance and migration for China's medical insurance (医保) data.
//!
//! The library holds the domain: national code families ([`codes`]) and the code store
//! ([`store`]). The `yibao` binary (`src/main.rs`, `src/cli.rs`, `src/cmd/`) is a thin layer over it.

pub mod atomic;
pub mod batch;
pub mod clock;
pub mod codes;
pub mod lock;
pub mod mapping;
pub mod memory;
pub mod pipeline;
pub mod profile;
pub mod report;
pub mod rules;
pub mod samples;
pub mod sheet;
pub mod source;
pub mod store;
pub mod workspace;
