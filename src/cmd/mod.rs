//! One thin file per command: each turns parsed arguments into calls on the library and prints
//! the result. This file dispatches, and holds what every command shares: the global options,
//! stdout that treats a closed pipe as success, and the exit-code policy of PRODUCT.md.

mod batch;
mod check;
mod codes_diff;
mod codes_explain;
mod codes_import;
mod init;
mod map_accept;
mod map_coverage;
mod map_suggest;
mod profile;
mod report;
mod rules;
mod run;
mod samples;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::Diagnostic;
use thiserror::Error;

use crate::cli::{
    Cli, CodesCommand, Command, GlobalArgs, MapCommand, RulesCommand, SamplesCommand,
};

/// What every command knows besides its own arguments.
pub struct Ctx {
    /// The workspace folder.
    pub workspace: PathBuf,
    /// `--json`.
    pub json: bool,
    /// `-q`.
    pub quiet: bool,
    /// `-v` count.
    #[allow(dead_code)]
    pub verbose: u8,
}

impl From<&GlobalArgs> for Ctx {
    fn from(g: &GlobalArgs) -> Self {
        Ctx {
            workspace: g.workspace.clone(),
            json: g.json,
            quiet: g.quiet,
            verbose: g.verbose,
        }
    }
}

/// Run the command the user asked for.
pub fn run(cli: Cli) -> miette::Result<ExitCode> {
    let ctx = Ctx::from(&cli.global);
    // The test hook that fixes "today" must be a date, or a rule would quietly use the clock.
    yibao::clock::check_env().map_err(|message| {
        miette::miette!(
            code = "yibao::config::today",
            help = "unset it, or give a date such as YIBAO_TODAY=2024-04-01",
            "{message}"
        )
    })?;
    match cli.command {
        Command::Codes(CodesCommand::Import(args)) => codes_import::run(&ctx, args),
        Command::Codes(CodesCommand::Explain(args)) => codes_explain::run(&ctx, args),
        Command::Codes(CodesCommand::Diff(args)) => codes_diff::run(&ctx, args),
        Command::Init(args) => init::run(&ctx, args),
        Command::Profile(args) => profile::run(&ctx, args),
        Command::Map(MapCommand::Coverage) => map_coverage::run(&ctx),
        Command::Map(MapCommand::Accept(args)) => map_accept::run(&ctx, args),
        Command::Map(MapCommand::Suggest(args)) => map_suggest::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args),
        Command::Rules(RulesCommand::List { pack }) => rules::list(&ctx, pack),
        Command::Rules(RulesCommand::Test { pack }) => rules::test(&ctx, pack),
        Command::Batch(args) => batch::run(&ctx, args),
        Command::Run(args) => run::run(&ctx, args),
        Command::Report(args) => report::run(&ctx, args),
        Command::Samples(SamplesCommand::Generate(args)) => samples::run(&ctx, args),
    }
}

/// stdout was closed by the reader (`yibao ... | head`): not a failure.
#[derive(Debug, Error, Diagnostic)]
#[error("broken pipe")]
pub struct BrokenPipe;

/// An I/O failure writing results.
#[derive(Debug, Error, Diagnostic)]
#[error("cannot write to standard output")]
#[diagnostic(code(yibao::io::stdout))]
struct StdoutFailed(#[source] std::io::Error);

/// Write text to stdout; a closed pipe ends the command successfully.
pub fn print(text: &str) -> miette::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                miette::Report::new(BrokenPipe)
            } else {
                miette::Report::new(StdoutFailed(e))
            }
        })
}

/// Print a value as pretty JSON followed by a newline.
pub fn print_json<T: serde::Serialize>(value: &T) -> miette::Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| miette::miette!(code = "yibao::internal::json", "cannot render JSON: {e}"))?;
    print(&(text + "\n"))
}

/// The exit code for a failure: 3 for internal and I/O failures (diagnostic codes under
/// `yibao::io` or `yibao::internal`, or no code at all: nothing anticipated it), 2 for bad input
/// or configuration (every other diagnostic code).
pub fn exit_code_of(report: &miette::Report) -> u8 {
    match report.code().map(|c| c.to_string()) {
        Some(code) if code.starts_with("yibao::io") || code.starts_with("yibao::internal") => 3,
        Some(_) => 2,
        None => 3,
    }
}

/// Parse a family name as given on the command line into a diagnostic on failure.
pub fn family_arg(name: &str) -> miette::Result<yibao::codes::Family> {
    name.parse().map_err(|e: yibao::codes::UnknownFamily| {
        miette::miette!(
            code = "yibao::codes::unknown_family",
            help = "families: diagnosis (诊断), procedure (手术操作), service (医疗服务项目), drug (药品), consumable (耗材)",
            "{e}"
        )
    })
}

/// Open the workspace's store for a command that reads code tables: the tables yibao.toml
/// declares with files are imported first when missing (one line each on stderr), so a shipped
/// workspace runs on a fresh machine. Without such tables, an absent store stays absent.
pub fn open_store(
    ctx: &Ctx,
    ws: &yibao::workspace::Workspace,
) -> miette::Result<Option<yibao::store::Store>> {
    use yibao::codes::autoload;
    if !autoload::has_files(ws) {
        return Ok(yibao::store::Store::open_existing(&ws.root)?);
    }
    let mut store = yibao::store::Store::open(&ws.root)?;
    let bar = crate::progress::spinner(ctx.quiet, "importing the national tables yibao.toml names");
    let loaded = autoload::ensure_loaded(ws, &mut store);
    bar.finish_and_clear();
    if !ctx.quiet {
        for l in loaded.as_ref().map(Vec::as_slice).unwrap_or_default() {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "imported {} version {} ({} codes) as yibao.toml declares",
                    l.family, l.version, l.codes
                );
            }
        }
    }
    loaded?;
    Ok(Some(store))
}
