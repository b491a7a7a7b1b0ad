//! `yibao codes import`: read a published national table and load it into the store as one
//! version, all or nothing.

use std::process::ExitCode;
use std::time::Instant;

use yibao::codes::table::read_table;
use yibao::lock::WorkspaceLock;
use yibao::store::Store;

use super::{family_arg, print, print_json, Ctx};
use crate::cli::CodesImportArgs;
use crate::progress;

/// Run the command.
pub fn run(ctx: &Ctx, args: CodesImportArgs) -> miette::Result<ExitCode> {
    let family = family_arg(&args.family)?;
    let started = Instant::now();
    let bar = progress::spinner(ctx.quiet, format!("reading the {family} table"));
    let table = read_table(family, &args.files);
    bar.finish_and_clear();
    let table = table?;
    let _lock = WorkspaceLock::acquire(&ctx.workspace, "yibao codes import")?;
    let mut store = Store::open(&ctx.workspace)?;
    let summary = store.import_code_set(family, &args.version, &table, args.replace)?;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json {
        print_json(&serde_json::json!({
            "family": summary.family,
            "version": summary.version,
            "codes": summary.codes,
            "retired": summary.retired,
            "replaced": summary.replaced,
            "seconds": seconds,
            "files": table.files.iter().map(|f| serde_json::json!({
                "path": f.path.display().to_string(),
                "sha256": f.sha256,
                "sheet": f.sheet,
                "header_row": f.header_row,
                "code_column": f.code_header,
                "name_column": f.name_header,
                "fallback_name_column": f.fallback_header,
                "named_by_fallback": f.by_fallback,
                "without_name": f.nameless,
                "rows": f.rows,
            })).collect::<Vec<_>>(),
        }))?;
    } else if !ctx.quiet {
        let mut text = String::new();
        for f in &table.files {
            text.push_str(&format!(
                "read {}{}: header on row {} (code: {}, name: {}{}), {} rows\n",
                f.path.display(),
                f.sheet
                    .as_ref()
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default(),
                f.header_row,
                f.code_header,
                f.name_header,
                match (&f.fallback_header, f.by_fallback) {
                    (Some(h), n) if n > 0 => format!(", else {h} for {n} rows"),
                    _ => String::new(),
                },
                f.rows
            ));
            if f.nameless > 0 {
                text.push_str(&format!(
                    "  {} codes have no name (column {} empty{}): loaded, and checked for \
                     membership, but name-agrees rules and map suggest cannot use them\n",
                    f.nameless,
                    f.name_header,
                    f.fallback_header
                        .as_ref()
                        .map(|h| format!(", {h} too"))
                        .unwrap_or_default()
                ));
            }
        }
        text.push_str(&format!(
            "{} {family} version {}: {} codes{} in {seconds:.2}s\n",
            if summary.replaced {
                "replaced"
            } else {
                "loaded"
            },
            summary.version,
            summary.codes,
            if summary.retired > 0 {
                format!(" ({} marked retired)", summary.retired)
            } else {
                String::new()
            }
        ));
        print(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
