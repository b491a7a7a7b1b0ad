//! `yibao check`: run the rule packs over the workspace's datasets (after mapping), print the
//! dirty-data rate, write `out/<run-id>/report.json` and `rejects/<dataset>.csv`, and exit 1
//! when the dirty-data rate threshold of yibao.toml is breached.

use std::process::ExitCode;

use yibao::pipeline::{self, check::Stage, CheckOptions};
use yibao::report;
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};
use crate::cli::CheckArgs;
use crate::progress;

/// A progress display for the check stages: one spinner per stage.
pub fn stages(quiet: bool) -> impl FnMut(Stage<'_>) {
    let mut bar: Option<indicatif::ProgressBar> = None;
    move |stage| {
        if let Some(b) = bar.take() {
            b.finish_and_clear();
        }
        bar = match stage {
            Stage::Reading(name) => Some(progress::spinner(quiet, format!("reading {name}"))),
            Stage::Checking { rules, datasets } => Some(progress::spinner(
                quiet,
                format!("checking {rules} rules on {datasets} datasets"),
            )),
            Stage::Done => None,
        };
    }
}

/// Run the command.
pub fn run(ctx: &Ctx, args: CheckArgs) -> miette::Result<ExitCode> {
    let ws = Workspace::load(&ctx.workspace)?;
    let opts = CheckOptions {
        packs: args.pack,
        datasets: args.dataset,
        samples: args.samples,
        clean: false,
    };
    // Tables yibao.toml names with their files are imported before the check reads the store.
    super::open_store(ctx, &ws)?;
    let mut checked = pipeline::check(&ws, &opts, &mut stages(ctx.quiet))?;
    let path = pipeline::write_report(&ws, &mut checked)?;
    let report = &checked.report;
    if ctx.json {
        print_json(report)?;
    } else {
        let mut text = report::text(report, ctx.verbose > 0);
        text.push_str(&format!("report: {}\n", path.display()));
        print(&text)?;
    }
    Ok(if report.breached {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
