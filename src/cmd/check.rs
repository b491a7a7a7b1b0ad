//! `yibao check`: run the rule packs over the workspace's datasets (after mapping), print the
//! dirty-data rate, write `out/<run-id>/report.json` and `rejects/<dataset>.csv`, and exit 1
//! when the dirty-data rate threshold of yibao.toml is breached.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

use yibao::mapping::apply::apply;
use yibao::mapping::load::Crosswalks;
use yibao::report::{self, PackRef, Report};
use yibao::rules::codebook::load_books;
use yibao::rules::compile::Context;
use yibao::rules::engine::{self, Input, Options};
use yibao::rules::load_packs;
use yibao::source::dataset::read_dataset;
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};
use crate::cli::CheckArgs;
use crate::progress;

fn polars_err(e: polars::prelude::PolarsError) -> miette::Report {
    miette::miette!(code = "yibao::internal::polars", "{e}")
}

fn io_err(path: &std::path::Path, e: std::io::Error) -> miette::Report {
    miette::miette!(
        code = "yibao::io::write",
        help = "check the folder is writable and the disk has space",
        "cannot write {}: {e}",
        path.display()
    )
}

/// A run id: the UTC time, sortable, safe in a folder name.
pub fn run_id() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// Run the command.
pub fn run(ctx: &Ctx, args: CheckArgs) -> miette::Result<ExitCode> {
    let ws = Workspace::load(&ctx.workspace)?;
    let names = if !args.pack.is_empty() {
        args.pack.clone()
    } else if ws.packs.is_empty() {
        vec!["national".to_string()]
    } else {
        ws.packs.clone()
    };
    let packs = load_packs(&ws.root, &names)?;
    let store = super::open_store(ctx, &ws)?;
    let mut context = Context::default();
    let mut code_sets = BTreeMap::new();
    if let Some(store) = &store {
        let (books, current) = load_books(store, &ws.code_sets)?;
        context.books = books;
        code_sets = current
            .into_iter()
            .map(|(f, v)| (f.as_str().to_string(), v))
            .collect();
    }
    context.dictionaries = packs
        .iter()
        .map(|p| (p.name.clone(), p.dictionaries.clone()))
        .collect::<HashMap<_, _>>();
    let rules: Vec<_> = packs.iter().flat_map(|p| p.rules.iter().cloned()).collect();
    let crosswalks = Crosswalks::load(&ws, store.as_ref())?;
    let datasets: Vec<_> = ws
        .datasets
        .iter()
        .filter(|d| args.dataset.is_empty() || args.dataset.contains(&d.name))
        .collect();
    if datasets.is_empty() {
        return Err(miette::miette!(
            code = "yibao::check::no_dataset",
            help = "declare datasets in yibao.toml ([[datasets]]), or name one that exists with --dataset",
            "nothing to check in {}",
            ws.config_path().display()
        ));
    }
    let mut reads = Vec::new();
    let mut inputs = Vec::new();
    for ds in &datasets {
        let bar = progress::spinner(ctx.quiet, format!("reading {}", ds.name));
        let read = read_dataset(&ws, ds, None)?;
        let frame = apply(read.frame.clone(), ds, &crosswalks).map_err(polars_err)?;
        bar.finish_and_clear();
        inputs.push(Input { dataset: ds, frame });
        reads.push(read);
    }
    let bar = progress::spinner(
        ctx.quiet,
        format!(
            "checking {} rules on {} datasets",
            rules.len(),
            inputs.len()
        ),
    );
    let opts = Options {
        samples: args.samples,
        rejects: true,
    };
    let outcome = engine::check(&inputs, &rules, context, &opts).map_err(polars_err)?;
    bar.finish_and_clear();
    drop(inputs);
    drop(reads);

    let id = run_id();
    let report = Report::new(
        id.clone(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ws.name.clone(),
        packs
            .iter()
            .map(|p| PackRef {
                name: p.name.clone(),
                version: p.version.clone(),
                rules: p.rules.len(),
            })
            .collect(),
        code_sets,
        outcome.datasets,
        ws.thresholds.dirty_rate,
    );
    let dir = ws.root.join(&ws.out).join(&id);
    let rejects_dir = dir.join("rejects");
    std::fs::create_dir_all(&rejects_dir).map_err(|e| io_err(&rejects_dir, e))?;
    for (name, mut df) in outcome.rejects {
        let bytes = report::rejects_csv(&mut df).map_err(polars_err)?;
        let path = rejects_dir.join(format!("{name}.csv"));
        yibao::atomic::write(&path, &bytes).map_err(|e| io_err(&path, e))?;
    }
    let path = dir.join("report.json");
    yibao::atomic::write(&path, &report::json(&report)).map_err(|e| io_err(&path, e))?;
    if ctx.json {
        print_json(&report)?;
    } else {
        let mut text = report::text(&report, ctx.verbose > 0);
        text.push_str(&format!("report: {}\n", path.display()));
        print(&text)?;
    }
    Ok(if report.breached {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
