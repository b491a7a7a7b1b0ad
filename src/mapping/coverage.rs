//! Mapping coverage (PRODUCT.md): mapped distinct local codes / distinct local codes, and the
//! same weighted by records and by amount, per area and family, with the top unmapped codes.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use serde::Serialize;

use super::apply::map_column;
use crate::workspace::{CodeFamily, Dataset, DatasetKind};

/// Top unmapped codes listed.
const TOP: usize = 10;

/// One local code's weight in the data.
#[derive(Debug, Clone, Default)]
struct CodeWeight {
    name: Option<String>,
    records: u64,
    amount: f64,
    family: Option<String>,
}

/// An unmapped local code and its weight.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Unmapped {
    /// The local code.
    pub code: String,
    /// Its local name, when the data has one.
    pub name: Option<String>,
    /// Records carrying it.
    pub records: u64,
    /// Their amount.
    pub amount: f64,
}

/// Coverage of one area and family.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Coverage {
    /// The area.
    pub area: String,
    /// The family (`catalog` for catalog items no crosswalk claims yet).
    pub family: String,
    /// Distinct local codes.
    pub codes: u64,
    /// Distinct local codes mapped.
    pub codes_mapped: u64,
    /// Records with a local code.
    pub records: u64,
    /// Records whose code is mapped.
    pub records_mapped: u64,
    /// Amount of those records.
    pub amount: f64,
    /// Amount of mapped records.
    pub amount_mapped: f64,
    /// codes_mapped / codes.
    pub coverage: f64,
    /// records_mapped / records.
    pub record_coverage: f64,
    /// amount_mapped / amount.
    pub amount_coverage: f64,
    /// Unmapped codes with the most records.
    pub top_unmapped_by_records: Vec<Unmapped>,
    /// Unmapped codes with the largest amount.
    pub top_unmapped_by_amount: Vec<Unmapped>,
}

/// The amount field of a dataset kind.
pub fn amount_field(kind: DatasetKind) -> Option<&'static str> {
    match kind {
        DatasetKind::FeeDetail => Some("det_item_fee_sumamt"),
        DatasetKind::Settlement => Some("medfee_sumamt"),
        _ => None,
    }
}

/// The name field that goes with a code field.
pub fn name_field(field: &str) -> Option<&'static str> {
    match field {
        "medins_list_codg" => Some("medins_list_name"),
        "fixmedins_hilist_id" => Some("fixmedins_hilist_name"),
        "diag_code" => Some("diag_name"),
        "oprn_oprt_code" => Some("oprn_oprt_name"),
        "dscg_maindiag_code" => Some("dscg_maindiag_name"),
        "dise_no" => Some("dise_name"),
        _ => None,
    }
}

/// Accumulates coverage over datasets.
#[derive(Debug, Default)]
pub struct Tally {
    codes: BTreeMap<(String, String), HashMap<String, (CodeWeight, bool)>>,
}

/// The column of a code field that holds the local code after the crosswalks.
fn local_column(cf: &crate::workspace::CodeField) -> String {
    if cf.national == cf.field {
        format!("{}_local", cf.field)
    } else {
        cf.field.clone()
    }
}

/// The columns of a mapped frame (as produced by `apply`) that the coverage of `ds` reads: a
/// check carries these through its pass so that coverage comes out of the same pass.
pub fn columns(ds: &Dataset, schema: &Schema) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |c: String| {
        if schema.contains(&c) && !out.contains(&c) {
            out.push(c);
        }
    };
    for cf in &ds.codes {
        add(local_column(cf));
        add(map_column(&cf.field));
        if let Some(n) = name_field(&cf.field) {
            add(n.to_string());
        }
    }
    if !ds.codes.is_empty() {
        if let Some(a) = amount_field(ds.kind) {
            add(a.to_string());
        }
    }
    out
}

/// Per code field of `ds` (numbered in `field` by its place in `ds.codes`) and distinct local
/// code of `frame`: its crosswalk family (`family`, null when unmapped), `records`, summed
/// `amount` and first local `name`. A small frame: one row per distinct code.
pub fn group(frame: LazyFrame, ds: &Dataset, schema: &Schema) -> PolarsResult<LazyFrame> {
    let mut parts = Vec::new();
    for (n, cf) in ds.codes.iter().enumerate() {
        let local = local_column(cf);
        if !schema.contains(&local) || !schema.contains(&map_column(&cf.field)) {
            continue;
        }
        let amount = match amount_field(ds.kind).filter(|a| schema.contains(a)) {
            Some(a) => col(a).cast(DataType::Float64).fill_null(lit(0.0)).sum(),
            None => lit(0.0),
        };
        let name = match name_field(&cf.field).filter(|n| schema.contains(n)) {
            Some(n) => col(n).cast(DataType::String).drop_nulls().first(),
            None => lit(NULL).cast(DataType::String),
        };
        parts.push(
            frame
                .clone()
                .filter(col(local.as_str()).is_not_null())
                .group_by_stable([
                    col(local.as_str()).cast(DataType::String).alias("code"),
                    col(map_column(&cf.field).as_str())
                        .cast(DataType::String)
                        .alias("family"),
                ])
                .agg([
                    len().cast(DataType::UInt64).alias("records"),
                    amount.cast(DataType::Float64).alias("amount"),
                    name.alias("name"),
                ])
                .with_column(lit(n as u32).cast(DataType::UInt32).alias("field")),
        );
    }
    if parts.is_empty() {
        return Ok(DataFrame::empty_with_schema(&grouped_schema()).lazy());
    }
    concat(parts, UnionArgs::default())
}

fn grouped_schema() -> Schema {
    Schema::from_iter([
        Field::new("code".into(), DataType::String),
        Field::new("family".into(), DataType::String),
        Field::new("records".into(), DataType::UInt64),
        Field::new("amount".into(), DataType::Float64),
        Field::new("name".into(), DataType::String),
        Field::new("field".into(), DataType::UInt32),
    ])
}

impl Tally {
    /// Add a mapped frame of a dataset (as produced by `apply`), in one more pass over it.
    pub fn add(&mut self, frame: &LazyFrame, ds: &Dataset) -> PolarsResult<()> {
        let schema = frame.clone().collect_schema()?;
        let grouped = crate::profile::collect(group(frame.clone(), ds, &schema)?)?;
        self.absorb(ds, &grouped)
    }

    /// Add what [`group`] gave for a part of a dataset (a batch of a check's pass). Parts must
    /// come in the dataset's order: a code's name is the first one met.
    pub fn absorb(&mut self, ds: &Dataset, grouped: &DataFrame) -> PolarsResult<()> {
        let area = ds.area.clone().unwrap_or_default();
        let fields = grouped.column("field")?.cast(&DataType::UInt32)?;
        let fields = fields.u32()?.clone();
        let codes = grouped.column("code")?.str()?.clone();
        let records = grouped.column("records")?.u64()?.clone();
        let amounts = grouped.column("amount")?.cast(&DataType::Float64)?;
        let amounts = amounts.f64()?.clone();
        let names = grouped.column("name")?.str()?.clone();
        let fams = grouped.column("family")?.cast(&DataType::String)?;
        let fams = fams.str()?.clone();
        for i in 0..grouped.height() {
            let Some(code) = codes.get(i) else { continue };
            let Some(cf) = fields.get(i).and_then(|n| ds.codes.get(n as usize)) else {
                continue;
            };
            let fam = fams.get(i).map(str::to_string);
            let family = match (cf.family, &fam) {
                (_, Some(f)) => f.clone(),
                (CodeFamily::One(f), None) => f.as_str().to_string(),
                (CodeFamily::Catalog, None) => "catalog".to_string(),
            };
            let entry = self
                .codes
                .entry((area.clone(), family))
                .or_default()
                .entry(code.to_string())
                .or_insert_with(|| (CodeWeight::default(), false));
            entry.0.records += records.get(i).unwrap_or(0);
            entry.0.amount += amounts.get(i).unwrap_or(0.0);
            if entry.0.name.is_none() {
                entry.0.name = names.get(i).map(str::to_string);
            }
            entry.0.family = fam.clone().or(entry.0.family.take());
            entry.1 |= fam.is_some();
        }
        Ok(())
    }

    /// Catalog items no crosswalk claims are counted under the family whose hospital catalog
    /// (a `*-catalog` dataset of the same area) lists the code unmapped, so one unmapped drug is
    /// one code of the drug family, not a second one under `catalog`.
    fn rehome_catalog_codes(&mut self) {
        let areas: Vec<String> = self
            .codes
            .keys()
            .filter(|(_, f)| f == "catalog")
            .map(|(a, _)| a.clone())
            .collect();
        for area in areas {
            let Some(mut pending) = self.codes.remove(&(area.clone(), "catalog".to_string()))
            else {
                continue;
            };
            for family in ["drug", "service", "consumable"] {
                let Some(known) = self.codes.get_mut(&(area.clone(), family.to_string())) else {
                    continue;
                };
                // Only codes the family holds unmapped: a code mapped on some records (a
                // condition or a validity window) keeps its other records apart, as before.
                pending.retain(|code, (w, _)| match known.get_mut(code) {
                    Some(k) if !k.1 => {
                        k.0.records += w.records;
                        k.0.amount += w.amount;
                        false
                    }
                    _ => true,
                });
            }
            if !pending.is_empty() {
                self.codes.insert((area, "catalog".to_string()), pending);
            }
        }
    }

    /// The coverage per area and family.
    pub fn finish(mut self) -> Vec<Coverage> {
        self.rehome_catalog_codes();
        let ratio = |a: f64, b: f64| {
            if b == 0.0 {
                1.0
            } else {
                (a / b * 10_000.0).round() / 10_000.0
            }
        };
        self.codes
            .into_iter()
            .map(|((area, family), codes)| {
                let mut c = Coverage {
                    area,
                    family,
                    codes: codes.len() as u64,
                    codes_mapped: 0,
                    records: 0,
                    records_mapped: 0,
                    amount: 0.0,
                    amount_mapped: 0.0,
                    coverage: 0.0,
                    record_coverage: 0.0,
                    amount_coverage: 0.0,
                    top_unmapped_by_records: Vec::new(),
                    top_unmapped_by_amount: Vec::new(),
                };
                let mut unmapped = Vec::new();
                for (code, (w, mapped)) in codes {
                    c.records += w.records;
                    c.amount += w.amount;
                    if mapped {
                        c.codes_mapped += 1;
                        c.records_mapped += w.records;
                        c.amount_mapped += w.amount;
                    } else {
                        unmapped.push(Unmapped {
                            code,
                            name: w.name,
                            records: w.records,
                            amount: (w.amount * 100.0).round() / 100.0,
                        });
                    }
                }
                c.amount = (c.amount * 100.0).round() / 100.0;
                c.amount_mapped = (c.amount_mapped * 100.0).round() / 100.0;
                c.coverage = ratio(c.codes_mapped as f64, c.codes as f64);
                c.record_coverage = ratio(c.records_mapped as f64, c.records as f64);
                c.amount_coverage = ratio(c.amount_mapped, c.amount);
                unmapped.sort_by(|a, b| b.records.cmp(&a.records).then(a.code.cmp(&b.code)));
                c.top_unmapped_by_records = unmapped.iter().take(TOP).cloned().collect();
                unmapped.sort_by(|a, b| b.amount.total_cmp(&a.amount).then(a.code.cmp(&b.code)));
                c.top_unmapped_by_amount = unmapped.into_iter().take(TOP).collect();
                c
            })
            .collect()
    }
}
