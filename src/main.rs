//! The `yibao` binary: parse the command line, install the diagnostic renderer, dispatch to one
//! command, and turn the outcome into the exit code cron and scripts act on.

mod cli;
mod cmd;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    yibao::memory::tune_allocator();
    let cli = cli::Cli::parse();
    install_miette_hook();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(report) if report.downcast_ref::<cmd::BrokenPipe>().is_some() => ExitCode::SUCCESS,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(cmd::exit_code_of(&report))
        }
    }
}

/// Diagnostics go to stderr, rendered for a person; no hyperlinks so logs stay plain, and no
/// wrapping when stderr is not a terminal, so each message stays on one line for grep.
fn install_miette_hook() {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    // A hook can only be set once; a second attempt failing changes nothing, so it is ignored.
    let _ = miette::set_hook(Box::new(move |_| {
        let opts = miette::MietteHandlerOpts::new()
            .terminal_links(false)
            .context_lines(2);
        Box::new(if terminal { opts } else { opts.width(1000) }.build())
    }));
}
