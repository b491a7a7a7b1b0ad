//! `yibao map accept REVIEW-FILE [SECOND-REVIEW-FILE]`: merge what a reviewer approved or
//! rejected into mappings/; with two reviewers' copies, only what both decided alike, and the
//! rest written out for an adjudicator.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use yibao::codes::Family;
use yibao::lock::WorkspaceLock;
use yibao::mapping::accept::plan;
use yibao::mapping::agree::{reconcile, Agreement};
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
    // Rows whose code a newer version retired may be replaced by their successor here.
    let existing = Crosswalks::load_carrying(&ws, store.as_ref())?;
    let rows = review::read(&args.file)?;
    let file = args.file.display().to_string();
    let (rows, agreement, adjudicate) = match &args.second {
        None => (rows, None, None),
        Some(second) => {
            let other = review::read(second)?;
            let r = reconcile((&file, &rows), (&second.display().to_string(), &other))?;
            let path = adjudication_path(&args.file);
            let written = if r.to_adjudicate.is_empty() {
                None
            } else {
                yibao::atomic::write(&path, &review::to_csv(&r.to_adjudicate)).map_err(|e| {
                    miette::miette!(
                        code = "yibao::io::write",
                        "cannot write {}: {e}",
                        path.display()
                    )
                })?;
                Some(path)
            };
            (r.merged, Some(r.agreement), written)
        }
    };
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
    let plan = plan(&ws, &file, &rows, &existing, &reviewer, &now, &table)?;
    for (path, bytes) in &plan.writes {
        yibao::atomic::write(path, bytes).map_err(|e| {
            miette::miette!(code = "yibao::io::write", "cannot write {}: {e}; the other crosswalks may already be updated, re-run to finish", path.display())
        })?;
    }
    if ctx.json {
        let mut j = serde_json::to_value(&plan).map_err(|e| {
            miette::miette!(
                code = "yibao::internal::json",
                "cannot render the plan: {e}"
            )
        })?;
        if let Some(a) = &agreement {
            j["agreement"] = serde_json::to_value(a).unwrap_or_default();
            j["to_adjudicate"] = serde_json::to_value(&adjudicate).unwrap_or_default();
        }
        print_json(&j)?;
    } else if !ctx.quiet {
        let mut text = agreement
            .as_ref()
            .map(|a| summary(a, adjudicate.as_deref()))
            .unwrap_or_default();
        text += &format!(
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

/// Where the local codes two reviewers did not decide alike go: beside the first review file.
fn adjudication_path(first: &Path) -> PathBuf {
    let stem = first
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    first.with_file_name(format!("{stem}-adjudicate.csv"))
}

/// The agreement lines for people.
fn summary(a: &Agreement, adjudicate: Option<&Path>) -> String {
    let kappa = a
        .kappa
        .map_or("n/a (no row decided by both)".to_string(), |k| {
            format!("{k:.3}")
        });
    let mut text = format!(
        "reviewers {} and {}: {} local code(s), {} agreed, {} in conflict, {} decided by one only, {} undecided\n\
         candidate rows decided by both: {}, alike {}; Cohen's kappa {kappa}\n",
        a.reviewers[0],
        a.reviewers[1],
        a.local_codes,
        a.agreed,
        a.conflicts,
        a.one_sided,
        a.undecided,
        a.rows_compared,
        a.rows_agreed,
    );
    if let Some(p) = adjudicate {
        text.push_str(&format!(
            "to adjudicate: {} (decide, then `yibao map accept {}`)\n",
            p.display(),
            p.display()
        ));
    }
    text
}
