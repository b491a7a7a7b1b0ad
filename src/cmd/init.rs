//! `yibao init DIR [--sample]`: scaffold a workspace, or copy the demo workspace.

use std::path::Path;
use std::process::ExitCode;

use yibao::workspace::{template, Workspace, CONFIG_FILE};

use super::{print, Ctx};
use crate::cli::InitArgs;

/// Run the command.
pub fn run(ctx: &Ctx, args: InitArgs) -> miette::Result<ExitCode> {
    let dir = &args.dir;
    if dir.join(CONFIG_FILE).exists() {
        return Err(miette::miette!(
            code = "yibao::init::exists",
            help = "choose another folder, or edit the existing yibao.toml",
            "{} already holds a workspace ({CONFIG_FILE} exists); nothing was changed",
            dir.display()
        ));
    }
    if args.sample {
        let summary = yibao::samples::demo::demo(dir)?;
        Workspace::load(dir)?;
        if !ctx.quiet {
            print(&format!(
                "created the demo workspace {}: two coordination areas (盐城市 GBK CSV, 苏州市 xlsx), {} settlements, {} fee details, catalogs and crosswalks of five families\nnext: yibao --workspace {} run\n",
                dir.display(),
                summary.settlements,
                summary.fee_details,
                dir.display()
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let io = |e: std::io::Error, p: &Path| {
        miette::miette!(
            code = "yibao::io::write",
            "cannot write {}: {e}",
            p.display()
        )
    };
    for sub in ["data", "mappings", "quality-rules", "out"] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).map_err(|e| io(e, &p))?;
    }
    let config = dir.join(CONFIG_FILE);
    std::fs::write(&config, template::YIBAO_TOML).map_err(|e| io(e, &config))?;
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        std::fs::write(&gitignore, ".yibao/\nout/\n").map_err(|e| io(e, &gitignore))?;
    }
    // The template must always load: check it as a user's next command would.
    Workspace::load(dir)?;
    if !ctx.quiet {
        print(&format!(
            "created workspace {}\n  {CONFIG_FILE}   edit areas, datasets and column mappings\n  data/        put the legacy exports here\n  mappings/    crosswalks, one CSV per area and family\n  quality-rules/  your own rule packs (the national pack is built in)\nnext: yibao --workspace {} profile settlements\n",
            dir.display(),
            dir.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
