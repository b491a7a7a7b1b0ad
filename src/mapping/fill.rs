//! Filling fields the source leaves empty (`[datasets.fill]`, docs/WORKSPACE.md "Filling
//! fields"): a national message needs fields a legacy export often lacks — a fee line's
//! `med_type` is its settlement's, its department and doctor names are in the hospital's
//! dictionaries — so a field is filled from a constant or looked up in another dataset, where
//! the record's own value is empty. The filled records are what the rules check and what the
//! batches carry, so a record whose lookup finds nothing is as incomplete as its source.
//!
//! A lookup holds the other dataset's pairs in memory, as a 64-bit digest of the matched value
//! and the index of the taken one among its distinct values: 16 bytes or so per record of the
//! other dataset (a million settlements, about 16 MB), however many records are filled from it.
//! A matched value that appears with two different taken values fills nothing (which one the
//! source meant is not known).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use polars::prelude::*;

use crate::workspace::{Dataset, FillSource};

/// No single value: the matched value appears with different ones.
const AMBIGUOUS: u32 = u32::MAX;

/// The pairs of one lookup: matched value -> taken value.
#[derive(Debug)]
pub struct Lookup {
    hasher: RandomState,
    index: HashMap<u64, u32>,
    values: Vec<String>,
}

impl Lookup {
    /// A lookup from (matched, taken) pairs; empty ones are left out.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Lookup {
        let hasher = RandomState::new();
        let mut index: HashMap<u64, u32> = HashMap::new();
        let mut values: Vec<String> = Vec::new();
        let mut interned: HashMap<String, u32> = HashMap::new();
        for (k, v) in pairs {
            let (Some(k), Some(v)) = (k, v) else { continue };
            if k.is_empty() || v.is_empty() {
                continue;
            }
            let vi = match interned.get(v) {
                Some(&i) => i,
                None => {
                    let i = values.len() as u32;
                    values.push(v.to_string());
                    interned.insert(v.to_string(), i);
                    i
                }
            };
            let entry = index.entry(hasher.hash_one(k)).or_insert(vi);
            if *entry != vi {
                *entry = AMBIGUOUS;
            }
        }
        Lookup {
            hasher,
            index,
            values,
        }
    }

    /// The value taken for `key`, when there is exactly one.
    pub fn get(&self, key: &str) -> Option<&str> {
        match self.index.get(&self.hasher.hash_one(key)) {
            Some(&AMBIGUOUS) | None => None,
            Some(&i) => Some(self.values[i as usize].as_str()),
        }
    }

    /// Distinct matched values held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when nothing can be looked up.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// The lookups of a workspace's fills, by (dataset filled from, matched field, taken field).
#[derive(Debug, Default, Clone)]
pub struct Lookups(HashMap<(String, String, String), Arc<Lookup>>);

impl Lookups {
    /// The lookups `ds`'s fills need that are not built yet: (from, matching, take).
    pub fn needed(&self, ds: &Dataset) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for f in &ds.fill {
            if let FillSource::Lookup {
                from,
                matching,
                take,
                ..
            } = &f.source
            {
                let k = (from.clone(), matching.clone(), take.clone());
                if !self.0.contains_key(&k) && !out.contains(&k) {
                    out.push(k);
                }
            }
        }
        out
    }

    /// Build the lookup of `take` by `matching` from the other dataset's frame (its crosswalks
    /// applied); a field the frame lacks gives an empty lookup.
    pub fn build(
        &mut self,
        (from, matching, take): (String, String, String),
        frame: LazyFrame,
    ) -> PolarsResult<()> {
        let schema = frame.clone().collect_schema()?;
        let lookup = if schema.contains(&matching) && schema.contains(&take) {
            let df = frame
                .select([
                    col(matching.as_str()).cast(DataType::String),
                    col(take.as_str()).cast(DataType::String),
                ])
                .collect()?;
            let k = df.columns()[0].str()?;
            let v = df.columns()[1].str()?;
            Lookup::new(k.iter().zip(v.iter()))
        } else {
            Lookup::new(std::iter::empty())
        };
        self.0.insert((from, matching, take), Arc::new(lookup));
        Ok(())
    }

    fn get(&self, from: &str, matching: &str, take: &str) -> Option<Arc<Lookup>> {
        self.0
            .get(&(from.to_string(), matching.to_string(), take.to_string()))
            .cloned()
    }
}

/// `frame` with `ds`'s fills applied: each filled field keeps its own value where it has one
/// and takes the filled one where it is empty or missing.
pub fn fill(frame: LazyFrame, ds: &Dataset, lookups: &Lookups) -> PolarsResult<LazyFrame> {
    if ds.fill.is_empty() {
        return Ok(frame);
    }
    let mut frame = frame;
    let schema = frame.collect_schema()?;
    let mut exprs = Vec::new();
    for f in &ds.fill {
        let filled = match &f.source {
            FillSource::Value(v) => lit(v.clone()),
            FillSource::Lookup {
                from,
                by,
                matching,
                take,
            } => {
                let Some(lookup) = lookups.get(from, matching, take) else {
                    continue;
                };
                if !schema.contains(by) {
                    continue;
                }
                col(by.as_str()).cast(DataType::String).map(
                    move |c: Column| {
                        let s = c.as_materialized_series().str()?.clone();
                        let out: StringChunked =
                            s.iter().map(|k| k.and_then(|k| lookup.get(k))).collect();
                        Ok(out.with_name(s.name().clone()).into_column())
                    },
                    |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
                )
            }
        };
        let name = f.field.as_str();
        let expr = if schema.contains(name) {
            let own = col(name).cast(DataType::String);
            when(own.clone().is_null().or(own.clone().eq(lit(""))))
                .then(filled)
                .otherwise(own)
        } else {
            filled
        };
        exprs.push(expr.alias(name));
    }
    Ok(frame.with_columns(exprs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_given_two_ways_fills_nothing() {
        let l = Lookup::new([
            (Some("S1"), Some("21")),
            (Some("S2"), Some("11")),
            (Some("S1"), Some("21")),
            (Some("S3"), Some("21")),
            (Some("S3"), Some("11")),
            (Some(""), Some("99")),
            (None, Some("99")),
        ]);
        assert_eq!(l.get("S1"), Some("21"));
        assert_eq!(l.get("S2"), Some("11"));
        assert_eq!(l.get("S3"), None);
        assert_eq!(l.get(""), None);
        assert_eq!(l.get("S4"), None);
        assert_eq!(l.len(), 3);
    }
}
