//! `yibao samples generate`: a generated legacy-data workspace for tests, demos and benchmarks.

use std::process::ExitCode;
use std::time::Instant;

use yibao::samples::{generate, Options};

use super::{print, print_json, Ctx};
use crate::cli::SamplesGenerateArgs;
use crate::progress;

/// Run the command.
pub fn run(ctx: &Ctx, args: SamplesGenerateArgs) -> miette::Result<ExitCode> {
    let started = Instant::now();
    let bar = progress::spinner(
        ctx.quiet,
        format!("generating {} fee-detail rows", args.rows),
    );
    let summary = if args.demo {
        yibao::samples::demo::demo(&args.out)
    } else {
        generate(&Options {
            rows: args.rows,
            seed: args.seed,
            out: args.out.clone(),
        })
    };
    bar.finish_and_clear();
    let summary = summary?;
    if ctx.json {
        print_json(&summary)?;
    } else if !ctx.quiet {
        let mut text = format!(
            "wrote {}: {} settlements, {} fee details ({:.1} MB) in {:.1}s\ninjected defects (ground truth in truth.csv):\n",
            summary.out.display(),
            summary.settlements,
            summary.fee_details,
            summary.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        for (kind, n) in summary.defects.iter().filter(|(_, n)| *n > 0) {
            text.push_str(&format!("  {kind:<28} {n}\n"));
        }
        print(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
