//! The batch ledger: every batch `yibao batch` emitted and every record key in it, with the
//! record's content hash. The protocol that makes a batch exactly-once (docs/BATCH.md) is in
//! `batch::emit`; this module only offers the transactions it needs, each all-or-nothing.
//!
//! A batch is recorded `pending` with its records in one transaction *before* its file is
//! written; made `done` after the file is in place; or `abandoned` (its records deleted, its
//! number kept so it is never reused) when recovery finds no file.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

/// A batch's state in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchState {
    /// Recorded, file perhaps not yet in place.
    Pending,
    /// File in place.
    Done,
    /// Its file never appeared; its records were released.
    Abandoned,
}

impl BatchState {
    fn as_str(self) -> &'static str {
        match self {
            BatchState::Pending => "pending",
            BatchState::Done => "done",
            BatchState::Abandoned => "abandoned",
        }
    }

    fn parse(s: &str) -> BatchState {
        match s {
            "done" => BatchState::Done,
            "abandoned" => BatchState::Abandoned,
            _ => BatchState::Pending,
        }
    }
}

/// A batch as the ledger knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    /// Row id.
    pub id: i64,
    /// Dataset name (the folder of its file).
    pub dataset: String,
    /// The records' identity beyond the name: `<area>/<kind>` (`batch::stream_of`).
    pub stream: String,
    /// Batch number (the file name's NNNNNN).
    pub number: u64,
    /// The run whose folder holds the file.
    pub run_id: String,
    /// Records in it.
    pub records: u64,
    /// Of which corrections.
    pub corrections: u64,
    /// File size.
    pub bytes: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// Key of the first record.
    pub first_key: String,
    /// Key of the last record.
    pub last_key: String,
    /// State.
    pub state: BatchState,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
}

/// A record as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    /// The record key.
    pub key: String,
    /// SHA-256 of its canonical JSON.
    pub hash: [u8; 32],
    /// Emitted as a correction of an earlier emission.
    pub correction: bool,
}

/// How much of a stream's ledger there is: its `done` batches (up to some batch id), their
/// records, and the highest id among them. The index of `batch::seen` says in these terms what it
/// covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extent {
    /// Highest batch id (0: none).
    pub last: i64,
    /// Done batches.
    pub batches: u64,
    /// Their records.
    pub records: u64,
}

const BATCH_COLUMNS: &str = "id, dataset, number, run_id, records, corrections, bytes, sha256, \
                             first_key, last_key, state, created_at, stream";

fn batch_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchRow> {
    Ok(BatchRow {
        id: r.get(0)?,
        dataset: r.get(1)?,
        number: r.get::<_, i64>(2)? as u64,
        run_id: r.get(3)?,
        records: r.get::<_, i64>(4)? as u64,
        corrections: r.get::<_, i64>(5)? as u64,
        bytes: r.get::<_, i64>(6)? as u64,
        sha256: r.get(7)?,
        first_key: r.get(8)?,
        last_key: r.get(9)?,
        state: BatchState::parse(&r.get::<_, String>(10)?),
        created_at: r.get(11)?,
        stream: r.get(12)?,
    })
}

impl Store {
    /// Make every later commit reach the disk before it returns (`synchronous = FULL`): the
    /// ledger must never forget a batch whose file is already on disk, even on power loss.
    pub fn ledger_durable(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA synchronous = FULL;")
            .map_err(|e| self.err(e))
    }

    /// Batches left `pending` by a run that stopped before finishing them.
    pub fn ledger_pending(&self) -> Result<Vec<BatchRow>, StoreError> {
        self.batches_where("state = 'pending'", params![])
    }

    /// The `done` batches of one run and dataset, by number.
    pub fn ledger_done(&self, run_id: &str, dataset: &str) -> Result<Vec<BatchRow>, StoreError> {
        self.batches_where(
            "state = 'done' AND run_id = ?1 AND dataset = ?2",
            params![run_id, dataset],
        )
    }

    /// The batch of a dataset with that number, in any state.
    pub fn ledger_batch(&self, dataset: &str, number: u64) -> Result<Option<BatchRow>, StoreError> {
        Ok(self
            .batches_where(
                "dataset = ?1 AND number = ?2",
                params![dataset, number as i64],
            )?
            .pop())
    }

    fn batches_where(
        &self,
        filter: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<BatchRow>, StoreError> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM ledger_batches WHERE {filter} ORDER BY dataset, number"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, batch_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The number the next batch of a dataset takes: one past every number ever recorded for
    /// that name or its stream (abandoned ones included), so a file name is never reused and a
    /// renamed dataset goes on counting.
    pub fn ledger_next_number(&self, dataset: &str, stream: &str) -> Result<u64, StoreError> {
        let max: Option<i64> = self
            .conn
            .query_row(
                "SELECT max(number) FROM ledger_batches WHERE dataset = ?1 OR stream = ?2",
                [dataset, stream],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(max.map_or(1, |m| m as u64 + 1))
    }

    /// Give the batches recorded under `dataset` before streams existed the stream that dataset
    /// has now (one transaction; a no-op once done).
    pub fn ledger_adopt(&self, dataset: &str, stream: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE ledger_batches SET stream = ?2 WHERE dataset = ?1 AND stream = ''",
                [dataset, stream],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The other dataset names whose `done` batches carry `stream`: the names a dataset had
    /// before it was renamed (or another dataset of the same area and kind).
    pub fn ledger_other_names(
        &self,
        stream: &str,
        dataset: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT dataset FROM ledger_batches
                 WHERE stream = ?1 AND dataset <> ?2 AND state = 'done' ORDER BY dataset",
            )
            .map_err(|e| self.err(e))?;
        let names = stmt
            .query_map([stream, dataset], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(names)
    }

    /// The stream of a dataset's latest batch, if it has one.
    pub fn ledger_stream_of(&self, dataset: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT stream FROM ledger_batches WHERE dataset = ?1 AND stream <> ''
                 ORDER BY id DESC LIMIT 1",
                [dataset],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every record emitted in a `done` batch of a stream, under whatever dataset name, oldest
    /// first: `each(key, hash)`. A key emitted more than once (corrections) is seen once per
    /// emission, the latest last.
    pub fn ledger_emitted(
        &self,
        stream: &str,
        each: impl FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        self.emitted_where("b.stream = ?1", params![stream], each)
    }

    /// The `done` batches of a stream, all of them or those with an id up to `upto`.
    pub fn ledger_done_extent(
        &self,
        stream: &str,
        upto: Option<i64>,
    ) -> Result<Extent, StoreError> {
        self.conn
            .query_row(
                "SELECT coalesce(max(id), 0), count(*), coalesce(sum(records), 0)
                 FROM ledger_batches WHERE stream = ?1 AND state = 'done' AND id <= ?2",
                params![stream, upto.unwrap_or(i64::MAX)],
                |r| {
                    Ok(Extent {
                        last: r.get(0)?,
                        batches: r.get::<_, i64>(1)? as u64,
                        records: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .map_err(|e| self.err(e))
    }

    /// As `ledger_emitted`, only the batches with an id above `after`.
    pub fn ledger_emitted_after(
        &self,
        stream: &str,
        after: i64,
        each: impl FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        self.emitted_where("b.stream = ?1 AND b.id > ?2", params![stream, after], each)
    }

    /// As `ledger_emitted`, for the batches of `dataset` recorded before streams existed.
    pub fn ledger_emitted_legacy(
        &self,
        dataset: &str,
        each: impl FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        self.emitted_where("b.stream = '' AND b.dataset = ?1", params![dataset], each)
    }

    /// Records of the `done` batches `filter` selects, in emission order (a batch's records
    /// follow each other, batches by id).
    fn emitted_where(
        &self,
        filter: &str,
        params: &[&dyn rusqlite::ToSql],
        mut each: impl FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT r.key, r.hash FROM ledger_batches b
                 JOIN ledger_records r ON r.batch_id = b.id
                 WHERE {filter} AND b.state = 'done' ORDER BY b.id, r.id"
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let key = row.get_ref(0).map_err(|e| self.err(e))?;
            let hash = row.get_ref(1).map_err(|e| self.err(e))?;
            let (Ok(key), Ok(hash)) = (key.as_str(), hash.as_blob()) else {
                continue;
            };
            each(key, hash);
        }
        Ok(())
    }

    /// The records of one batch, in the order they were recorded.
    pub fn ledger_records(&self, batch_id: i64) -> Result<Vec<LedgerRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT key, hash, correction FROM ledger_records WHERE batch_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([batch_id], |r| {
                let blob: Vec<u8> = r.get(1)?;
                let mut hash = [0u8; 32];
                if blob.len() == 32 {
                    hash.copy_from_slice(&blob);
                }
                Ok(LedgerRecord {
                    key: r.get(0)?,
                    hash,
                    correction: r.get::<_, i64>(2)? != 0,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Keys of a stream emitted as new records more than once across `done` batches, under any
    /// dataset name: each must be emitted new once and only corrected afterwards.
    pub fn ledger_duplicates(&self, stream: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.key FROM ledger_records r JOIN ledger_batches b ON b.id = r.batch_id
                 WHERE b.stream = ?1 AND b.state = 'done' AND r.correction = 0
                 GROUP BY r.key HAVING count(*) > 1 ORDER BY r.key",
            )
            .map_err(|e| self.err(e))?;
        let keys = stmt
            .query_map([stream], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(keys)
    }

    /// Record a batch as `pending` with its records, in one transaction; returns its row id.
    /// `batch.id` and `batch.state` are ignored.
    pub fn ledger_begin(
        &mut self,
        batch: &BatchRow,
        records: &[LedgerRecord],
    ) -> Result<i64, StoreError> {
        let sql = super::sqlite_err(&self.path);
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "INSERT INTO ledger_batches (dataset, number, run_id, records, corrections, bytes,
                 sha256, first_key, last_key, state, created_at, stream)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11)",
            params![
                batch.dataset,
                batch.number as i64,
                batch.run_id,
                batch.records as i64,
                batch.corrections as i64,
                batch.bytes as i64,
                batch.sha256,
                batch.first_key,
                batch.last_key,
                batch.created_at,
                batch.stream,
            ],
        )
        .map_err(sql)?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO ledger_records (batch_id, key, hash, correction)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sql)?;
            for r in records {
                stmt.execute(params![id, r.key, &r.hash[..], r.correction as i64])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(id)
    }

    /// Mark a pending batch done: its file is in place.
    pub fn ledger_finish(&self, id: i64) -> Result<(), StoreError> {
        self.set_state(id, BatchState::Done)
    }

    /// Abandon a pending batch whose file never appeared: its records are released (a later
    /// run emits them again) and its number stays taken. One transaction.
    pub fn ledger_abandon(&mut self, id: i64) -> Result<(), StoreError> {
        let sql = super::sqlite_err(&self.path);
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute("DELETE FROM ledger_records WHERE batch_id = ?1", [id])
            .map_err(sql)?;
        tx.execute(
            "UPDATE ledger_batches SET state = 'abandoned', records = 0, corrections = 0
             WHERE id = ?1",
            [id],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    fn set_state(&self, id: i64, state: BatchState) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE ledger_batches SET state = ?1 WHERE id = ?2",
                params![state.as_str(), id],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Keep the manifest header of a run's dataset (written once, before its first batch), so
    /// that recovery can rewrite a manifest the run did not get to write.
    pub fn ledger_set_header(
        &self,
        run_id: &str,
        dataset: &str,
        header: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO ledger_manifests (run_id, dataset, header)
                 VALUES (?1, ?2, ?3)",
                params![run_id, dataset, header],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The manifest header of a run's dataset.
    pub fn ledger_header(&self, run_id: &str, dataset: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT header FROM ledger_manifests WHERE run_id = ?1 AND dataset = ?2",
                [run_id, dataset],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(number: u64) -> BatchRow {
        BatchRow {
            id: 0,
            dataset: "fee".into(),
            stream: "320900/fee-detail".into(),
            number,
            run_id: "r1".into(),
            records: 2,
            corrections: 0,
            bytes: 10,
            sha256: "ab".into(),
            first_key: "a".into(),
            last_key: "b".into(),
            state: BatchState::Pending,
            created_at: "now".into(),
        }
    }

    fn rec(key: &str, byte: u8) -> LedgerRecord {
        LedgerRecord {
            key: key.into(),
            hash: [byte; 32],
            correction: false,
        }
    }

    #[test]
    fn pending_done_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store
                .ledger_next_number("fee", "320900/fee-detail")
                .unwrap(),
            1
        );
        let a = store
            .ledger_begin(&batch(1), &[rec("a", 1), rec("b", 2)])
            .unwrap();
        let b = store.ledger_begin(&batch(2), &[rec("c", 3)]).unwrap();
        assert_eq!(store.ledger_pending().unwrap().len(), 2);
        store.ledger_finish(a).unwrap();
        store.ledger_abandon(b).unwrap();
        assert!(store.ledger_pending().unwrap().is_empty());
        // The abandoned number is not reused.
        assert_eq!(
            store
                .ledger_next_number("fee", "320900/fee-detail")
                .unwrap(),
            3
        );
        // A renamed dataset of the same stream goes on counting.
        assert_eq!(
            store
                .ledger_next_number("fees", "320900/fee-detail")
                .unwrap(),
            3
        );
        let mut seen = Vec::new();
        store
            .ledger_emitted("320900/fee-detail", |k, h| seen.push((k.to_string(), h[0])))
            .unwrap();
        assert_eq!(seen, [("a".to_string(), 1), ("b".to_string(), 2)]);
        assert_eq!(store.ledger_records(a).unwrap().len(), 2);
        assert!(store.ledger_records(b).unwrap().is_empty());
        assert_eq!(
            store.ledger_batch("fee", 2).unwrap().unwrap().state,
            BatchState::Abandoned
        );
        assert_eq!(store.ledger_done("r1", "fee").unwrap().len(), 1);
        assert!(store
            .ledger_duplicates("320900/fee-detail")
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .ledger_other_names("320900/fee-detail", "fees")
                .unwrap(),
            ["fee"]
        );
    }

    #[test]
    fn rows_from_before_streams_are_adopted_by_their_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut old = batch(1);
        old.stream = String::new();
        let id = store.ledger_begin(&old, &[rec("a", 1)]).unwrap();
        store.ledger_finish(id).unwrap();
        let mut n = 0;
        store
            .ledger_emitted("320900/fee-detail", |_, _| n += 1)
            .unwrap();
        assert_eq!(n, 0);
        store.ledger_adopt("fee", "320900/fee-detail").unwrap();
        store
            .ledger_emitted("320900/fee-detail", |_, _| n += 1)
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            store.ledger_stream_of("fee").unwrap().as_deref(),
            Some("320900/fee-detail")
        );
    }
}
