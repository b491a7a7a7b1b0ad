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
use crate::codes::Kind;
use crate::workspace::{did_you_mean, field_type, ConfigError, DatasetKind, FieldType};

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
    #[serde(default)]
    coded_fields: Option<Spanned<RawCodedFields>>,
}

/// `[coded_fields]`: every field of the listed kinds that the field table
/// (`workspace::field_type`) types as a code is checked as that code, one rule per field,
/// unless a rule of the pack already checks it as a code or `except` names it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCodedFields {
    /// Prefix of the rules' ids: `<id>.<kind>.<field>`.
    id: String,
    severity: Severity,
    datasets: Vec<DatasetKind>,
    /// `<kind>.<field>` left to rules written by hand (e.g. an expression).
    #[serde(default)]
    except: Vec<String>,
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
    if let Some(c) = raw.coded_fields {
        let span = c.span();
        let c = c.into_inner();
        let line = text[..span.start].matches('\n').count() + 1;
        let origin = format!("{}:{line}", path.display());
        for r in coded_field_rules(&c, &rules, &raw.pack.name, &origin) {
            if !ids.insert(r.id.clone()) {
                err(
                    span.clone(),
                    format!("rule id `{}` is used twice", r.id),
                    "made here",
                    None,
                );
            }
            rules.push(r);
        }
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

/// A well-formed code of a kind and one that is not, for a generated rule's examples.
fn examples(kind: Kind) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        Kind::Diagnosis => ("J18.900", "J18"),
        Kind::Procedure => ("99.2503", "93.351699999999994"),
        Kind::Institution => ("H32090000001", "H3209"),
        Kind::Pharmacy => ("P32090000001", "P3209"),
        Kind::Doctor => ("D320900000001", "1023"),
        Kind::Nurse => ("N371003004401", "D371072007682"),
        Kind::AdminArea => ("320900", "32090"),
        Kind::ResidentId => ("11010519491231002X", "110105194912310021"),
        Kind::CreditCode => ("91350200776049653A", "91350203M0001QAY9B"),
        Kind::DrugStandardCode => ("86900483000019", "86900483000018"),
        Kind::ApprovalNumber => ("国药准字H20067255", "H20067255"),
        Kind::Service | Kind::Drug | Kind::Consumable | Kind::DeviceRegistration => return None,
    })
}

/// The rules `[coded_fields]` stands for: per listed kind, per field the field table types as a
/// code (`national-code`, the check digit for the three kinds that have one), skipping fields
/// a rule of the pack checks as a code already and those `except` names.
fn coded_field_rules(c: &RawCodedFields, rules: &[Rule], pack: &str, origin: &str) -> Vec<Rule> {
    let checked = |kind: DatasetKind, field: &str| {
        rules.iter().any(|r| {
            r.datasets.contains(&kind)
                && match &r.kind {
                    RuleKind::NationalCode { field: f, .. }
                    | RuleKind::CheckDigit { field: f, .. } => f == field,
                    _ => false,
                }
        })
    };
    let mut out = Vec::new();
    for &kind in &c.datasets {
        for field in kind.fields() {
            if checked(kind, field) || c.except.iter().any(|e| *e == format!("{kind}.{field}")) {
                continue;
            }
            let date_field = crate::mapping::apply::date_field(kind)
                .filter(|d| kind.fields().any(|f| f == *d))
                .map(str::to_string);
            let (rule_kind, what, (good, bad)) = match field_type(field) {
                FieldType::Code(
                    k @ (Kind::ResidentId | Kind::CreditCode | Kind::DrugStandardCode),
                ) => {
                    let Some(e) = examples(k) else { continue };
                    (
                        RuleKind::CheckDigit {
                            field: field.to_string(),
                            scheme: k,
                        },
                        k.title_zh(),
                        e,
                    )
                }
                FieldType::Code(k) => {
                    let Some(e) = examples(k) else { continue };
                    let dated = matches!(k, Kind::Diagnosis | Kind::Procedure);
                    (
                        RuleKind::NationalCode {
                            field: field.to_string(),
                            family: k.as_str().to_string(),
                            present: None,
                            date_field: if dated { date_field.clone() } else { None },
                        },
                        k.title_zh(),
                        e,
                    )
                }
                FieldType::CatalogCode => (
                    RuleKind::NationalCode {
                        field: field.to_string(),
                        family: "catalog".to_string(),
                        present: None,
                        date_field: date_field.clone(),
                    },
                    "医保目录编码",
                    ("XA01ABD075A002010100483", "XJ01CAA04501010113"),
                ),
                _ => continue,
            };
            let example = |v: &str| -> Row { vec![(field.to_string(), v.to_string())] };
            out.push(Rule {
                id: format!("{}.{kind}.{field}", c.id),
                pack: pack.to_string(),
                title: format!("【{field}】不符合{what}"),
                title_en: format!(
                    "{field} is not a well-formed {} code",
                    rule_kind_family(&rule_kind)
                ),
                dimension: Dimension::Validity,
                severity: c.severity,
                datasets: vec![kind],
                when: None,
                kind: rule_kind,
                pass: vec![example(good), example("")],
                fail: vec![example(bad)],
                other: Vec::new(),
                codes: Vec::new(),
                origin: origin.to_string(),
            });
        }
    }
    out
}

fn rule_kind_family(k: &RuleKind) -> String {
    match k {
        RuleKind::NationalCode { family, .. } => family.clone(),
        RuleKind::CheckDigit { scheme, .. } => scheme.as_str().to_string(),
        _ => String::new(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const PACK: &str = r#"
[pack]
name = "p"
version = "1"

[coded_fields]
id = "code"
severity = "error"
datasets = ["fee-detail", "operation"]
except = ["operation.fixmedins_code"]

[[rule]]
id = "fee.bilg_dr_codg.national-code"
title = "t"
dimension = "validity"
severity = "warning"
datasets = ["fee-detail"]
kind = "national-code"
field = "bilg_dr_codg"
family = "doctor"
"#;

    #[test]
    fn coded_fields_become_one_rule_per_field_not_already_checked() {
        let pack = parse(Path::new("p.toml"), PACK).unwrap();
        let ids: Vec<&str> = pack.rules.iter().map(|r| r.id.as_str()).collect();
        // Fee lines: every field typed as a code but the doctor code, which has its own rule.
        for id in [
            "code.fee-detail.med_list_codg",
            "code.fee-detail.hilist_code",
            "code.fee-detail.orders_dr_code",
            "code.fee-detail.etip_hosp_code",
            "code.fee-detail.fixmedins_code",
            "code.fee-detail.insu_admdvs",
            "code.fee-detail.oprn_oprt_code",
            "code.fee-detail.dise_codg",
            "code.operation.oprn_oprt_code",
            "code.operation.oper_dr_code",
            "code.operation.anst_dr_code",
        ] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        assert!(!ids.contains(&"code.fee-detail.bilg_dr_codg"), "{ids:?}");
        assert!(!ids.contains(&"code.operation.fixmedins_code"), "{ids:?}");
        assert_eq!(ids.len(), 12, "{ids:?}");
        let dise = pack
            .rules
            .iter()
            .find(|r| r.id == "code.fee-detail.dise_codg")
            .unwrap();
        assert_eq!(
            dise.kind,
            RuleKind::NationalCode {
                field: "dise_codg".into(),
                family: "diagnosis".into(),
                present: None,
                date_field: Some("fee_ocur_time".into()),
            }
        );
        assert_eq!(dise.severity, Severity::Error);
        assert_eq!(
            dise.fail,
            vec![vec![("dise_codg".to_string(), "J18".to_string())]]
        );
    }
}
