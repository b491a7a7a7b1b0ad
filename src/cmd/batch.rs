//! `yibao batch`: check the workspace, write the report and rejects, then emit the clean
//! records in upload batches recorded in the ledger; `--dry-run` prints the plan and writes
//! nothing; `yibao batch verify DIR` recounts and re-hashes emitted batches (exit 2 on any
//! mismatch).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use yibao::batch::verify::{verify, Verification};
use yibao::batch::Summary;
use yibao::lock::WorkspaceLock;
use yibao::pipeline::{self, Emit, Plan, Stage};
use yibao::store::Store;
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};
use crate::cli::{BatchArgs, BatchCommand};
use crate::progress::{self, Show};

/// Run the command.
pub fn run(ctx: &Ctx, args: BatchArgs) -> miette::Result<ExitCode> {
    if let Some(BatchCommand::Verify { dir }) = &args.verify {
        return run_verify(ctx, dir);
    }
    let ws = Workspace::load(&ctx.workspace)?;
    // The ledger is read to plan and written to emit: one writer at a time, or two processes
    // plan the same records (and one's recovery abandons the other's pending batch).
    let _lock = if args.dry_run {
        None
    } else {
        Some(WorkspaceLock::acquire(&ws.root, "yibao batch")?)
    };
    // Tables yibao.toml names with their files are imported before the check reads the store.
    super::open_store(ctx, &ws)?;
    let plan = Plan {
        packs: args.pack,
        datasets: args.dataset,
        samples: 5,
        emit: if args.dry_run {
            Emit::DryRun
        } else {
            Emit::Batches
        },
        history: None,
        hold_incomplete: false,
    };
    let verbose = ctx.verbose > 0;
    let mut display = progress::run_display(Show {
        quiet: ctx.quiet,
        stage_lines: false,
        batch_lines: verbose,
    });
    let outcome = pipeline::run(&ws, &plan, &mut display)?;
    if verbose {
        let time = |stage| {
            outcome
                .stage_times
                .iter()
                .filter(|(s, _)| *s == stage)
                .map(|(_, t)| t.as_secs_f64())
                .sum::<f64>()
        };
        // The batches are planned and written in the check's pass.
        let _ = writeln!(
            std::io::stderr(),
            "timing: read and map {:.1} s, check with batches {:.1} s, report {:.1} s",
            time(Stage::Read) + time(Stage::Map),
            time(Stage::Check),
            time(Stage::Report)
        );
    }
    let summary = outcome.batches.unwrap_or_default();
    finish(ctx, &summary, outcome.report.breached)
}

fn finish(ctx: &Ctx, summary: &Summary, breached: bool) -> miette::Result<ExitCode> {
    if ctx.json {
        print_json(summary)?;
    } else {
        print(&render(summary, ctx.verbose > 0))?;
    }
    Ok(if breached {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render(s: &Summary, verbose: bool) -> String {
    let mut out = String::new();
    let r = &s.recovered;
    if !r.finished.is_empty() || !r.abandoned.is_empty() {
        let _ = writeln!(
            out,
            "recovered an interrupted run: {} batches finished, {} abandoned (their records are emitted now), {} temporary files removed",
            r.finished.len(),
            r.abandoned.len(),
            r.temp_removed
        );
    }
    if !r.pending.is_empty() {
        let _ = writeln!(
            out,
            "{} batches of an interrupted run are pending; `yibao batch` recovers them first",
            r.pending.len()
        );
    }
    for d in &s.datasets {
        let verb = if s.dry_run { "would emit" } else { "emitted" };
        let _ = writeln!(
            out,
            "{}: {} clean records; {verb} {} new and {} corrections in {} batches; {} unchanged since emitted",
            d.dataset,
            d.clean,
            d.new,
            d.corrections,
            d.batches.len(),
            d.unchanged
        );
        if !d.continues.is_empty() {
            let _ = writeln!(
                out,
                "  continues {} (same area and kind): records emitted under {} are not emitted again",
                d.continues.join(", "),
                if d.continues.len() == 1 { "that name" } else { "those names" }
            );
        }
        if d.duplicate_keys + d.missing_key > 0 {
            let _ = writeln!(
                out,
                "  left out: {} with a key another clean record has, {} with an empty key field",
                d.duplicate_keys, d.missing_key
            );
        }
        let shown = if verbose || s.dry_run { usize::MAX } else { 0 };
        if shown > 0 && !d.batches.is_empty() {
            let _ = writeln!(
                out,
                "  {:<12} {:>8} {:>6} {:>10}  first key .. last key",
                "batch", "records", "corr", "bytes"
            );
        }
        for b in d.batches.iter().take(shown) {
            let _ = writeln!(
                out,
                "  {:<12} {:>8} {:>6} {:>10}  {} .. {}",
                b.file, b.records, b.corrections, b.bytes, b.first_key, b.last_key
            );
        }
        if !s.dry_run && !d.batches.is_empty() {
            let _ = writeln!(out, "  in {}", d.dir.display());
        }
    }
    if s.dry_run {
        out.push_str("dry run: nothing was written\n");
    } else {
        let _ = writeln!(out, "run {}", s.run_id);
    }
    out
}

fn run_verify(ctx: &Ctx, dir: &Path) -> miette::Result<ExitCode> {
    // The ledger of --workspace, else of the workspace the folder is in (out/<run>/batches).
    let mut store = Store::open_existing(&ctx.workspace)?;
    if store.is_none() {
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        if let Some(root) = abs
            .ancestors()
            .skip(1)
            .find(|a| Store::path_in(a).is_file())
        {
            store = Store::open_existing(root)?;
        }
    }
    let v = verify(dir, store.as_ref())?;
    if ctx.json {
        print_json(&v)?;
    } else {
        print(&render_verify(&v))?;
    }
    Ok(if v.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn render_verify(v: &Verification) -> String {
    let mut out = String::new();
    for d in &v.datasets {
        let _ = writeln!(
            out,
            "{}: {} batches, {} records ({} corrections){}",
            d.dataset,
            d.batches,
            d.records,
            d.corrections,
            if d.ledger {
                ", checked against the ledger"
            } else {
                "; no ledger in this workspace (--workspace) to check against"
            }
        );
    }
    for f in &v.findings {
        let _ = writeln!(
            out,
            "{:?}: {}{}{}: {}",
            f.problem,
            f.dataset,
            f.batch
                .as_deref()
                .map(|b| format!(" {b}"))
                .unwrap_or_default(),
            f.key
                .as_deref()
                .map(|k| format!(" key {k}"))
                .unwrap_or_default(),
            f.detail
        )
        .map(|_| ());
    }
    if v.ok {
        out.push_str("ok: every batch matches its manifest and the ledger\n");
    } else {
        let counts: Vec<String> = v
            .counts
            .iter()
            .map(|(p, n)| format!("{n} {}", format!("{p:?}").to_lowercase()))
            .collect();
        let _ = writeln!(out, "MISMATCH: {}", counts.join(", "));
    }
    out
}
