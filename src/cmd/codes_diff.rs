//! `yibao codes diff`: what changed between two loaded versions of a family.

use std::fmt::Write as _;
use std::process::ExitCode;

use yibao::store::Store;

use super::{family_arg, print, print_json, Ctx};
use crate::cli::CodesDiffArgs;

/// Run the command.
pub fn run(ctx: &Ctx, args: CodesDiffArgs) -> miette::Result<ExitCode> {
    let family = family_arg(&args.family)?;
    let Some(store) = Store::open_existing(&ctx.workspace)? else {
        return Err(miette::miette!(
            code = "yibao::codes::no_store",
            help = "load tables first: yibao codes import --family F --version V FILE",
            "no code tables are loaded in {} (no .yibao/state.db)",
            ctx.workspace.display()
        ));
    };
    let diff = store.diff(family, &args.from, &args.to)?;
    if ctx.json {
        print_json(&diff)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{family} {} -> {}: {} added, {} retired, {} renamed",
        diff.from,
        diff.to,
        diff.added.len(),
        diff.retired.len(),
        diff.renamed.len()
    );
    let list = |out: &mut String, title: &str, rows: Vec<String>| {
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{title} ({}):", rows.len());
        for row in rows.iter().take(args.limit) {
            let _ = writeln!(out, "  {row}");
        }
        if rows.len() > args.limit {
            let _ = writeln!(
                out,
                "  … and {} more (--limit, or --json for all)",
                rows.len() - args.limit
            );
        }
    };
    list(
        &mut out,
        "added",
        diff.added
            .iter()
            .map(|(c, n)| format!("+ {c}  {n}"))
            .collect(),
    );
    list(
        &mut out,
        "retired",
        diff.retired
            .iter()
            .map(|(c, n)| format!("- {c}  {n}"))
            .collect(),
    );
    list(
        &mut out,
        "renamed",
        diff.renamed
            .iter()
            .map(|r| format!("~ {}  {} -> {}", r.code, r.from, r.to))
            .collect(),
    );
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}
