//! `yibao codes explain`: what a code is, segment by segment, and what the loaded national
//! tables say of it. Exit 2 when any code is malformed, not well-formed as written, or unknown.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;
use yibao::codes::{detect, Certainty, Detection, Family, Malformed, Parsed};
use yibao::store::{CodeSet, Lookup, Store};

use super::{family_arg, print, print_json, Ctx};
use crate::cli::CodesExplainArgs;

/// What the loaded tables say of one parsed code.
#[derive(Debug, Serialize)]
struct TableStatus {
    family: Family,
    /// `current`, `retired` or `absent` (in no loaded version).
    status: &'static str,
    /// The newest version holding the code.
    version: Option<String>,
    /// Its name there.
    name: Option<String>,
    /// The newest loaded version of the family.
    latest_version: String,
    /// Every version holding the code.
    versions: Vec<Lookup>,
}

/// One code's explanation, as printed in JSON.
#[derive(Debug, Serialize)]
struct Explained {
    input: String,
    well_formed: bool,
    #[serde(flatten)]
    detection: Detection,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tables: Vec<TableStatus>,
}

/// Run the command.
pub fn run(ctx: &Ctx, args: CodesExplainArgs) -> miette::Result<ExitCode> {
    let forced = args.family.as_deref().map(family_arg).transpose()?;
    let store = Store::open_existing(&ctx.workspace)?;
    let mut results = Vec::new();
    for code in &args.codes {
        let detection = match forced {
            Some(family) => match family.parse(code) {
                Ok(parsed) => Detection::Unique { parsed },
                Err(m) => Detection::Malformed { reasons: vec![m] },
            },
            None => detect(code),
        };
        let well_formed = match &detection {
            Detection::Unique { parsed } => parsed.is_well_formed(),
            Detection::Ambiguous { candidates } => candidates.iter().all(Parsed::is_well_formed),
            Detection::Malformed { .. } | Detection::Unknown => false,
        };
        let parses: Vec<&Parsed> = match &detection {
            Detection::Unique { parsed } => vec![parsed],
            Detection::Ambiguous { candidates } => candidates.iter().collect(),
            _ => Vec::new(),
        };
        let mut tables = Vec::new();
        if let Some(store) = &store {
            for parsed in parses {
                let Some(family) = parsed.kind.family() else {
                    continue;
                };
                let sets = store.code_sets(family)?;
                if let Some(status) = table_status(store, family, &sets, &parsed.canonical)? {
                    tables.push(status);
                }
            }
        }
        results.push(Explained {
            input: code.clone(),
            well_formed,
            detection,
            tables,
        });
    }
    if ctx.json {
        print_json(&results)?;
    } else {
        let mut text = String::new();
        for r in &results {
            render(&mut text, r);
        }
        print(&text)?;
    }
    Ok(if results.iter().all(|r| r.well_formed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn table_status(
    store: &Store,
    family: Family,
    sets: &[CodeSet],
    code: &str,
) -> miette::Result<Option<TableStatus>> {
    let Some(latest) = sets.last() else {
        return Ok(None);
    };
    let versions = store.lookup(family, code)?;
    let newest = versions.last();
    let status = match newest {
        None => "absent",
        Some(l) if l.version == latest.version && !l.retired => "current",
        Some(_) => "retired",
    };
    Ok(Some(TableStatus {
        family,
        status,
        version: newest.map(|l| l.version.clone()),
        name: newest.map(|l| l.name.clone()),
        latest_version: latest.version.clone(),
        versions,
    }))
}

fn render(out: &mut String, r: &Explained) {
    match &r.detection {
        Detection::Unique { parsed } => render_parsed(out, parsed),
        Detection::Ambiguous { candidates } => {
            let kinds: Vec<&str> = candidates.iter().map(|p| p.kind.as_str()).collect();
            let _ = writeln!(
                out,
                "{}  ambiguous: parses as {} — pass --family to choose",
                r.input,
                kinds.join(" or ")
            );
            for parsed in candidates {
                render_parsed(out, parsed);
            }
        }
        Detection::Malformed { reasons } => {
            let _ = writeln!(out, "{}  NOT a valid code", r.input);
            for m in reasons {
                render_malformed(out, m);
            }
        }
        Detection::Unknown => {
            let _ = writeln!(
                out,
                "{}  unknown: not the shape of any national code or identifier yibao knows",
                r.input
            );
        }
    }
    for t in &r.tables {
        let _ = match t.status {
            "current" => writeln!(
                out,
                "  table: {} — {} (current in {} {})",
                t.version.as_deref().unwrap_or(""),
                t.name.as_deref().unwrap_or(""),
                t.family,
                t.latest_version
            ),
            "retired" => writeln!(
                out,
                "  table: RETIRED — last in {} {} as {}; not current in {}",
                t.family,
                t.version.as_deref().unwrap_or(""),
                t.name.as_deref().unwrap_or(""),
                t.latest_version
            ),
            _ => writeln!(
                out,
                "  table: ABSENT — in no loaded {} version (latest {})",
                t.family, t.latest_version
            ),
        };
    }
    out.push('\n');
}

fn render_parsed(out: &mut String, p: &Parsed) {
    let verdict = if p.is_well_formed() {
        "well-formed".to_string()
    } else {
        let why: Vec<&str> = p.flags.iter().map(|f| f.message.as_str()).collect();
        format!(
            "NOT well-formed as written ({}); canonical form {}",
            why.join("; "),
            p.canonical
        )
    };
    let _ = writeln!(
        out,
        "{}  {} ({}), {}: {}",
        p.input,
        p.kind,
        p.kind.title_zh(),
        p.form,
        verdict
    );
    let width = p
        .segments
        .iter()
        .map(|s| s.text.chars().count())
        .max()
        .unwrap_or(0);
    for s in &p.segments {
        let certainty = match s.certainty {
            Certainty::Verified => "",
            Certainty::Inferred => "  [inferred]",
            Certainty::Unverified => "  [unverified]",
        };
        let pad = width.saturating_sub(s.text.chars().count());
        let _ = writeln!(
            out,
            "  {}{}  {} {}{}{}",
            s.text,
            " ".repeat(pad),
            s.name_zh,
            s.name_en,
            s.meaning
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default(),
            certainty
        );
    }
}

fn render_malformed(out: &mut String, m: &Malformed) {
    let _ = write!(out, "  as {} ({}): ", m.kind, m.kind.title_zh());
    if let Some(segment) = &m.segment {
        let _ = write!(out, "{segment}: ");
    }
    let _ = write!(out, "{}", m.reason);
    if let Some(s) = &m.suggestion {
        let _ = write!(out, " — did you mean {s}?");
    }
    out.push('\n');
}
