//! The command line, as clap derive types only: doc comments are the help text.
//! Commands and flags are the ones fixed in PRODUCT.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// yibao: offline data governance and migration for China's medical insurance (医保) data.
///
/// Load a coordination area's legacy datasets, map local codes onto the national codes
/// (diagnoses, procedures, service items, drugs, consumables), measure the dirty-data rate and
/// emit upload batches in the national data-collection layout.
///
/// Exit codes: 0 success; 1 a threshold was breached but the run completed; 2 bad input or
/// configuration; 3 an internal or I/O failure.
#[derive(Debug, Parser)]
#[command(name = "yibao", version, max_term_width = 100)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The workspace folder (holds yibao.toml, mappings/, .yibao/state.db).
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    pub workspace: PathBuf,
    /// Print results as JSON on stdout, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print less: no progress bars, no summaries beyond the result.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more (repeat for more detail).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a workspace (yibao.toml, mappings/, quality-rules/); --sample copies the demo.
    Init(InitArgs),
    /// National code tables: import published tables, explain codes, compare versions.
    #[command(subcommand)]
    Codes(CodesCommand),
    /// Profile a dataset or file: rows, columns, types, null and distinct rates, code columns.
    Profile(ProfileArgs),
    /// Code mapping (对码): suggest, accept and measure coverage.
    #[command(subcommand)]
    Map(MapCommand),
    /// Run the rule packs over the workspace's datasets and print the dirty-data rate.
    Check(CheckArgs),
    /// Emit upload batches of clean records in the national layout, or verify emitted ones.
    Batch(BatchArgs),
    /// The whole pipeline: read, map, check, batch, report; recorded in the history.
    Run(RunArgs),
    /// The latest run and its trend from history.
    Report(ReportArgs),
    /// Quality rules: list them, or run every rule's own pass/fail examples.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Sample data: generate a deterministic legacy-data workspace of any size.
    #[command(subcommand)]
    Samples(SamplesCommand),
}

/// `yibao samples ...`.
#[derive(Debug, Subcommand)]
pub enum SamplesCommand {
    /// Write a workspace of generated legacy data (GBK CSV settlements and fee details with
    /// defects at known rates) and a ground-truth file of every injected defect.
    Generate(SamplesGenerateArgs),
}

/// `yibao samples generate`.
#[derive(Debug, Args)]
pub struct SamplesGenerateArgs {
    /// Fee-detail rows to generate (settlements are about a tenth).
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The folder to write the workspace into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write the demo workspace instead (two areas, CSV and xlsx, five families; the same bytes
    /// as the repository's samples/demo/); --rows and --seed do not apply.
    #[arg(long, conflicts_with_all = ["rows", "seed"])]
    pub demo: bool,
}

/// `yibao init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to create.
    pub dir: PathBuf,
    /// Copy the demo workspace with its sample data.
    #[arg(long)]
    pub sample: bool,
}

/// `yibao codes ...`.
#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Load an officially published national table (xlsx/xls/csv as published) into the store.
    Import(CodesImportArgs),
    /// Detect each code's family, split it into segments, say if it is well-formed, and with a
    /// loaded table give its name and status (current / retired).
    Explain(CodesExplainArgs),
    /// Added, retired and renamed codes between two loaded versions of a family.
    Diff(CodesDiffArgs),
}

/// `yibao codes import`.
#[derive(Debug, Args)]
pub struct CodesImportArgs {
    /// The family: diagnosis, procedure, service, drug or consumable.
    #[arg(long, value_name = "F")]
    pub family: String,
    /// The version name to load it under, e.g. 2.0 or 20240701.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// The published file(s); several files are parts of one version.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Replace the version if it is already loaded.
    #[arg(long)]
    pub replace: bool,
}

/// `yibao codes explain`.
#[derive(Debug, Args)]
pub struct CodesExplainArgs {
    /// The codes to explain.
    #[arg(required = true, value_name = "CODE")]
    pub codes: Vec<String>,
    /// Explain as this family instead of detecting it.
    #[arg(long, value_name = "F")]
    pub family: Option<String>,
}

/// `yibao codes diff`.
#[derive(Debug, Args)]
pub struct CodesDiffArgs {
    /// The family.
    #[arg(long, value_name = "F")]
    pub family: String,
    /// The older version.
    pub from: String,
    /// The newer version.
    pub to: String,
    /// How many codes of each list to print (JSON output always lists all).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,
}

/// `yibao profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// A dataset named in yibao.toml, or a file.
    #[arg(value_name = "DATASET-or-FILE")]
    pub target: String,
}

/// `yibao map ...`.
#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// Ranked national candidates for every unmapped local code; writes a review file.
    Suggest(MapSuggestArgs),
    /// Merge the rows a reviewer approved into mappings/, keeping who and when.
    Accept(MapAcceptArgs),
    /// Share of local codes, records and amounts that are mapped, per area and family.
    Coverage,
}

/// `yibao map suggest`.
#[derive(Debug, Args)]
pub struct MapSuggestArgs {
    /// The coordination area.
    #[arg(long, value_name = "A")]
    pub area: String,
    /// The family.
    #[arg(long, value_name = "F")]
    pub family: String,
    /// Candidates per local code.
    #[arg(long, value_name = "K", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub top: u32,
    /// Folder for the review files <area>-<family>.csv and .xlsx (default: out/suggest in the workspace).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `yibao map accept`.
#[derive(Debug, Args)]
pub struct MapAcceptArgs {
    /// The review file a reviewer edited (CSV or XLSX).
    #[arg(value_name = "REVIEW-FILE")]
    pub file: PathBuf,
    /// A second reviewer's copy of the same review file: agreement is reported (counts and
    /// Cohen's kappa), only what both decided alike is merged, and the local codes they decided
    /// differently (or only one decided) are written to <REVIEW-FILE>-adjudicate.csv, for an
    /// adjudicator to decide and merge with `yibao map accept`.
    #[arg(value_name = "SECOND-REVIEW-FILE")]
    pub second: Option<PathBuf>,
    /// Reviewer recorded for rows whose `reviewer` cell is empty (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub reviewer: Option<String>,
}

/// `yibao check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A rule pack to run, repeatable (default: the workspace's packs): a built-in name
    /// (national, conformance), a name in the workspace's quality-rules/, or a .toml path.
    #[arg(long, value_name = "P")]
    pub pack: Vec<String>,
    /// Check only this dataset, repeatable (default: all).
    #[arg(long, value_name = "NAME")]
    pub dataset: Vec<String>,
    /// Failing sample rows kept per rule in report.json.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub samples: usize,
}

/// `yibao batch`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BatchArgs {
    /// `verify DIR`: recount and re-hash emitted batches.
    #[command(subcommand)]
    pub verify: Option<BatchCommand>,
    /// Print the plan (batches, records, bytes, first and last keys) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A rule pack deciding which records are clean, repeatable (default: the workspace's
    /// packs), as for `yibao check`.
    #[arg(long, value_name = "P")]
    pub pack: Vec<String>,
    /// Batch only this dataset, repeatable (default: all).
    #[arg(long, value_name = "NAME")]
    pub dataset: Vec<String>,
}

/// `yibao batch verify`.
#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Recount and re-hash emitted batches against their manifests and the ledger; exit 2 on
    /// any missing, extra, altered or duplicated batch or record.
    Verify {
        /// The batches: out/<run>/batches, one dataset folder under it, or the run folder.
        dir: PathBuf,
    },
}

/// `yibao run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Quiet, one summary line, exit code by thresholds: for cron.
    #[arg(long)]
    pub nightly: bool,
}

/// `yibao report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// How far back the trend goes, e.g. 30d.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
}

/// Report formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML file.
    Html,
    /// JSON.
    Json,
    /// CSV.
    Csv,
}

/// `yibao rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules of the available packs.
    List {
        /// Only this pack.
        #[arg(long, value_name = "P")]
        pack: Option<String>,
    },
    /// Run every rule's own pass/fail examples.
    Test {
        /// The pack (default: all).
        pack: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
