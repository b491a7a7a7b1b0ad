//! Clinical abbreviations and colloquial names as data: `冠心病` for 冠状动脉粥样硬化性心脏病,
//! `COPD` for 慢性阻塞性肺疾病, `针剂` for 注射液. A built-in base (`data/synonyms.csv`, each row
//! with its source) that a team extends in its workspace (`mappings/synonyms.csv`), and the
//! pairs approved mappings teach. A local name holding a term is searched a second time with
//! the term written out; the better of the two decides, and the evidence says which row helped.

use std::path::Path;

use miette::Diagnostic;
use thiserror::Error;

use super::normalise::{fold, squash};
use crate::codes::Family;

/// The built-in base, compiled in.
const BUILTIN: &str = include_str!("../../../data/synonyms.csv");

/// Where a team adds its own rows, under the workspace root.
pub const WORKSPACE_FILE: &str = "mappings/synonyms.csv";

/// One row: a term and what it means.
#[derive(Debug, Clone, PartialEq)]
pub struct Synonym {
    /// The term as compared (folded, squashed): `copd`, `冠心病`.
    pub term: String,
    /// What it is replaced with, folded (`慢性阻塞性肺疾病`).
    pub means: String,
    /// The families it applies to (empty: all).
    pub families: Vec<Family>,
    /// Where the row comes from, for the evidence.
    pub source: String,
}

/// A mistake in a synonym file.
#[derive(Debug, Error, Diagnostic)]
#[error("{file}:{line}: {message}")]
#[diagnostic(
    code(yibao::mapping::synonyms),
    help("columns: term,means,family,source; family is empty or diagnosis|procedure|drug|…")
)]
pub struct SynonymError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Every row known, longest term first (a longer term wins where two overlap).
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    rows: Vec<Synonym>,
}

impl Synonyms {
    /// The built-in base alone.
    pub fn builtin() -> Synonyms {
        // The built-in file is checked by a test; a broken row there is skipped, never fatal.
        let mut s = Synonyms::default();
        let _ = s.add_csv(BUILTIN, "data/synonyms.csv");
        s
    }

    /// The built-in base and the workspace's `mappings/synonyms.csv` when it exists.
    pub fn for_workspace(root: &Path) -> Result<Synonyms, SynonymError> {
        let mut s = Synonyms::builtin();
        let path = root.join(WORKSPACE_FILE);
        if path.exists() {
            let text = std::fs::read(&path).map_err(|e| SynonymError {
                file: WORKSPACE_FILE.into(),
                line: 0,
                message: format!("cannot read: {e}"),
            })?;
            let text = String::from_utf8(text).map_err(|e| SynonymError {
                file: WORKSPACE_FILE.into(),
                line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count(),
                message: "not UTF-8 text".into(),
            })?;
            s.add_csv(&text, WORKSPACE_FILE)?;
        }
        Ok(s)
    }

    /// Add the rows of a CSV text (`term,means,family,source`, header first). Every row must
    /// have a term, a meaning and a source; `family` may list several, split by `|`.
    pub fn add_csv(&mut self, text: &str, file: &str) -> Result<usize, SynonymError> {
        let err = |line: usize, message: String| SynonymError {
            file: file.to_string(),
            line,
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| err(1, e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let (Some(t), Some(m)) = (col("term"), col("means")) else {
            return Err(err(1, "the header needs columns term and means".into()));
        };
        let (f, s) = (col("family"), col("source"));
        let mut added = 0;
        for record in reader.records() {
            let record = record
                .map_err(|e| err(e.position().map_or(0, |p| p.line() as usize), e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
            let (term, means, source) = (get(Some(t)), get(Some(m)), get(s));
            if term.is_empty() && means.is_empty() {
                continue;
            }
            if term.is_empty() || means.is_empty() {
                return Err(err(
                    line,
                    "a row needs both a term and what it means".into(),
                ));
            }
            if source.is_empty() {
                return Err(err(
                    line,
                    format!("`{term}`: say where the row comes from (source)"),
                ));
            }
            let mut families = Vec::new();
            for name in get(f).split('|').map(str::trim).filter(|n| !n.is_empty()) {
                families.push(
                    name.parse::<Family>()
                        .map_err(|e| err(line, format!("`{term}`: {e}")))?,
                );
            }
            self.learn(term, means, families, source);
            added += 1;
        }
        Ok(added)
    }

    /// Add one pair (an approved mapping's local and national names teach one this way).
    pub fn learn(&mut self, term: &str, means: &str, families: Vec<Family>, source: &str) {
        let term = squash(&fold(term));
        let means = fold(means);
        if term.chars().count() < 2 || squash(&means) == term {
            return;
        }
        if self
            .rows
            .iter()
            .any(|r| r.term == term && r.means == means && r.families == families)
        {
            return;
        }
        let at = self.rows.partition_point(|r| r.term.len() >= term.len());
        self.rows.insert(
            at,
            Synonym {
                term,
                means,
                families,
                source: source.to_string(),
            },
        );
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A folded name rewritten with the rows of `family` whose term it holds: each row alone,
    /// then all of them together when several apply, with the evidence (`心衰 → 心力衰竭`).
    /// A Latin term (`sle`) counts only between non-letters. At most `cap` rewritings.
    pub fn rewrite(&self, family: Family, folded: &str, cap: usize) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut all = folded.to_string();
        let mut all_why: Vec<String> = Vec::new();
        for r in &self.rows {
            if !r.families.is_empty() && !r.families.contains(&family) {
                continue;
            }
            let Some(at) = find_term(folded, &r.term) else {
                continue;
            };
            let mut s = folded.to_string();
            s.replace_range(at..at + r.term.len(), &r.means);
            let why = format!("{} → {} ({})", r.term, squash(&r.means), r.source);
            if let Some(at) = find_term(&all, &r.term) {
                all.replace_range(at..at + r.term.len(), &r.means);
                all_why.push(why.clone());
            }
            if out.len() < cap {
                out.push((s, why));
            }
        }
        if all_why.len() > 1 && out.len() < cap + 1 {
            out.push((all, all_why.join(", ")));
        }
        out
    }
}

/// Where `term` stands in `s`: anywhere for Chinese terms, between non-letters for Latin ones.
fn find_term(s: &str, term: &str) -> Option<usize> {
    let latin = term.chars().all(|c| c.is_ascii_alphanumeric());
    let mut from = 0;
    while let Some(i) = s[from..].find(term).map(|i| i + from) {
        if !latin {
            return Some(i);
        }
        let before = s[..i].chars().next_back();
        let after = s[i + term.len()..].chars().next();
        let letter = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphabetic());
        if !letter(before) && !letter(after) {
            return Some(i);
        }
        from = i + term.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i19_2_builtin_base_parses_and_every_row_has_a_source() {
        let mut s = Synonyms::default();
        let n = s.add_csv(BUILTIN, "data/synonyms.csv").unwrap();
        assert_eq!(n, s.len());
        assert!(n >= 100, "{n}");
        assert!(s.rows.iter().all(|r| !r.source.is_empty()));
    }

    #[test]
    fn i19_2_terms_are_rewritten_latin_only_between_non_letters() {
        let s = Synonyms::builtin();
        let r = s.rewrite(Family::Diagnosis, &fold("急性心衰"), 4);
        assert!(r.iter().any(|(n, _)| n == "急性心力衰竭"), "{r:?}");
        let r = s.rewrite(Family::Diagnosis, &fold("COPD急性加重"), 4);
        assert!(
            r.iter().any(|(n, _)| n.starts_with("慢性阻塞性肺病")),
            "{r:?}"
        );
        assert!(s.rewrite(Family::Diagnosis, &fold("scopd"), 4).is_empty());
        // A drug row does not rewrite a diagnosis.
        assert!(s
            .rewrite(Family::Diagnosis, &fold("针剂"), 4)
            .iter()
            .all(|(n, _)| !n.contains("注射液")));
    }

    #[test]
    fn i19_2_workspace_rows_need_a_source_and_a_known_family() {
        let mut s = Synonyms::default();
        let e = s
            .add_csv(
                "term,means,family,source\n心梗,心肌梗死,diagnosis,\n",
                "m.csv",
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.csv:2: `心梗`: say where the row comes from (source)"
        );
        let e = s
            .add_csv(
                "term,means,family,source\n心梗,心肌梗死,organ,ward 5\n",
                "m.csv",
            )
            .unwrap_err();
        assert!(e.to_string().starts_with("m.csv:2: `心梗`: "), "{e}");
        let e = s.add_csv("a,b\n1,2\n", "m.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.csv:1: the header needs columns term and means"
        );
        let n = s
            .add_csv(
                "term,means,family,source\n老慢支,慢性支气管炎,diagnosis,ward 5\n",
                "m.csv",
            )
            .unwrap();
        assert_eq!(n, 1);
        let r = s.rewrite(Family::Diagnosis, &fold("老慢支"), 4);
        assert_eq!(r[0].0, "慢性支气管炎");
        assert_eq!(r[0].1, "老慢支 → 慢性支气管炎 (ward 5)");
    }
}
