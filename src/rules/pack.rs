//! Rule packs: `quality-rules/<name>.toml` parsed with spans, so every mistake names the file and
//! line; validated (ids unique, fields known for the rule's dataset kinds, regexes and SQL that
//! parse, dictionaries that exist). The built-in packs are compiled into the binary.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use super::{Dimension, Row, Rule, RuleKind, Severity};
use crate::workspace::{did_you_mean, ConfigError, DatasetKind};

/// The packs compiled into yibao: (name, file name, text).
pub const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "national",
        "quality-rules/national.toml",
        include_str!("../../quality-rules/national.toml"),
    ),
    (
        "conformance",
        "quality-rules/conformance.toml",
        include_str!("../../quality-rules/conformance.toml"),
    ),
];

/// A loaded, validated pack.
#[derive(Debug, Clone)]
pub struct Pack {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What it is for.
    pub title: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// Named value sets.
    pub dictionaries: BTreeMap<String, Vec<String>>,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// Every mistake found in one pack file.
#[derive(Debug, Error, Diagnostic)]
#[error("{} in rule pack {}", if .errors.len() == 1 { "1 mistake".to_string() } else { format!("{} mistakes", .errors.len()) }, .path.display())]
#[diagnostic(
    code(yibao::rules::pack),
    help("fix the rule pack and run again; format: docs/RULES.md")
)]
pub struct PackError {
    /// The file.
    pub path: PathBuf,
    /// The mistakes, in file order.
    #[related]
    pub errors: Vec<ConfigError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    pack: RawMeta,
    #[serde(default)]
    dictionaries: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
    version: String,
    #[serde(default)]
    title: String,
}

#[derive(Deserialize)]
struct RawRule {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    title_en: String,
    dimension: Dimension,
    severity: Severity,
    datasets: Spanned<Vec<DatasetKind>>,
    #[serde(default)]
    when: Option<Spanned<String>>,
    #[serde(default)]
    pass: Vec<toml::Table>,
    #[serde(default)]
    fail: Vec<toml::Table>,
    #[serde(default)]
    other: Vec<toml::Table>,
    #[serde(default)]
    codes: Vec<ExampleCode>,
    #[serde(flatten)]
    kind: RuleKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleCode {
    code: String,
    #[serde(default)]
    name: String,
}

/// Parse a pack's text; `path` names it in messages.
pub fn parse(path: &Path, text: &str) -> Result<Pack, PackError> {
    let fail = |errors| PackError {
        path: path.to_path_buf(),
        errors,
    };
    let raw: RawPack =
        toml::from_str(text).map_err(|e| fail(vec![ConfigError::from_toml(path, text, &e)]))?;
    let mut errors = Vec::new();
    let mut err = |span: Range<usize>, message: String, label: &str, help: Option<String>| {
        errors.push(ConfigError::at(path, text, span, message, label, help));
    };
    let mut ids = HashSet::new();
    let mut rules = Vec::new();
    for spanned in raw.rule {
        let span = spanned.span();
        let r = spanned.into_inner();
        let id = r.id.get_ref().clone();
        if !ids.insert(id.clone()) {
            err(
                r.id.span(),
                format!("rule id `{id}` is used twice"),
                "again here",
                None,
            );
        }
        if r.datasets.get_ref().is_empty() {
            err(
                r.datasets.span(),
                format!("rule `{id}` applies to no dataset kind"),
                "empty",
                Some(kinds_help()),
            );
        }
        for field in r.kind.fields() {
            check_field(&mut err, span.clone(), &id, field, r.datasets.get_ref());
        }
        if let Err(m) = check_kind(&r.kind, &raw.dictionaries) {
            err(
                span.clone(),
                format!("rule `{id}`: {m}"),
                "in this rule",
                None,
            );
        }
        if let Some(w) = &r.when {
            match polars::sql::sql_expr(w.get_ref()) {
                Err(e) => err(
                    w.span(),
                    format!("rule `{id}`: `when` is not a SQL expression: {e}"),
                    "here",
                    None,
                ),
                Ok(e) => {
                    for field in sql_fields(&e) {
                        check_field(&mut err, w.span(), &id, &field, r.datasets.get_ref());
                    }
                }
            }
        }
        // The fields SQL reads are fields too: a misspelled one would skip the rule everywhere.
        let sql_text = match &r.kind {
            RuleKind::CrossField { then, .. } => Some(then),
            RuleKind::Expression { expr } => Some(expr),
            _ => None,
        };
        if let Some(e) = sql_text.and_then(|t| polars::sql::sql_expr(t).ok()) {
            for field in sql_fields(&e) {
                check_field(&mut err, span.clone(), &id, &field, r.datasets.get_ref());
            }
        }
        let line = text[..span.start].matches('\n').count() + 1;
        let rows = |t: Vec<toml::Table>| t.into_iter().map(row).collect::<Vec<Row>>();
        rules.push(Rule {
            id,
            pack: raw.pack.name.clone(),
            title: r.title,
            title_en: r.title_en,
            dimension: r.dimension,
            severity: r.severity,
            datasets: r.datasets.into_inner(),
            when: r.when.map(Spanned::into_inner),
            kind: r.kind,
            pass: rows(r.pass),
            fail: rows(r.fail),
            other: rows(r.other),
            codes: r.codes.into_iter().map(|c| (c.code, c.name)).collect(),
            origin: format!("{}:{line}", path.display()),
        });
    }
    if !errors.is_empty() {
        return Err(fail(errors));
    }
    Ok(Pack {
        name: raw.pack.name,
        version: raw.pack.version,
        title: raw.pack.title,
        path: path.to_path_buf(),
        dictionaries: raw.dictionaries,
        rules,
    })
}

/// The columns a SQL expression reads.
fn sql_fields(e: &polars::prelude::Expr) -> Vec<String> {
    let mut names: Vec<String> = e
        .clone()
        .meta()
        .root_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn kinds_help() -> String {
    let names: Vec<&str> = DatasetKind::ALL.iter().map(|k| k.as_str()).collect();
    format!("dataset kinds: {}", names.join(", "))
}

fn check_field(
    err: &mut impl FnMut(Range<usize>, String, &str, Option<String>),
    span: Range<usize>,
    id: &str,
    field: &str,
    kinds: &[DatasetKind],
) {
    // What every reader adds to a record (docs/WORKSPACE.md) is there for rules to read too.
    let reader_column = matches!(field, "_file" | "_sheet" | "_row" | "_defect" | "_raw");
    if reader_column || field.starts_with("_map_") || kinds.iter().any(|k| k.allows(field)) {
        return;
    }
    let mut known: Vec<&str> = kinds.iter().flat_map(|k| k.fields()).collect();
    known.sort_unstable();
    known.dedup();
    err(
        span,
        format!(
            "rule `{id}`: `{field}` is not a field of {}",
            kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        "in this rule",
        did_you_mean(field, &known)
            .or_else(|| Some("fields are the national field names of docs/WORKSPACE.md".into())),
    );
}

/// Checks a kind's own settings: regexes and SQL that parse, dictionaries that exist, bounds.
fn check_kind(kind: &RuleKind, dictionaries: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
    match kind {
        RuleKind::Pattern { regex, .. } => regex::Regex::new(regex)
            .map(|_| ())
            .map_err(|e| format!("`regex` does not parse: {e}")),
        RuleKind::Allowed {
            values, dictionary, ..
        } => match dictionary {
            Some(d) if !dictionaries.contains_key(d) => Err(format!(
                "dictionary `{d}` is not in the pack's [dictionaries] ({})",
                dictionaries.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
            None if values.is_empty() => {
                Err("give `values = [...]` or `dictionary = \"...\"`".into())
            }
            _ => Ok(()),
        },
        RuleKind::NationalCode { family, .. } | RuleKind::NameAgrees { family, .. } => super::codebook::Target::parse(family)
            .map(|_| ())
            .ok_or_else(|| {
                format!("unknown code family `{family}`; families: diagnosis, procedure, service, drug, consumable, catalog, or an identifier kind (doctor, nurse, institution, pharmacy, admin-area, resident-id, credit-code, drug-standard-code, approval-number)")
            }),
        RuleKind::CheckDigit { scheme, .. } => match scheme {
            crate::codes::Kind::ResidentId
            | crate::codes::Kind::CreditCode
            | crate::codes::Kind::DrugStandardCode => Ok(()),
            other => Err(format!(
                "`{}` has no check digit; schemes: resident-id, credit-code, drug-standard-code",
                other.as_str()
            )),
        },
        RuleKind::Range { min, max, .. } => {
            for v in [min, max].into_iter().flatten() {
                let ok = v.is_integer()
                    || v.is_float()
                    || v.as_str().is_some_and(|s| {
                        s == "today"
                            || s.parse::<f64>().is_ok()
                            || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
                    });
                if !ok {
                    return Err(format!(
                        "bound {v} is not a number, a YYYY-MM-DD date or \"today\""
                    ));
                }
            }
            if min.is_none() && max.is_none() {
                return Err("give `min`, `max` or both".into());
            }
            Ok(())
        }
        RuleKind::CrossField { then, .. } => polars::sql::sql_expr(then)
            .map(|_| ())
            .map_err(|e| format!("`then` is not a SQL expression: {e}")),
        RuleKind::Expression { expr } => polars::sql::sql_expr(expr)
            .map(|_| ())
            .map_err(|e| format!("`expr` is not a SQL expression: {e}")),
        RuleKind::DateOrder { fields } if fields.len() < 2 => {
            Err("`fields` needs at least two dates".into())
        }
        RuleKind::Required { fields } | RuleKind::Unique { fields, .. } if fields.is_empty() => {
            Err("`fields` is empty".into())
        }
        _ => Ok(()),
    }
}

fn row(t: toml::Table) -> Row {
    t.into_iter()
        .map(|(k, v)| {
            let s = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, s)
        })
        .collect()
}

/// Where a pack named `name` is read from: the workspace's `quality-rules/<name>.toml`, a path
/// to a `.toml` file, or a built-in pack.
pub fn load_pack(root: &Path, name: &str) -> Result<Pack, PackLoadError> {
    let local = root.join("quality-rules").join(format!("{name}.toml"));
    let as_path = root.join(name);
    let path = if local.is_file() {
        Some(local)
    } else if name.ends_with(".toml") && as_path.is_file() {
        Some(as_path)
    } else {
        None
    };
    if let Some(path) = path {
        let text = std::fs::read_to_string(&path).map_err(|source| PackLoadError::Io {
            path: path.clone(),
            source,
        })?;
        return Ok(parse(&path, &text)?);
    }
    match BUILTIN.iter().find(|(n, _, _)| *n == name) {
        Some((_, file, text)) => Ok(parse(Path::new(file), text)?),
        None => Err(PackLoadError::Unknown {
            name: name.to_string(),
            help: format!(
                "built-in packs: {}; or put {name}.toml in {}",
                BUILTIN.iter().map(|b| b.0).collect::<Vec<_>>().join(", "),
                root.join("quality-rules").display()
            ),
        }),
    }
}

/// Load several packs; rule ids must be unique across them.
pub fn load_packs(root: &Path, names: &[String]) -> Result<Vec<Pack>, PackLoadError> {
    let mut packs: Vec<Pack> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for name in names {
        let pack = load_pack(root, name)?;
        for r in &pack.rules {
            if let Some(first) = seen.insert(r.id.clone(), r.origin.clone()) {
                return Err(PackLoadError::Clash {
                    id: r.id.clone(),
                    first,
                    second: r.origin.clone(),
                });
            }
        }
        packs.push(pack);
    }
    Ok(packs)
}

/// A pack that could not be loaded.
#[derive(Debug, Error, Diagnostic)]
pub enum PackLoadError {
    /// The file has mistakes.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Pack(#[from] PackError),
    /// No such pack.
    #[error("no rule pack named `{name}`")]
    #[diagnostic(code(yibao::rules::unknown_pack))]
    Unknown {
        /// The name.
        name: String,
        /// Where packs are looked for.
        #[help]
        help: String,
    },
    /// Two packs define the same rule id.
    #[error("rule `{id}` is defined twice: {first} and {second}")]
    #[diagnostic(
        code(yibao::rules::clash),
        help("rule ids must be unique across the packs run together; rename one")
    )]
    Clash {
        /// The id.
        id: String,
        /// Where first.
        first: String,
        /// Where again.
        second: String,
    },
    /// The file could not be read.
    #[error("cannot read {path}")]
    #[diagnostic(code(yibao::io::pack))]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
