//! `yibao profile DATASET-or-FILE`: profile a dataset of the workspace, or any file.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use yibao::profile::{profile, render};
use yibao::source::dataset::{read_dataset, role_for};
use yibao::source::{read_file, FileOptions, Progress};
use yibao::workspace::{did_you_mean, Workspace, CONFIG_FILE};

use super::{print, print_json, Ctx};
use crate::cli::ProfileArgs;
use crate::progress;

/// Run the command.
pub fn run(ctx: &Ctx, args: ProfileArgs) -> miette::Result<ExitCode> {
    let ws = if ctx.workspace.join(CONFIG_FILE).exists() {
        Some(Workspace::load(&ctx.workspace)?)
    } else {
        None
    };
    let bar = progress::counter(ctx.quiet, "reading");
    let tick = bar.clone();
    let progress = Some(Progress(Arc::new(move |n| tick.set_position(n))));
    let dataset = ws
        .as_ref()
        .and_then(|w| w.dataset(&args.target).map(|d| (w, d)));
    let started = std::time::Instant::now();
    let verbose = ctx.verbose > 0;
    let phase = |what: &str| {
        if verbose {
            eprintln!("[{:>7.2}s] {what}", started.elapsed().as_secs_f64());
        }
    };
    let result = if let Some((ws, ds)) = dataset {
        let read = read_dataset(ws, ds, progress)?;
        phase("read");
        bar.set_message("profiling");
        let blanks = merged_blanks(&read.files);
        let p = profile(
            ds.name.clone(),
            read.frame.clone(),
            read.files.clone(),
            &blanks,
        )?;
        drop(read);
        p
    } else {
        let path = Path::new(&args.target);
        let path = if path.is_absolute() || path.exists() {
            path.to_path_buf()
        } else {
            ctx.workspace.join(path)
        };
        if !path.exists() {
            let names: Vec<&str> = ws
                .as_ref()
                .map(|w| w.datasets.iter().map(|d| d.name.as_str()).collect())
                .unwrap_or_default();
            let mut help = did_you_mean(&args.target, &names).unwrap_or_default();
            if names.is_empty() {
                help.push_str("give a file path, or a dataset name of the workspace's yibao.toml");
            } else {
                help.push_str(&format!(" datasets: {}", names.join(", ")));
            }
            return Err(miette::miette!(
                code = "yibao::profile::not_found",
                help = help.trim().to_string(),
                "`{}` is neither a dataset of the workspace nor a file",
                args.target
            ));
        }
        let cache = tempfile::tempdir().map_err(|e| {
            miette::miette!(
                code = "yibao::io::tmp",
                "cannot create a temporary folder: {e}"
            )
        })?;
        let opts = FileOptions {
            progress,
            ..Default::default()
        };
        let read = read_file(&path, &opts, &cache.path().join("0.parquet"), &|c| {
            role_for(None, c)
        })?;
        bar.set_message("profiling");
        let blanks = read.report.blanks.clone();
        profile(
            path.display().to_string(),
            read.frame,
            vec![read.report],
            &blanks,
        )?
    };
    phase("profiled");
    bar.finish_and_clear();
    if ctx.json {
        print_json(&result)?;
    } else {
        print(&render::text(&result))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn merged_blanks(files: &[yibao::source::FileReport]) -> std::collections::BTreeMap<String, u64> {
    let mut all = std::collections::BTreeMap::new();
    for f in files {
        for (k, v) in &f.blanks {
            *all.entry(k.clone()).or_insert(0) += v;
        }
    }
    all
}
