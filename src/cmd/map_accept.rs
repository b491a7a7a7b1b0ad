//! `yibao map accept REVIEW-FILE`: merge what a reviewer approved or rejected into mappings/.

use std::process::ExitCode;

use yibao::codes::Family;
use yibao::lock::WorkspaceLock;
use yibao::mapping::accept::plan;
use yibao::mapping::crosswalk::TableStatus;
use yibao::mapping::load::Crosswalks;
use yibao::mapping::review;
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};
use crate::cli::MapAcceptArgs;

/// Run the command.
pub fn run(ctx: &Ctx, args: MapAcceptArgs) -> miette::Result<ExitCode> {
    let ws = Workspace::load(&ctx.workspace)?;
    // Crosswalks are rewritten: not while a run reads them.
    let _lock = WorkspaceLock::acquire(&ws.root, "yibao map accept")?;
    let store = super::open_store(ctx, &ws)?;
    let existing = Crosswalks::load(&ws, store.as_ref())?;
    let rows = review::read(&args.file)?;
    let mut tables = std::collections::HashMap::new();
    if let Some(store) = &store {
        for (family, version) in &existing.versions {
            tables.insert(*family, store.code_statuses(*family, version)?);
        }
    }
    let table = |family: Family, code: &str| {
        tables.get(&family).map(|t| match t.get(code) {
            Some(false) => TableStatus::Current,
            Some(true) => TableStatus::Retired,
            None => TableStatus::Absent,
        })
    };
    let reviewer = args
        .reviewer
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_string());
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let plan = plan(
        &ws,
        &args.file.display().to_string(),
        &rows,
        &existing,
        &reviewer,
        &now,
        &table,
    )?;
    for (path, bytes) in &plan.writes {
        yibao::atomic::write(path, bytes).map_err(|e| {
            miette::miette!(code = "yibao::io::write", "cannot write {}: {e}; the other crosswalks may already be updated, re-run to finish", path.display())
        })?;
    }
    if ctx.json {
        print_json(&plan)?;
    } else if !ctx.quiet {
        let mut text = format!(
            "{} local code(s) approved, {} candidate(s) rejected, {} left undecided\n",
            plan.approved, plan.rejected, plan.undecided
        );
        for f in &plan.files {
            text.push_str(&format!("  updated {}\n", f.display()));
        }
        print(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
