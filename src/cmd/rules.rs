//! `yibao rules list` and `yibao rules test [PACK]`: what the packs hold, and every rule's own
//! pass/fail examples run as a test (exit 1 when one misbehaves).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use yibao::rules::codebook::load_books;
use yibao::rules::compile::Context;
use yibao::rules::examples;
use yibao::rules::{load_packs, Pack, Severity, BUILTIN};
use yibao::store::Store;
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};

/// The packs to list or test: the one named, else the workspace's (when there is one), else the
/// built-in packs.
fn packs(ctx: &Ctx, pack: Option<String>) -> miette::Result<Vec<Pack>> {
    let names: Vec<String> = match pack {
        Some(p) => vec![p],
        None => match Workspace::load(&ctx.workspace) {
            Ok(ws) if !ws.packs.is_empty() => ws.packs,
            _ => BUILTIN.iter().map(|b| b.0.to_string()).collect(),
        },
    };
    Ok(load_packs(&ctx.workspace, &names)?)
}

/// `yibao rules list`.
pub fn list(ctx: &Ctx, pack: Option<String>) -> miette::Result<ExitCode> {
    let packs = packs(ctx, pack)?;
    if ctx.json {
        let rules: Vec<_> = packs.iter().flat_map(|p| p.rules.iter()).collect();
        print_json(&rules)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for p in &packs {
        let _ = writeln!(
            out,
            "pack {} {} — {} ({} rules, {})",
            p.name,
            p.version,
            p.title,
            p.rules.len(),
            p.path.display()
        );
        for r in &p.rules {
            let kinds: Vec<&str> = r.datasets.iter().map(|k| k.as_str()).collect();
            let _ = writeln!(
                out,
                "  {:<36} {:<7} {:<12} {:<13} {:<28} {}",
                r.id,
                match r.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                format!("{:?}", r.dimension).to_lowercase(),
                r.kind.name(),
                kinds.join(","),
                r.title
            );
        }
    }
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// `yibao rules test`.
pub fn test(ctx: &Ctx, pack: Option<String>) -> miette::Result<ExitCode> {
    let packs = packs(ctx, pack)?;
    // Code sets make `national-code` examples check presence too; without a store, form only.
    let store = Store::open_existing(&ctx.workspace).ok().flatten();
    let pinned = Workspace::load(&ctx.workspace)
        .map(|w| w.code_sets)
        .unwrap_or_default();
    let books = match &store {
        Some(s) => load_books(s, &pinned)?.0,
        None => HashMap::new(),
    };
    let mut results = Vec::new();
    for p in &packs {
        for r in &p.rules {
            let ctx = Context {
                books: books.clone(),
                dictionaries: HashMap::from([(p.name.clone(), p.dictionaries.clone())]),
                ..Context::default()
            };
            results.push(examples::run(r, ctx));
        }
    }
    let failed = results.iter().filter(|r| !r.ok()).count();
    let examples: usize = results.iter().map(|r| r.examples).sum();
    if ctx.json {
        print_json(&serde_json::json!({
            "rules": results.len(),
            "examples": examples,
            "failed": failed,
            "results": results,
        }))?;
    } else {
        let mut out = String::new();
        for r in results.iter().filter(|r| !r.ok()) {
            let _ = writeln!(out, "FAIL {} ({})", r.id, r.origin);
            for p in &r.problems {
                let _ = writeln!(out, "  {p}");
            }
        }
        let _ = writeln!(
            out,
            "{} rules, {examples} examples: {} passed, {failed} failed",
            results.len(),
            results.len() - failed
        );
        print(&out)?;
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
