//! `yibao check`: run the rule packs over the workspace's datasets (after mapping), print the
//! dirty-data rate, write `out/<run-id>/report.json` and `rejects/<dataset>.csv`, and exit 1
//! when the dirty-data rate threshold of yibao.toml is breached. The driver's `check` plan.

use std::process::ExitCode;

use yibao::pipeline::{self, Plan};
use yibao::report;
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};
use crate::cli::CheckArgs;
use crate::progress::{self, Show};

/// Run the command.
pub fn run(ctx: &Ctx, args: CheckArgs) -> miette::Result<ExitCode> {
    let ws = Workspace::load(&ctx.workspace)?;
    // Tables yibao.toml names with their files are imported before the check reads the store.
    super::open_store(ctx, &ws)?;
    let plan = Plan::check(args.pack, args.dataset, args.samples);
    let mut display = progress::run_display(Show {
        quiet: ctx.quiet,
        stage_lines: false,
        batch_lines: false,
    });
    let outcome = pipeline::run(&ws, &plan, &mut display)?;
    let report = &outcome.report;
    if ctx.json {
        print_json(report)?;
    } else {
        let mut text = report::text(report, ctx.verbose > 0);
        if let Some(path) = &outcome.report_path {
            text.push_str(&format!("report: {}\n", path.display()));
        }
        print(&text)?;
    }
    Ok(if report.breached {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
