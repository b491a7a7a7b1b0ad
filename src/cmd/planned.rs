//! Commands of PRODUCT.md that this build does not provide yet: they say so plainly and exit 3,
//! so that no script mistakes them for having run.

use std::process::ExitCode;

/// Refuse a command that is not built yet, naming the issue that builds it.
pub fn run(name: &str, issue: u32) -> miette::Result<ExitCode> {
    Err(miette::miette!(
        code = "yibao::internal::not_built",
        help = "see README.md for what this version of yibao does",
        "`yibao {name}` is part of the product but not built yet (tracked as issue #{issue}); nothing was done"
    ))
}
