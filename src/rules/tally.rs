//! Figures gathered batch by batch while the streaming engine evaluates a dataset's rules, so
//! that a check holds only the flagged (dirty or warned) records, never one row per record.
//!
//! Every batch adds to the sums of the flag columns and the per-institution records and dirty
//! counts, then leaves behind its flagged rows. Batches arrive in the dataset's order, so the
//! first failing rows of a rule (its samples) are the same as in a full collect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use polars::prelude::*;

/// A dataset pass's running figures.
#[derive(Default)]
pub struct Tally {
    /// Records seen.
    pub records: u64,
    /// True values per counted column, in the order of the names given to [`Tally::add`].
    pub sums: Vec<u64>,
    /// Per institution code (`None` for a record without one): records and dirty records.
    pub institutions: HashMap<Option<String>, (u64, u64)>,
    /// The flagged rows of each batch that had any.
    pub flagged: Vec<DataFrame>,
    /// When set, the clean rows of each batch are kept too (in [`Tally::clean`], until taken),
    /// as these `(copy, field)` columns renamed to the field.
    pub clean_columns: Option<Vec<(String, String)>>,
    /// The clean rows of the batches since last taken.
    pub clean: Vec<DataFrame>,
    /// When set, each batch's `carry` columns go through the grouper, its result kept in
    /// [`Tally::grouped`] until taken.
    pub grouper: Option<(Vec<String>, super::engine::Grouper)>,
    /// The grouper's results since last taken.
    pub grouped: Vec<DataFrame>,
}

impl Tally {
    /// Add one batch. `counted` names the boolean columns to sum; with `inst`, the batch has an
    /// `__inst` column to group by. `__dirty` and `__warn` say which rows are flagged.
    pub fn add(&mut self, batch: DataFrame, counted: &[String], inst: bool) -> PolarsResult<()> {
        self.records += batch.height() as u64;
        self.sums.resize(counted.len(), 0);
        for (sum, name) in self.sums.iter_mut().zip(counted) {
            *sum += batch.column(name)?.bool()?.sum().unwrap_or(0) as u64;
        }
        if inst {
            let g = batch
                .clone()
                .lazy()
                .group_by([col("__inst")])
                .agg([
                    len().cast(DataType::UInt64).alias("records"),
                    col("__dirty").cast(DataType::UInt64).sum().alias("dirty"),
                ])
                .collect()?;
            let codes = g.column("__inst")?.str()?;
            let records = g.column("records")?.u64()?;
            let dirty = g.column("dirty")?.u64()?;
            for i in 0..g.height() {
                let entry = self
                    .institutions
                    .entry(codes.get(i).map(str::to_string))
                    .or_default();
                entry.0 += records.get(i).unwrap_or(0);
                entry.1 += dirty.get(i).unwrap_or(0);
            }
        }
        if let Some((carry, grouper)) = &self.grouper {
            let part = batch.select(carry.iter().map(String::as_str))?;
            let out = grouper(part.lazy())?.collect()?;
            if out.height() > 0 {
                self.grouped.push(out);
            }
        }
        // Same semantics as `col("__dirty").or(col("__warn"))`: a null flag selects nothing.
        let mask = batch.column("__dirty")?.bool()? | batch.column("__warn")?.bool()?;
        if let Some(fields) = &self.clean_columns {
            // Clean: not dirty; a null flag is no failure.
            let dirty = batch
                .column("__dirty")?
                .bool()?
                .fill_null_with_values(false)?;
            let records = batch
                .select(fields.iter().map(|(copy, _)| copy.as_str()))?
                .filter(&!&dirty)?;
            let mut records = compact(records)?;
            for (copy, field) in fields {
                records.rename(copy, field.as_str().into())?;
            }
            if records.height() > 0 {
                self.clean.push(records);
            }
        }
        let hit = batch.filter(&mask)?;
        if hit.height() > 0 {
            self.flagged.push(compact(hit)?);
        }
        Ok(())
    }

    /// The flagged rows as one frame; `schema` shapes it when no batch had any.
    pub fn flagged_frame(&mut self, schema: &Schema) -> PolarsResult<DataFrame> {
        let mut parts = std::mem::take(&mut self.flagged).into_iter();
        let Some(mut out) = parts.next() else {
            return Ok(DataFrame::empty_with_schema(schema));
        };
        for p in parts {
            out.vstack_mut_owned(p)?;
        }
        Ok(out)
    }
}

/// `batch` with its text columns in buffers of their own where that saves memory. A filter
/// keeps only the chosen rows' views but shares the whole batch's string buffers; kept as is, a
/// few flagged rows of every batch would hold the text of every record read. A column whose
/// buffers are mostly its own rows' text (a file name repeated on every row) is left alone.
fn compact(batch: DataFrame) -> PolarsResult<DataFrame> {
    let height = batch.height();
    let columns = batch
        .into_columns()
        .into_iter()
        .map(|c| -> PolarsResult<Column> {
            if c.dtype() != &DataType::String {
                return Ok(c);
            }
            let text = c.str()?;
            let wasteful = text.downcast_iter().any(|a| {
                // Strings of up to 12 bytes live in the views, not the buffers.
                a.total_buffer_len() > 4096 + 2 * a.total_bytes_len()
            });
            if !wasteful {
                return Ok(c);
            }
            let arrays: Vec<_> = text.downcast_iter().map(|a| a.clone().gc()).collect();
            Ok(StringChunked::from_chunk_iter(c.name().clone(), arrays).into_column())
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(height, columns)
}

/// Run `query` with the streaming engine, feeding every batch, in order, to `tally`.
pub fn run(
    tally: &mut Tally,
    query: LazyFrame,
    counted: &[String],
    inst: bool,
) -> PolarsResult<()> {
    let counted = counted.to_vec();
    let state = Arc::new(Mutex::new(std::mem::take(tally)));
    let sink = Arc::clone(&state);
    let callback = PlanCallback::new(move |batch: DataFrame| -> PolarsResult<bool> {
        let mut t = sink
            .lock()
            .map_err(|_| polars_err!(ComputeError: "a rule batch failed earlier"))?;
        t.add(batch, &counted, inst)?;
        // false: keep the batches coming.
        Ok(false)
    });
    query
        .sink_batches(callback, true, None)?
        .collect_with_engine(Engine::Streaming)?;
    let mut t = state
        .lock()
        .map_err(|_| polars_err!(ComputeError: "a rule batch failed"))?;
    *tally = std::mem::take(&mut *t);
    Ok(())
}
