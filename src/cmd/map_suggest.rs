//! `yibao map suggest --area A --family F`: ranked national candidates for every unmapped local
//! code, written as a review file (CSV and XLSX) for `yibao map accept`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use yibao::mapping::gather::unmapped;
use yibao::mapping::load::Crosswalks;
use yibao::mapping::review;
use yibao::mapping::suggest::plan::{load_or_build, review_rows, suggest_all, tally, Decisions};
use yibao::mapping::suggest::synonyms::Synonyms;
use yibao::workspace::Workspace;

use super::{family_arg, print, print_json, Ctx};
use crate::cli::MapSuggestArgs;
use crate::progress;

fn write(path: &Path, bytes: &[u8]) -> miette::Result<()> {
    yibao::atomic::write(path, bytes).map_err(|e| {
        miette::miette!(
            code = "yibao::io::write",
            "cannot write {}: {e}",
            path.display()
        )
    })
}

/// Run the command.
pub fn run(ctx: &Ctx, args: MapSuggestArgs) -> miette::Result<ExitCode> {
    let started = Instant::now();
    let family = family_arg(&args.family)?;
    let ws = Workspace::load(&ctx.workspace)?;
    if !ws.areas.iter().any(|a| a.code == args.area) {
        return Err(miette::miette!(
            code = "yibao::mapping::unknown_area",
            help = format!(
                "areas in {}: {}",
                ws.config_path().display(),
                ws.areas
                    .iter()
                    .map(|a| a.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "area {} is not declared in yibao.toml",
            args.area
        ));
    }
    let mut store = super::open_store(ctx, &ws)?.ok_or_else(|| no_version(family))?;
    let version = store
        .version_for(family, ws.code_sets.get(&family).map(String::as_str))?
        .ok_or_else(|| no_version(family))?;
    // Rows whose code a newer version retired are unmapped again; their successor is proposed.
    let all_rows = Crosswalks::load_carrying(&ws, Some(&store))?;
    let crosswalks = all_rows.without_retired();

    let bar = progress::spinner(ctx.quiet, format!("reading {} unmapped codes", family));
    let locals = unmapped(&ws, &args.area, family, &crosswalks);
    bar.finish_and_clear();
    let locals = locals?;

    let bar = progress::spinner(ctx.quiet, format!("index of {family} {version}"));
    let loaded = load_or_build(&mut store, family, &version);
    bar.finish_and_clear();
    let (index, info) = loaded?;

    let synonyms = Synonyms::for_workspace(&ws.root)?;
    let decisions = Decisions::with_synonyms(&crosswalks, &args.area, family, synonyms)
        .with_retired(
            all_rows.retired_in(&args.area, family),
            all_rows.added.get(&family).cloned().unwrap_or_default(),
        );
    let bar = progress::bar(ctx.quiet, locals.len() as u64, "suggesting");
    let search_start = Instant::now();
    let suggestions = suggest_all(&index, &locals, args.top as usize, &decisions, &|| {
        bar.inc(1)
    });
    bar.finish_and_clear();
    let search_seconds = search_start.elapsed().as_secs_f64();
    // Freeing the index (every national entry's strings, one by one) takes a noticeable part of
    // a second on a full table: on another thread, while the review files are written; the
    // process does not wait for it at exit.
    std::thread::spawn(move || drop(index));

    let rows = review_rows(&args.area, family, &suggestions);
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| ws.root.join("out").join("suggest"));
    let stem = format!("{}-{}", args.area, family);
    let csv_path = yibao::workspace::path::confined(&dir, &[&format!("{stem}.csv")])?;
    let xlsx_path = yibao::workspace::path::confined(&dir, &[&format!("{stem}.xlsx")])?;
    write(&csv_path, &review::to_csv(&rows))?;
    let xlsx = review::to_xlsx(&rows).map_err(|e| {
        miette::miette!(
            code = "yibao::internal::xlsx",
            "cannot render the XLSX review file: {e}"
        )
    })?;
    write(&xlsx_path, &xlsx)?;

    let t = tally(&suggestions);
    if ctx.json {
        print_json(&serde_json::json!({
            "area": args.area,
            "family": family,
            "version": version,
            "index": info,
            "summary": t,
            "seconds": started.elapsed().as_secs_f64(),
            "search_seconds": search_seconds,
            "files": [csv_path.display().to_string(), xlsx_path.display().to_string()],
            "suggestions": suggestions,
        }))?;
    } else if !ctx.quiet {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {family} (national version {version}): {} unmapped local code(s), {} with a candidate ({} approved in another area)",
            args.area, t.local_codes, t.with_candidate, t.from_other_areas
        );
        let bands: Vec<String> = t
            .top_score
            .iter()
            .map(|(b, n)| format!("{b}: {n}"))
            .collect();
        let _ = writeln!(out, "best score  {}", bands.join("  "));
        let _ = writeln!(
            out,
            "index       {} ({} codes, {:.1} KB) in {:.2}s",
            if info.built { "built" } else { "reused" },
            info.codes,
            info.bytes as f64 / 1024.0,
            info.seconds
        );
        if let Some(why) = &info.rebuilt_because {
            let _ = writeln!(out, "            rebuilt: {why}");
        }
        let _ = writeln!(
            out,
            "searched    {} local code(s) in {:.2}s; total {:.2}s",
            t.local_codes,
            search_seconds,
            started.elapsed().as_secs_f64()
        );
        for s in suggestions.iter().take(5) {
            match s.candidates.first() {
                Some(c) => {
                    let _ = writeln!(
                        out,
                        "  {} {} -> {} {} ({:.2}: {})",
                        s.local_code, s.local_name, c.code, c.name, c.score, c.evidence
                    );
                }
                None => {
                    let _ = writeln!(out, "  {} {} -> no candidate", s.local_code, s.local_name);
                }
            }
        }
        let _ = writeln!(
            out,
            "review file {}\n            {}\nwrite approve or reject in the `decision` column, then: yibao map accept {}",
            csv_path.display(),
            xlsx_path.display(),
            xlsx_path.display()
        );
        print(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn no_version(family: yibao::codes::Family) -> miette::Report {
    miette::miette!(
        code = "yibao::mapping::no_national_version",
        help = format!("load one: yibao codes import --family {family} --version V FILE"),
        "no {family} version is loaded in this workspace, so there is nothing to suggest from"
    )
}
