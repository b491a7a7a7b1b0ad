//! `yibao run [--nightly]`: the pipeline (read -> map -> check -> batch -> report) under the
//! workspace lock, each stage shown on stderr, the run recorded in the history. With
//! `--nightly`: quiet, one summary line on stdout, exit 1 when a threshold is breached (cron).

use std::process::ExitCode;

use yibao::lock::WorkspaceLock;
use yibao::pipeline::{self, Plan};
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};
use crate::cli::RunArgs;
use crate::progress::{self, Show};

/// Test hook: hold the lock this many milliseconds before working, so that tests can overlap
/// two runs deterministically. Not for users; documented in docs/RUN.md.
const HOLD_ENV: &str = "YIBAO_TEST_HOLD_LOCK_MS";

/// `1234567` -> `1,234,567`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Run the command.
pub fn run(ctx: &Ctx, args: RunArgs) -> miette::Result<ExitCode> {
    let ws = Workspace::load(&ctx.workspace)?;
    let command = if args.nightly {
        "yibao run --nightly"
    } else {
        "yibao run"
    };
    let _lock = WorkspaceLock::acquire(&ws.root, command)?;
    if let Some(ms) = std::env::var(HOLD_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    let quiet = ctx.quiet || args.nightly;
    // Tables yibao.toml names with their files are imported before the run reads the store.
    super::open_store(ctx, &ws)?;
    let mut display = progress::run_display(Show {
        quiet,
        stage_lines: true,
        batch_lines: false,
    });
    let outcome = pipeline::run(&ws, &Plan::run(command), &mut display)?;
    // A renamed dataset continues the records emitted under its old name: said, not silent.
    let continues: Vec<String> = outcome
        .batches
        .iter()
        .flat_map(|s| &s.datasets)
        .filter(|d| !d.continues.is_empty())
        .map(|d| {
            format!(
                "{} continues {} (same area and kind): records emitted under the old name are not emitted again\n",
                d.dataset,
                d.continues.join(", ")
            )
        })
        .collect();
    let figures = outcome.batch_figures();
    let report = &outcome.report;
    let batches: u64 = figures.iter().map(|b| b.batches).sum();
    let html = outcome.out_dir.join("report.html");
    let verdict = if outcome.breached() { "BREACHED" } else { "OK" };
    if args.nightly {
        print(&format!(
            "yibao run {}: dirty {:.2}% ({}/{}) coverage {} batches {} — {verdict}\n",
            report.run_id,
            report.overall.rate * 100.0,
            thousands(report.overall.dirty),
            thousands(report.overall.records),
            outcome
                .coverage_rate
                .map(|c| format!("{:.1}%", c * 100.0))
                .unwrap_or_else(|| "-".into()),
            batches
        ))?;
        for n in &outcome.not_batched {
            eprintln!("not batched: {}", n.reason);
        }
    } else if ctx.json {
        print_json(&serde_json::json!({
            "run_id": report.run_id,
            "time": report.time,
            "records": report.overall.records,
            "dirty": report.overall.dirty,
            "rate": report.overall.rate,
            "coverage": outcome.coverage_rate,
            "coverage_threshold": ws.thresholds.coverage,
            "dirty_rate_threshold": ws.thresholds.dirty_rate,
            "breached": outcome.breached(),
            "batches": figures,
            "not_batched": outcome.not_batched,
            "dirty_records": outcome.dirty_records,
            "report_json": outcome.out_dir.join("report.json"),
            "report_html": html,
            "seconds": outcome.elapsed.as_secs_f64(),
            "largest_clean_chunk": outcome.largest_push,
            "largest_reject_chunk": outcome.largest_rejects,
        }))?;
    } else {
        let mut text = yibao::report::text(report, ctx.verbose > 0);
        if let Some(c) = outcome.coverage_rate {
            text.push_str(&format!(
                "mapping coverage: {:.1}% of distinct local codes{}\n",
                c * 100.0,
                if outcome.coverage_breached {
                    ", BELOW the coverage threshold"
                } else {
                    ""
                }
            ));
        }
        let records: u64 = figures.iter().map(|b| b.records).sum();
        for line in &continues {
            text.push_str(line);
        }
        for n in &outcome.not_batched {
            text.push_str(&format!(
                "not batched: {} — checked and reported, none of its records sent\n",
                n.reason
            ));
        }
        if batches > 0 {
            text.push_str(&format!(
                "batches: {batches} written with {} clean records, in {}\n",
                thousands(records),
                outcome.out_dir.join("batches").display()
            ));
        } else {
            text.push_str(&format!(
                "batches: none written — {}\n",
                why_no_batch(report)
            ));
        }
        text.push_str(&format!(
            "run {} recorded in {} ({verdict}, {:.1}s)\nreport: {}\n",
            report.run_id,
            yibao::store::Store::path_in(&ws.root).display(),
            outcome.elapsed.as_secs_f64(),
            html.display()
        ));
        print(&text)?;
    }
    Ok(if outcome.breached() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Why a run wrote no batch: no records at all, none clean, or all already emitted.
fn why_no_batch(report: &yibao::report::Report) -> String {
    let empty: Vec<&str> = report
        .datasets
        .iter()
        .filter(|d| d.records == 0)
        .map(|d| d.name.as_str())
        .collect();
    let clean: u64 = report.datasets.iter().map(|d| d.records - d.dirty).sum();
    if report.overall.records == 0 {
        if empty.len() == 1 {
            format!(
                "dataset {} has no records: its files hold no data rows",
                empty[0]
            )
        } else {
            format!(
                "datasets {} have no records: their files hold no data rows",
                empty.join(", ")
            )
        }
    } else if clean == 0 {
        "no record is clean (every record fails an error-level rule; see rejects/)".to_string()
    } else if empty.is_empty() {
        "every clean record is in the ledger already".to_string()
    } else {
        format!(
            "every clean record is in the ledger already; no records in {}",
            empty.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(21976), "21,976");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
