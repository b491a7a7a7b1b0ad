//! National code sets in the store: import a version in one transaction, look a code up across
//! versions, and compare two versions.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{version_order, Store, StoreError};
use crate::codes::table::Table;
use crate::codes::Family;

/// A loaded version of a family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeSet {
    /// The family.
    pub family: Family,
    /// The version name given at import.
    pub version: String,
    /// When it was imported (RFC 3339, UTC).
    pub imported_at: String,
    /// How many codes it holds.
    pub codes: i64,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The family.
    pub family: Family,
    /// The version.
    pub version: String,
    /// Codes written.
    pub codes: usize,
    /// Codes the table itself marks retired.
    pub retired: usize,
    /// True when an older copy of this version was replaced.
    pub replaced: bool,
}

/// One version's entry for a looked-up code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lookup {
    /// The version.
    pub version: String,
    /// The name in that version.
    pub name: String,
    /// Marked retired by that version's table.
    pub retired: bool,
}

/// A code whose name changed between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Renamed {
    /// The code.
    pub code: String,
    /// Name in the older version.
    pub from: String,
    /// Name in the newer version.
    pub to: String,
}

/// Differences between two versions of a family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// The family.
    pub family: Family,
    /// The older version.
    pub from: String,
    /// The newer version.
    pub to: String,
    /// Codes in `to` that `from` lacks: (code, name).
    pub added: Vec<(String, String)>,
    /// Codes of `from` that `to` lacks or marks retired: (code, name).
    pub retired: Vec<(String, String)>,
    /// Codes in both whose name changed.
    pub renamed: Vec<Renamed>,
}

impl Store {
    /// Load `table` as `version` of `family`, all or nothing. With `replace`, an existing copy of
    /// the version is swapped out in the same transaction.
    pub fn import_code_set(
        &mut self,
        family: Family,
        version: &str,
        table: &Table,
        replace: bool,
    ) -> Result<ImportSummary, StoreError> {
        let sql = super::sqlite_err(&self.path);
        let tx = self.conn.transaction().map_err(sql)?;
        let existing: Option<(i64, i64, String)> = tx
            .query_row(
                "SELECT id, code_count, imported_at FROM code_sets WHERE family = ?1 AND version = ?2",
                params![family.as_str(), version],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(sql)?;
        if let Some((id, count, imported_at)) = &existing {
            if !replace {
                return Err(StoreError::VersionExists {
                    family: family.to_string(),
                    version: version.to_string(),
                    count: *count,
                    imported_at: imported_at.clone(),
                });
            }
            tx.execute("DELETE FROM code_sets WHERE id = ?1", [id])
                .map_err(sql)?;
        }
        let sources: Vec<serde_json::Value> = table
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "path": f.path.display().to_string(),
                    "sha256": f.sha256,
                    "sheet": f.sheet,
                    "header_row": f.header_row,
                    "code_column": f.code_header,
                    "name_column": f.name_header,
                    "rows": f.rows,
                })
            })
            .collect();
        tx.execute(
            "INSERT INTO code_sets (family, version, imported_at, sources, code_count) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                family.as_str(),
                version,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                serde_json::Value::Array(sources).to_string(),
                table.rows.len() as i64
            ],
        )
        .map_err(sql)?;
        let set_id = tx.last_insert_rowid();
        let mut retired = 0;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO codes (set_id, code, name, retired, attrs, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql)?;
            for row in &table.rows {
                let attrs = if row.attrs.is_empty() {
                    None
                } else {
                    let map: serde_json::Map<String, serde_json::Value> = row
                        .attrs
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect();
                    Some(serde_json::Value::Object(map).to_string())
                };
                retired += usize::from(row.retired);
                insert
                    .execute(params![
                        set_id,
                        row.code,
                        row.name,
                        row.retired,
                        attrs,
                        row.location.to_string()
                    ])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(ImportSummary {
            family,
            version: version.to_string(),
            codes: table.rows.len(),
            retired,
            replaced: existing.is_some(),
        })
    }

    /// The loaded versions of a family, oldest first (natural order of their names).
    pub fn code_sets(&self, family: Family) -> Result<Vec<CodeSet>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT version, imported_at, code_count FROM code_sets WHERE family = ?1")
            .map_err(|e| self.err(e))?;
        let mut sets = stmt
            .query_map([family.as_str()], |r| {
                Ok(CodeSet {
                    family,
                    version: r.get(0)?,
                    imported_at: r.get(1)?,
                    codes: r.get(2)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        sets.sort_by(|a, b| version_order(&a.version, &b.version));
        Ok(sets)
    }

    /// Every loaded version's entry for `code` of `family`, oldest version first.
    pub fn lookup(&self, family: Family, code: &str) -> Result<Vec<Lookup>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.version, c.name, c.retired FROM codes c JOIN code_sets s ON s.id = c.set_id
                 WHERE s.family = ?1 AND c.code = ?2",
            )
            .map_err(|e| self.err(e))?;
        let mut found = stmt
            .query_map(params![family.as_str(), code], |r| {
                Ok(Lookup {
                    version: r.get(0)?,
                    name: r.get(1)?,
                    retired: r.get(2)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        found.sort_by(|a, b| version_order(&a.version, &b.version));
        Ok(found)
    }

    /// Added, retired and renamed codes from version `from` to version `to`.
    pub fn diff(&self, family: Family, from: &str, to: &str) -> Result<Diff, StoreError> {
        let from_id = self.set_id(family, from)?;
        let to_id = self.set_id(family, to)?;
        let pairs = |sql: &str| -> Result<Vec<(String, String)>, StoreError> {
            let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
            stmt.query_map(params![from_id, to_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| self.err(e))
        };
        let added = pairs(
            "SELECT b.code, b.name FROM codes b WHERE b.set_id = ?2 AND b.retired = 0
             AND NOT EXISTS (SELECT 1 FROM codes a WHERE a.set_id = ?1 AND a.code = b.code AND a.retired = 0)
             ORDER BY b.code",
        )?;
        let retired = pairs(
            "SELECT a.code, a.name FROM codes a WHERE a.set_id = ?1 AND a.retired = 0
             AND NOT EXISTS (SELECT 1 FROM codes b WHERE b.set_id = ?2 AND b.code = a.code AND b.retired = 0)
             ORDER BY a.code",
        )?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.code, a.name, b.name FROM codes a JOIN codes b ON b.code = a.code
                 WHERE a.set_id = ?1 AND b.set_id = ?2 AND a.retired = 0 AND b.retired = 0
                 AND trim(a.name) <> trim(b.name) ORDER BY a.code",
            )
            .map_err(|e| self.err(e))?;
        let renamed = stmt
            .query_map(params![from_id, to_id], |r| {
                Ok(Renamed {
                    code: r.get(0)?,
                    from: r.get(1)?,
                    to: r.get(2)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(Diff {
            family,
            from: from.to_string(),
            to: to.to_string(),
            added,
            retired,
            renamed,
        })
    }

    fn set_id(&self, family: Family, version: &str) -> Result<i64, StoreError> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM code_sets WHERE family = ?1 AND version = ?2",
                params![family.as_str(), version],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match id {
            Some(id) => Ok(id),
            None => {
                let loaded: Vec<String> = self
                    .code_sets(family)?
                    .into_iter()
                    .map(|s| s.version)
                    .collect();
                Err(StoreError::UnknownVersion {
                    family: family.to_string(),
                    version: version.to_string(),
                    help: if loaded.is_empty() {
                        format!("no {family} version is loaded; load one with `yibao codes import --family {family} --version V FILE`")
                    } else {
                        format!("loaded {family} versions: {}", loaded.join(", "))
                    },
                })
            }
        }
    }
}

impl Store {
    /// Every code of a loaded version with whether the table marks it retired.
    pub fn code_statuses(
        &self,
        family: Family,
        version: &str,
    ) -> Result<std::collections::HashMap<String, bool>, StoreError> {
        let id = self.set_id(family, version)?;
        let mut stmt = self
            .conn
            .prepare("SELECT code, retired FROM codes WHERE set_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))
            .and_then(|rows| rows.collect::<Result<std::collections::HashMap<_, _>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The version to use for a family: the pinned one when given, else the latest loaded.
    pub fn version_for(
        &self,
        family: Family,
        pinned: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        if let Some(v) = pinned {
            self.set_id(family, v)?;
            return Ok(Some(v.to_string()));
        }
        Ok(self.code_sets(family)?.pop().map(|s| s.version))
    }

    /// Every code of a version with its name and the table's other columns.
    pub fn codes_of(
        &self,
        family: Family,
        version: &str,
    ) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let id = self.set_id(family, version)?;
        let mut stmt = self
            .conn
            .prepare("SELECT code, name, attrs FROM codes WHERE set_id = ?1 AND retired = 0 ORDER BY code")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}

impl Store {
    /// The stored suggestion index of a version, if one of layout `format` was saved.
    pub fn load_index(
        &self,
        family: Family,
        version: &str,
        format: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let id = self.set_id(family, version)?;
        self.conn
            .query_row(
                "SELECT bytes FROM suggest_index WHERE set_id = ?1 AND format = ?2",
                params![id, format],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Save a version's suggestion index, replacing an older one.
    pub fn save_index(
        &mut self,
        family: Family,
        version: &str,
        format: i64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let id = self.set_id(family, version)?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO suggest_index (set_id, format, built_at, bytes) VALUES (?1, ?2, ?3, ?4)",
                params![id, format, chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true), bytes],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
