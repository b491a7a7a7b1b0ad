//! `yibao report [--since 30d] [--format html|json|csv]`: the latest run of the history with its
//! trend. HTML is written to `out/<run-id>/report.html` (its path printed); JSON and CSV go to
//! stdout, for scripts and spreadsheets.

use std::process::ExitCode;

use yibao::pipeline::trend;
use yibao::report::{html, trend as view};
use yibao::store::Store;
use yibao::workspace::Workspace;

use super::{print, print_json, Ctx};
use crate::cli::{ReportArgs, ReportFormat};

/// `30d`, `12h`, `2w` -> a duration.
fn parse_since(text: &str) -> miette::Result<chrono::Duration> {
    let bad = || {
        miette::miette!(
            code = "yibao::report::since",
            help = "a number and a unit: 30d (days), 12h (hours), 2w (weeks)",
            "--since `{text}` is not a duration"
        )
    };
    let t = text.trim();
    let unit = t.chars().last().ok_or_else(bad)?;
    let n: i64 = t[..t.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    match unit {
        'h' => Ok(chrono::Duration::hours(n)),
        'd' => Ok(chrono::Duration::days(n)),
        'w' => Ok(chrono::Duration::weeks(n)),
        _ => Err(bad()),
    }
}

fn io_err(path: &std::path::Path, e: std::io::Error) -> miette::Report {
    miette::miette!(
        code = "yibao::io::write",
        help = "check the folder is writable and the disk has space",
        "cannot write {}: {e}",
        path.display()
    )
}

/// Run the command.
pub fn run(ctx: &Ctx, args: ReportArgs) -> miette::Result<ExitCode> {
    let since = parse_since(&args.since)?;
    let ws = Workspace::load(&ctx.workspace)?;
    let none = || {
        miette::miette!(
            code = "yibao::report::no_history",
            help = "`yibao run` records a run in the history",
            "no run is recorded in {} yet",
            Store::path_in(&ws.root).display()
        )
    };
    let store = Store::open_existing(&ws.root)?.ok_or_else(none)?;
    let from = (chrono::Utc::now() - since).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let report = trend::load(&store, &ws.name, &from)?.ok_or_else(none)?;
    match args.format {
        ReportFormat::Html => {
            // ws.out already holds the workspace root.
            let path = ws.out.join(&report.latest.run_id).join("report.html");
            yibao::atomic::write(&path, html::render(&report).as_bytes())
                .map_err(|e| io_err(&path, e))?;
            if ctx.json {
                print_json(&serde_json::json!({
                    "run_id": report.latest.run_id,
                    "runs": report.trend.len(),
                    "report_html": path,
                }))?;
            } else {
                print(&format!(
                    "run {} with {} runs of trend since {}\nreport: {}\n",
                    report.latest.run_id,
                    report.trend.len(),
                    &from[..10],
                    path.display()
                ))?;
            }
        }
        ReportFormat::Json => print(&String::from_utf8_lossy(&view::json(&report)))?,
        ReportFormat::Csv => print(&String::from_utf8_lossy(&view::csv(&report)))?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_takes_hours_days_weeks() {
        assert_eq!(parse_since("30d").unwrap(), chrono::Duration::days(30));
        assert_eq!(parse_since("12h").unwrap(), chrono::Duration::hours(12));
        assert_eq!(parse_since("2w").unwrap(), chrono::Duration::weeks(2));
        assert!(parse_since("30").is_err());
        assert!(parse_since("d").is_err());
        assert!(parse_since("三十d").is_err());
        assert!(parse_since("30天").is_err());
    }
}
