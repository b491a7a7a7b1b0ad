//! Applying crosswalks to a dataset's frame: every local-code field declared under
//! `[datasets.codes]` gets its national code, and `_map_<field>` names the family whose approved
//! row matched (missing when unmapped). Unmapped records stay, visible and countable.
//!
//! Plain rows (no condition, no validity window) are a hash join; rows with a condition or a
//! window become a `when … then` chain evaluated first, so a dated or conditional decision wins
//! over a plain one for the same local code.

use polars::prelude::*;

use super::crosswalk::{Clause, Mapping, Op, Status};
use super::load::Crosswalks;
use crate::codes::Family;
use crate::workspace::{CodeField, Dataset, DatasetKind};

/// The field whose date decides which validity window applies.
pub fn date_field(kind: DatasetKind) -> Option<&'static str> {
    match kind {
        DatasetKind::FeeDetail => Some("fee_ocur_time"),
        DatasetKind::Settlement => Some("setl_time"),
        _ => None,
    }
}

/// The column telling which family mapped a field (missing when unmapped).
pub fn map_column(field: &str) -> String {
    format!("_map_{field}")
}

/// Apply the area's crosswalks to every code field of the dataset.
pub fn apply(frame: LazyFrame, ds: &Dataset, crosswalks: &Crosswalks) -> PolarsResult<LazyFrame> {
    let mut frame = frame;
    for cf in &ds.codes {
        frame = apply_field(frame, ds, cf, crosswalks)?;
    }
    Ok(frame)
}

fn apply_field(
    mut frame: LazyFrame,
    ds: &Dataset,
    cf: &CodeField,
    crosswalks: &Crosswalks,
) -> PolarsResult<LazyFrame> {
    let area = ds.area.as_deref().unwrap_or("");
    let mut rows: Vec<(Family, &Mapping)> = Vec::new();
    for family in cf.family.families() {
        if let Some(cw) = crosswalks.get(area, family) {
            rows.extend(
                cw.rows
                    .iter()
                    .filter(|r| r.status == Status::Approved)
                    .map(|r| (family, r)),
            );
        }
    }
    let (complex, plain): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, r)| {
        r.condition.is_some() || r.valid_from.is_some() || r.valid_to.is_some()
    });
    // Plain rows: one per local code (the first family wins when a catalog code is in two).
    let mut seen = std::collections::HashSet::new();
    let plain: Vec<(Family, &Mapping)> = plain
        .into_iter()
        .filter(|(_, r)| seen.insert(r.local_code.clone()))
        .collect();
    let lookup = df!(
        "__lc" => plain.iter().map(|(_, r)| r.local_code.clone()).collect::<Vec<_>>(),
        "__nc" => plain.iter().map(|(_, r)| r.national_code.clone()).collect::<Vec<_>>(),
        "__fam" => plain.iter().map(|(f, _)| f.as_str().to_string()).collect::<Vec<_>>(),
    )?;
    let schema = frame.collect_schema()?;
    let field = cf.field.as_str();
    frame = frame.with_column(col(field).cast(DataType::String)).join(
        lookup.lazy(),
        [col(field)],
        [col("__lc")],
        JoinArgs {
            maintain_order: MaintainOrderJoin::Left,
            ..JoinArgs::new(JoinType::Left)
        },
    );
    let date = date_field(ds.kind).filter(|d| schema.contains(d));
    let mut national = col("__nc");
    let mut family = col("__fam");
    // Built from the last row back, so the first matching row wins.
    for (fam, r) in complex.iter().rev() {
        let cond = row_condition(field, r, date);
        national = when(cond.clone())
            .then(lit(r.national_code.clone()))
            .otherwise(national);
        family = when(cond).then(lit(fam.as_str())).otherwise(family);
    }
    let target = cf.national.as_str();
    let mut exprs = vec![family.alias(map_column(field))];
    if target == field {
        exprs.push(col(field).alias(format!("{field}_local")));
        exprs.push(
            when(national.clone().is_not_null())
                .then(national)
                .otherwise(col(field))
                .alias(field),
        );
    } else if schema.contains(target) {
        exprs.push(
            when(national.clone().is_not_null())
                .then(national)
                .otherwise(col(target))
                .alias(target),
        );
    } else {
        exprs.push(national.alias(target));
    }
    Ok(frame.with_columns(exprs).drop(cols(["__nc", "__fam"])))
}

fn row_condition(field: &str, r: &Mapping, date: Option<&str>) -> Expr {
    let mut cond = col(field).eq(lit(r.local_code.clone()));
    if let Some(d) = date {
        let day = col(d).cast(DataType::String).str().slice(lit(0), lit(10));
        if let Some(from) = r.valid_from {
            cond = cond.and(day.clone().gt_eq(lit(from.to_string())));
        }
        if let Some(to) = r.valid_to {
            cond = cond.and(day.lt_eq(lit(to.to_string())));
        }
    }
    if let Some(c) = &r.condition {
        for clause in &c.0 {
            cond = cond.and(clause_expr(clause));
        }
    }
    cond
}

fn clause_expr(c: &Clause) -> Expr {
    let numeric = c.values.iter().all(|v| v.parse::<f64>().is_ok()) && c.op != Op::In;
    let value = |v: &str| {
        if numeric {
            lit(v.parse::<f64>().unwrap_or(0.0))
        } else {
            lit(v.to_string())
        }
    };
    let field = if numeric {
        col(c.field.as_str()).cast(DataType::Float64)
    } else {
        col(c.field.as_str()).cast(DataType::String)
    };
    let e = match c.op {
        Op::Eq => field.eq(value(&c.values[0])),
        Op::Ne => field.neq(value(&c.values[0])),
        Op::Lt => field.lt(value(&c.values[0])),
        Op::Le => field.lt_eq(value(&c.values[0])),
        Op::Gt => field.gt(value(&c.values[0])),
        Op::Ge => field.gt_eq(value(&c.values[0])),
        Op::In => c
            .values
            .iter()
            .map(|v| field.clone().eq(lit(v.clone())))
            .reduce(|a, b| a.or(b))
            .unwrap_or(lit(false)),
    };
    // A record without the field never matches.
    e.fill_null(lit(false))
}
