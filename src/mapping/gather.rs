//! What `map suggest` proposes for: the local codes of an area and family that no approved
//! crosswalk row maps yet, with their names, details and how many records carry them.
//!
//! Catalog families come from the area's catalog datasets (`drug-catalog` …) when it has them,
//! else from the local-code fields of its fee details; diagnoses and procedures come from the
//! fields declared with that family under `[datasets.codes]`.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::apply::{apply, map_column};
use super::coverage::name_field;
use super::load::Crosswalks;
use crate::codes::Family;
use crate::source::dataset::{read_dataset, DatasetError};
use crate::workspace::{CodeFamily, Dataset, DatasetKind, Workspace};

/// A local code to propose national codes for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Local {
    /// The code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Spec (规格).
    pub spec: Option<String>,
    /// Dosage form (剂型).
    pub form: Option<String>,
    /// Unit (计价单位).
    pub unit: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// 批准文号.
    pub approval_no: Option<String>,
    /// 药品本位码.
    pub std_code: Option<String>,
    /// Records carrying the code.
    pub records: u64,
}

fn catalog_kind(family: Family) -> Option<DatasetKind> {
    match family {
        Family::Drug => Some(DatasetKind::DrugCatalog),
        Family::Service => Some(DatasetKind::ServiceCatalog),
        Family::Consumable => Some(DatasetKind::ConsumableCatalog),
        _ => None,
    }
}

/// Where in a dataset the local codes of `family` are, with their name and detail fields.
struct Source<'a> {
    ds: &'a Dataset,
    field: String,
    name: Option<&'static str>,
    details: [(&'static str, usize); 6],
}

/// Unmapped local codes of an area and family, most records first.
pub fn unmapped(
    ws: &Workspace,
    area: &str,
    family: Family,
    crosswalks: &Crosswalks,
) -> Result<Vec<Local>, GatherError> {
    let in_area = |d: &&Dataset| d.area.as_deref() == Some(area);
    let mut sources: Vec<Source> = Vec::new();
    // detail slots: spec, form, unit, manufacturer, approval_no, std_code
    let catalog_details = [
        ("spec", 0),
        ("dosform", 1),
        ("prcunt", 2),
        ("manufacturer", 3),
        ("aprvno", 4),
        ("drug_std_code", 5),
    ];
    if let Some(kind) = catalog_kind(family) {
        for ds in ws
            .datasets
            .iter()
            .filter(in_area)
            .filter(|d| d.kind == kind)
        {
            sources.push(Source {
                ds,
                field: "fixmedins_hilist_id".into(),
                name: Some("fixmedins_hilist_name"),
                details: catalog_details,
            });
        }
        if sources.is_empty() {
            for ds in ws.datasets.iter().filter(in_area) {
                for cf in ds.codes.iter().filter(|c| {
                    c.family == CodeFamily::Catalog || c.family == CodeFamily::One(family)
                }) {
                    sources.push(Source {
                        ds,
                        field: cf.field.clone(),
                        name: name_field(&cf.field),
                        details: [
                            ("spec", 0),
                            ("dosform_name", 1),
                            ("prcunt", 2),
                            ("prodname", 3),
                            ("aprvno", 4),
                            ("drug_std_code", 5),
                        ],
                    });
                }
            }
        }
    } else {
        for ds in ws.datasets.iter().filter(in_area) {
            for cf in ds
                .codes
                .iter()
                .filter(|c| c.family == CodeFamily::One(family))
            {
                sources.push(Source {
                    ds,
                    field: cf.field.clone(),
                    name: name_field(&cf.field),
                    details: catalog_details,
                });
            }
        }
    }
    let mut all: BTreeMap<String, Local> = BTreeMap::new();
    for s in sources {
        let read = read_dataset(ws, s.ds, None)?;
        let frame = apply(read.frame.clone(), s.ds, crosswalks)?;
        let schema = frame.clone().collect_schema()?;
        let mapped_col = map_column(&s.field);
        let local_col = if s
            .ds
            .codes
            .iter()
            .any(|c| c.field == s.field && c.national == s.field)
        {
            format!("{}_local", s.field)
        } else {
            s.field.clone()
        };
        let text = |f: &str| -> Expr {
            if schema.contains(f) {
                col(f).cast(DataType::String).drop_nulls().first()
            } else {
                lit(NULL).cast(DataType::String)
            }
        };
        let mut aggs = vec![
            len().cast(DataType::UInt64).alias("records"),
            s.name
                .map_or(lit(NULL).cast(DataType::String), text)
                .alias("name"),
        ];
        for (f, i) in s.details {
            aggs.push(text(f).alias(format!("d{i}")));
        }
        let mut q = frame.filter(col(local_col.as_str()).is_not_null());
        if schema.contains(mapped_col.as_str()) {
            q = q.filter(col(mapped_col.as_str()).is_null());
        }
        let df = crate::profile::collect(
            q.group_by([col(local_col.as_str()).cast(DataType::String).alias("code")])
                .agg(aggs),
        )?;
        let get = |c: &str, i: usize| -> Option<String> {
            df.column(c).ok()?.str().ok()?.get(i).map(str::to_string)
        };
        let records = df.column("records")?.u64()?.clone();
        for i in 0..df.height() {
            let Some(code) = get("code", i) else { continue };
            let e = all.entry(code.clone()).or_insert_with(|| Local {
                code,
                ..Default::default()
            });
            e.records += records.get(i).unwrap_or(0);
            if e.name.is_empty() {
                e.name = get("name", i).unwrap_or_default();
            }
            let fill = |slot: &mut Option<String>, v: Option<String>| {
                if slot.is_none() {
                    *slot = v;
                }
            };
            fill(&mut e.spec, get("d0", i));
            fill(&mut e.form, get("d1", i));
            fill(&mut e.unit, get("d2", i));
            fill(&mut e.manufacturer, get("d3", i));
            fill(&mut e.approval_no, get("d4", i));
            fill(&mut e.std_code, get("d5", i));
        }
    }
    // Codes an approved row already maps (for example a catalog item with no records yet).
    if let Some(cw) = crosswalks.get(area, family) {
        for m in cw
            .rows
            .iter()
            .filter(|m| m.status == super::crosswalk::Status::Approved && m.condition.is_none())
        {
            all.remove(&m.local_code);
        }
    }
    let mut out: Vec<Local> = all.into_values().collect();
    out.sort_by(|a, b| b.records.cmp(&a.records).then(a.code.cmp(&b.code)));
    Ok(out)
}

/// Why local codes could not be gathered.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GatherError {
    /// Reading a dataset failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Dataset(#[from] DatasetError),
    /// polars failed.
    #[error("{0}")]
    #[diagnostic(code(yibao::io::polars))]
    Polars(#[from] PolarsError),
}
