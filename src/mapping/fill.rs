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
    /// `values` by value, once there are more than [`LINEAR_VALUES`].
    by_value: HashMap<String, u32>,
}

/// Taken values looked up by a scan; past this many, by a map.
const LINEAR_VALUES: usize = 16;

/// Rows of the other dataset read at once while building a lookup.
const BUILD_ROWS: IdxSize = 1 << 18;

impl Lookup {
    /// A lookup from (matched, taken) pairs; empty ones are left out.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Lookup {
        let mut l = Lookup {
            hasher: RandomState::new(),
            index: HashMap::new(),
            values: Vec::new(),
            by_value: HashMap::new(),
        };
        l.extend(pairs);
        l
    }

    /// Add (matched, taken) pairs.
    pub fn extend<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
    ) {
        for (k, v) in pairs {
            let (Some(k), Some(v)) = (k, v) else { continue };
            if k.is_empty() || v.is_empty() {
                continue;
            }
            // Distinct taken values are mostly few (medical types): a scan until they are not.
            let vi = if self.values.len() < LINEAR_VALUES {
                match self.values.iter().position(|x| x == v) {
                    Some(i) => i as u32,
                    None => {
                        self.values.push(v.to_string());
                        (self.values.len() - 1) as u32
                    }
                }
            } else {
                self.intern(v)
            };
            let entry = self.index.entry(self.hasher.hash_one(k)).or_insert(vi);
            if *entry != vi {
                *entry = AMBIGUOUS;
            }
        }
    }

    /// The index of `v` among many values (names of thousands of doctors).
    fn intern(&mut self, v: &str) -> u32 {
        if self.by_value.is_empty() {
            for (i, x) in self.values.iter().enumerate() {
                self.by_value.insert(x.clone(), i as u32);
            }
        }
        if let Some(&i) = self.by_value.get(v) {
            return i;
        }
        self.values.push(v.to_string());
        let i = (self.values.len() - 1) as u32;
        self.by_value.insert(v.to_string(), i);
        i
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
        let mut lookup = Lookup::new(std::iter::empty());
        if schema.contains(&matching) && schema.contains(&take) {
            // A slice at a time, so the other dataset's two columns are never all in memory.
            let mut offset: i64 = 0;
            loop {
                let df = frame
                    .clone()
                    .slice(offset, BUILD_ROWS)
                    .select([
                        col(matching.as_str()).cast(DataType::String),
                        col(take.as_str()).cast(DataType::String),
                    ])
                    .collect()?;
                let k = df.columns()[0].str()?;
                let v = df.columns()[1].str()?;
                lookup.extend(k.iter().zip(v.iter()));
                if df.height() < BUILD_ROWS as usize {
                    break;
                }
                offset += df.height() as i64;
            }
        }
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
    fn many_values_are_interned_once() {
        let names: Vec<String> = (0..100).map(|i| format!("医生{i}")).collect();
        let keys: Vec<String> = (0..300).map(|i| format!("D{i}")).collect();
        let l = Lookup::new(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (Some(k.as_str()), Some(names[i % 100].as_str()))),
        );
        assert_eq!(l.values.len(), 100);
        assert_eq!(l.get("D0"), Some("医生0"));
        assert_eq!(l.get("D250"), Some("医生50"));
    }

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
