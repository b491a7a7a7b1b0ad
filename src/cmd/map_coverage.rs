//! `yibao map coverage`: share of local codes, records and amounts mapped, per area and family.

use std::fmt::Write as _;
use std::process::ExitCode;

use yibao::mapping::apply::apply;
use yibao::mapping::coverage::Tally;
use yibao::mapping::load::{Change, Crosswalks};
use yibao::source::dataset::read_dataset;
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};
use crate::progress;

fn polars_err(e: polars::prelude::PolarsError) -> miette::Report {
    miette::miette!(code = "yibao::io::polars", "{e}")
}

/// Run the command.
pub fn run(ctx: &Ctx) -> miette::Result<ExitCode> {
    let ws = Workspace::load(&ctx.workspace)?;
    let store = super::open_store(ctx, &ws)?;
    // A newer national version may retire or rename codes the crosswalks use: those rows are
    // listed (to carry forward), and the retired ones count as unmapped.
    let loaded = Crosswalks::load_carrying(&ws, store.as_ref())?;
    let crosswalks = loaded.without_retired();
    let mut tally = Tally::default();
    let datasets: Vec<_> = ws.datasets.iter().filter(|d| !d.codes.is_empty()).collect();
    if datasets.is_empty() {
        return Err(miette::miette!(
            code = "yibao::mapping::no_code_fields",
            help = "declare local-code fields per dataset, e.g.\n[datasets.codes]\nmedins_list_codg = \"catalog\"",
            "no dataset in {} declares local-code fields under [datasets.codes]",
            ws.config_path().display()
        ));
    }
    for ds in datasets {
        let bar = progress::spinner(ctx.quiet, format!("reading {}", ds.name));
        let read = read_dataset(&ws, ds, None)?;
        let mapped = apply(read.frame.clone(), ds, &crosswalks).map_err(polars_err)?;
        tally.add(&mapped, ds).map_err(polars_err)?;
        bar.finish_and_clear();
    }
    let coverage = tally.finish();
    let (codes, mapped) = coverage
        .iter()
        .fold((0, 0), |(a, b), c| (a + c.codes, b + c.codes_mapped));
    let overall = if codes == 0 {
        1.0
    } else {
        mapped as f64 / codes as f64
    };
    let breached = ws.thresholds.coverage.is_some_and(|t| overall < t);
    if ctx.json {
        print_json(&serde_json::json!({
            "coverage": overall,
            "codes": codes,
            "codes_mapped": mapped,
            "threshold": ws.thresholds.coverage,
            "breached": breached,
            "versions": crosswalks.versions,
            "carry_forward": loaded.carried,
            "by_area_family": coverage,
        }))?;
    } else {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<8} {:<11} {:>15} {:>20} {:>24}",
            "area", "family", "codes mapped", "records mapped", "amount mapped"
        );
        for c in &coverage {
            let _ = writeln!(
                out,
                "{:<8} {:<11} {:>6}/{:<6} {:>5.1}% {:>8}/{:<8} {:>5.1}% {:>10.2}/{:<10.2} {:>5.1}%",
                c.area,
                c.family,
                c.codes_mapped,
                c.codes,
                c.coverage * 100.0,
                c.records_mapped,
                c.records,
                c.record_coverage * 100.0,
                c.amount_mapped,
                c.amount,
                c.amount_coverage * 100.0
            );
            for u in c.top_unmapped_by_records.iter().take(5) {
                let _ = writeln!(
                    out,
                    "    unmapped {} {} — {} records, {:.2}",
                    u.code,
                    u.name.as_deref().unwrap_or(""),
                    u.records,
                    u.amount
                );
            }
        }
        for c in &loaded.carried {
            match &c.change {
                Change::Retired { last } => {
                    let _ = writeln!(
                        out,
                        "carry forward {} {} {} → {} {}: retired in {} (current in {last}); counted as unmapped, `yibao map suggest --area {} --family {}` proposes a successor ({}:{})",
                        c.area, c.family, c.local_code, c.national_code, c.national_name, c.version, c.area, c.family, c.file, c.line
                    );
                }
                Change::Renamed { from, to } => {
                    let _ = writeln!(
                        out,
                        "carry forward {} {} {} → {}: renamed in {} from {from} to {to}; still mapped, check the meaning ({}:{})",
                        c.area, c.family, c.local_code, c.national_code, c.version, c.file, c.line
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "overall: {mapped}/{codes} distinct local codes mapped ({:.1}%)",
            overall * 100.0
        );
        if breached {
            let _ = writeln!(
                out,
                "BELOW the coverage threshold {:.1}%",
                ws.thresholds.coverage.unwrap_or(0.0) * 100.0
            );
        }
        print(&out)?;
    }
    Ok(if breached {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
