//! Read what `yibao report` shows out of the history: the latest run, the runs of the trend
//! window, the run before the latest, and the records that changed between those two. The view
//! itself is assembled by the pure [`crate::report::trend::build`].

use crate::report::trend::{build, HistoryRows, TrendReport, CHANGE_LIST_LIMIT};
use crate::store::{Store, StoreError};

/// The report of workspace `workspace` over runs started at or after `since` (RFC 3339); `None` when no run is recorded.
pub fn load(
    store: &Store,
    workspace: &str,
    since: &str,
) -> Result<Option<TrendReport>, StoreError> {
    let (Some(latest), previous) = store.latest_runs()? else {
        return Ok(None);
    };
    let mut window = store.runs_since(since)?;
    // The latest run is always in its own trend, however old it is.
    if !window.iter().any(|r| r.id == latest.id) {
        window.push(latest.clone());
    }
    let mut runs = Vec::new();
    for r in window {
        let figures = store.run_figures(r.id)?;
        let coverage = store.run_coverage(r.id)?;
        runs.push((r, figures, coverage));
    }
    let previous_figures = match &previous {
        Some(p) => store.run_figures(p.id)?,
        None => Vec::new(),
    };
    let changes = match &previous {
        Some(p) if store.has_dirty_records(p.id)? => {
            Some(store.record_changes(p.id, latest.id, CHANGE_LIST_LIMIT)?)
        }
        _ => None,
    };
    Ok(Some(build(HistoryRows {
        workspace: workspace.to_string(),
        since: since.to_string(),
        inputs: store.run_inputs(latest.id)?,
        samples: store.run_samples(latest.id)?,
        batches: store.run_batches(latest.id)?,
        latest,
        previous: previous.map(|p| (p, previous_figures)),
        runs,
        changes,
    })))
}
