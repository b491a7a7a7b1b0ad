//! Suggestions for every unmapped local code of an area: the index of the version in force
//! (loaded from the store, or built and saved once), mappings approved in other areas ranked
//! first, candidates already rejected for the local code left out, and the review file's rows.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::index::{Index, FORMAT};
use super::normalise::{fold, squash};
use super::search::{Candidate, Query, Scratch};
use super::synonyms::Synonyms;
use crate::codes::Family;
use crate::mapping::crosswalk::Status;
use crate::mapping::gather::Local;
use crate::mapping::load::{Carried, Change, Crosswalks};
use crate::mapping::review::ReviewRow;
use crate::store::{Store, StoreError};

/// How the index was obtained.
#[derive(Debug, Clone, Serialize)]
pub struct IndexInfo {
    /// The version indexed.
    pub version: String,
    /// National codes in it.
    pub codes: usize,
    /// True when built now (absent, stored in another layout, or corrupt); false when reused.
    pub built: bool,
    /// Why a stored index of the current layout was not reused: it was corrupt (where and how).
    /// It is only a cache of the store's code rows, so it is rebuilt rather than refused.
    pub rebuilt_because: Option<String>,
    /// Seconds to build or load it.
    pub seconds: f64,
    /// Its size in the store.
    pub bytes: usize,
}

/// The index of `version` of `family`: the stored one when its layout is current and it reads
/// back whole, else built from the store's rows and saved for next time (a corrupt one is
/// replaced, and `rebuilt_because` says what was wrong with it).
pub fn load_or_build(
    store: &mut Store,
    family: Family,
    version: &str,
) -> Result<(Index, IndexInfo), StoreError> {
    let start = Instant::now();
    let mut rebuilt_because = None;
    if let Some(bytes) = store.load_index(family, version, FORMAT)? {
        match Index::from_bytes(&bytes) {
            Ok(index) => {
                let info = IndexInfo {
                    version: version.to_string(),
                    codes: index.entries.len(),
                    built: false,
                    rebuilt_because: None,
                    seconds: start.elapsed().as_secs_f64(),
                    bytes: bytes.len(),
                };
                return Ok((index, info));
            }
            Err(e) => rebuilt_because = Some(format!("the stored index was corrupt at {e}")),
        }
    }
    let rows = store.codes_of(family, version)?;
    let index = Index::build(family, &rows);
    let bytes = index.to_bytes();
    store.save_index(family, version, FORMAT, &bytes)?;
    let info = IndexInfo {
        version: version.to_string(),
        codes: index.entries.len(),
        built: true,
        rebuilt_because,
        seconds: start.elapsed().as_secs_f64(),
        bytes: bytes.len(),
    };
    Ok((index, info))
}

/// A mapping approved in another area.
#[derive(Debug, Clone)]
struct Approved {
    area: String,
    national_code: String,
    national_name: String,
}

/// What other areas and this area's reviewers already decided.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    by_code: HashMap<String, Vec<Approved>>,
    by_name: HashMap<String, Vec<Approved>>,
    rejected: HashMap<String, HashSet<String>>,
    /// The knowledge base names are also read through: built-in, the workspace's, and the
    /// pairs approved mappings teach.
    synonyms: Synonyms,
    /// Local codes whose approved national code a newer version retired: the row, for proposing
    /// a successor.
    retired: HashMap<String, Carried>,
    /// Codes the version in force added: a successor is likelier among them.
    added: std::collections::BTreeSet<String>,
}

fn name_key(name: &str) -> String {
    squash(&fold(name))
}

impl Decisions {
    /// Approved rows of `family` in every other area, and rows of `area` rejected.
    pub fn from_crosswalks(crosswalks: &Crosswalks, area: &str, family: Family) -> Decisions {
        Decisions::with_synonyms(crosswalks, area, family, Synonyms::builtin())
    }

    /// [`Decisions::from_crosswalks`] with a knowledge base (the built-in one and the
    /// workspace's `mappings/synonyms.csv`). Every approved mapping of a diagnosis, procedure,
    /// service or consumable in any area teaches its pair (local name → national name), so a
    /// longer local name holding an approved one is read with it written out.
    pub fn with_synonyms(
        crosswalks: &Crosswalks,
        area: &str,
        family: Family,
        synonyms: Synonyms,
    ) -> Decisions {
        let mut d = Decisions {
            synonyms,
            ..Decisions::default()
        };
        for ((a, f), cw) in &crosswalks.by_key {
            if *f != family {
                continue;
            }
            for m in &cw.rows {
                if a == area {
                    if m.status == Status::Rejected {
                        d.rejected
                            .entry(m.local_code.clone())
                            .or_default()
                            .insert(m.national_code.clone());
                    }
                    continue;
                }
                if m.status != Status::Approved || m.condition.is_some() {
                    continue;
                }
                if family != Family::Drug
                    && !m.national_name.is_empty()
                    && name_key(&m.local_name).chars().count() >= 3
                {
                    d.synonyms.learn(
                        &m.local_name,
                        &m.national_name,
                        vec![family],
                        &format!("approved in area {a}"),
                    );
                }
                let approved = Approved {
                    area: a.clone(),
                    national_code: m.national_code.clone(),
                    national_name: m.national_name.clone(),
                };
                d.by_code
                    .entry(m.local_code.clone())
                    .or_default()
                    .push(approved.clone());
                let key = name_key(&m.local_name);
                if !key.is_empty() {
                    d.by_name.entry(key).or_default().push(approved);
                }
            }
        }
        d
    }

    /// Local codes whose approved national code a newer version retired (from
    /// [`Crosswalks::retired_in`]): their successor is searched by the retired code and its
    /// name, and proposed with the evidence `successor of …`.
    pub fn with_retired(
        mut self,
        retired: HashMap<String, Carried>,
        added: std::collections::BTreeSet<String>,
    ) -> Decisions {
        self.retired = retired;
        self.added = added;
        self
    }

    /// Candidates for the successor of a retired code: the version in force searched by the
    /// retired code (a legacy ICD code reads as one) and its national name.
    fn successors(
        &self,
        local: &Local,
        index: &Index,
        top: usize,
        scratch: &mut Scratch,
    ) -> Vec<Candidate> {
        let Some(c) = self.retired.get(&local.code) else {
            return Vec::new();
        };
        let old = Local {
            code: c.national_code.clone(),
            name: if c.national_name.is_empty() {
                local.name.clone()
            } else {
                c.national_name.clone()
            },
            ..local.clone()
        };
        let q = Query::with_synonyms(index.family, &old, &self.synonyms);
        index
            .search(&q, top, &|code| code == c.national_code, scratch)
            .into_iter()
            .map(|mut cand| {
                let Change::Retired { last } = &c.change else {
                    return cand;
                };
                // The version diff: a code added with the version that retired the old one is
                // the likelier successor; the others give way a little.
                let added = if self.added.contains(&cand.code) {
                    format!(", added in {}", c.version)
                } else {
                    cand.score = (cand.score * 0.97 * 1000.0).round() / 1000.0;
                    String::new()
                };
                cand.evidence = format!(
                    "successor of {} {} (retired in {}, current in {last}{added}); {}",
                    c.national_code, old.name, c.version, cand.evidence
                );
                cand
            })
            .collect()
    }

    /// Other areas' approvals for a local code: same code first, then same normalised name.
    fn prior(&self, local: &Local, index: &Index) -> Vec<Candidate> {
        let mut out: Vec<Candidate> = Vec::new();
        let same_code = self.by_code.get(&local.code).into_iter().flatten();
        let same_name = self
            .by_name
            .get(&name_key(&local.name))
            .into_iter()
            .flatten();
        for (a, how, score) in same_code
            .map(|a| (a, "same local code", 1.0))
            .chain(same_name.map(|a| (a, "same local name", 0.99)))
        {
            if out.iter().any(|c| c.code == a.national_code) {
                continue;
            }
            let name = index
                .entry_of(&a.national_code)
                .map(|i| index.entries[i as usize].name.clone())
                .unwrap_or_else(|| a.national_name.clone());
            out.push(Candidate {
                code: a.national_code.clone(),
                name,
                score,
                evidence: format!("approved in area {} ({how})", a.area),
            });
        }
        out
    }
}

/// One local code and its candidates, best first.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// The local code.
    pub local_code: String,
    /// Its name.
    pub local_name: String,
    /// Records carrying it.
    pub records: u64,
    /// The candidates.
    pub candidates: Vec<Candidate>,
    /// Spec, form… as the legacy catalog has them, for the reviewer.
    #[serde(skip)]
    pub detail: String,
}

fn detail(l: &Local) -> String {
    [
        ("规格", &l.spec),
        ("剂型", &l.form),
        ("单位", &l.unit),
        ("厂家", &l.manufacturer),
        ("批准文号", &l.approval_no),
        ("本位码", &l.std_code),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(|v| format!("{k} {}", v.trim()))
    })
    .collect::<Vec<_>>()
    .join("; ")
}

/// Candidates for every local code, on every core. `tick` is called once per local code done.
pub fn suggest_all(
    index: &Index,
    locals: &[Local],
    top: usize,
    decisions: &Decisions,
    tick: &(dyn Fn() + Sync),
) -> Vec<Suggestion> {
    locals
        .par_iter()
        .map_init(Scratch::default, |scratch, local| {
            let rejected = decisions.rejected.get(&local.code);
            let skip = |code: &str| rejected.is_some_and(|r| r.contains(code));
            let mut candidates: Vec<Candidate> = decisions
                .prior(local, index)
                .into_iter()
                .filter(|c| !skip(&c.code))
                .collect();
            candidates.truncate(top);
            let q = Query::with_synonyms(index.family, local, &decisions.synonyms);
            let mut found = index.search(&q, top + candidates.len(), &skip, scratch);
            // A successor of a retired code: both searches, the better first.
            let successors = decisions.successors(local, index, top, scratch);
            if !successors.is_empty() {
                found.retain(|f| !successors.iter().any(|s| s.code == f.code));
                found.extend(successors.into_iter().filter(|s| !skip(&s.code)));
                found.sort_by(|a, b| {
                    b.score
                        .partial_cmp(&a.score)
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
            }
            for c in found {
                if candidates.len() >= top {
                    break;
                }
                if !candidates.iter().any(|p| p.code == c.code) {
                    candidates.push(c);
                }
            }
            tick();
            Suggestion {
                local_code: local.code.clone(),
                local_name: local.name.clone(),
                records: local.records,
                candidates,
                detail: detail(local),
            }
        })
        .collect()
}

/// The review file's rows: one per candidate, or one with rank 0 for a local code without any.
pub fn review_rows(area: &str, family: Family, suggestions: &[Suggestion]) -> Vec<ReviewRow> {
    let mut rows = Vec::new();
    for s in suggestions {
        let base = ReviewRow {
            area: area.to_string(),
            family: family.to_string(),
            local_code: s.local_code.clone(),
            local_name: s.local_name.clone(),
            local_detail: s.detail.clone(),
            records: s.records,
            ..Default::default()
        };
        if s.candidates.is_empty() {
            rows.push(ReviewRow {
                evidence: "no candidate found".into(),
                ..base
            });
            continue;
        }
        for (i, c) in s.candidates.iter().enumerate() {
            rows.push(ReviewRow {
                rank: i as u32 + 1,
                national_code: c.code.clone(),
                national_name: c.name.clone(),
                score: c.score,
                evidence: c.evidence.clone(),
                ..base.clone()
            });
        }
    }
    rows
}

/// How good the suggestions look, for the summary line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    /// Local codes suggested for.
    pub local_codes: usize,
    /// Those with at least one candidate.
    pub with_candidate: usize,
    /// Those whose best candidate was approved in another area.
    pub from_other_areas: usize,
    /// Best-candidate scores by band: `>=0.90`, `0.70-0.90`, `0.50-0.70`, `<0.50`.
    pub top_score: BTreeMap<&'static str, usize>,
}

/// Count the suggestions.
pub fn tally(suggestions: &[Suggestion]) -> Tally {
    let mut t = Tally {
        local_codes: suggestions.len(),
        ..Default::default()
    };
    for band in [">=0.90", "0.70-0.90", "0.50-0.70", "<0.50"] {
        t.top_score.insert(band, 0);
    }
    for s in suggestions {
        let Some(best) = s.candidates.first() else {
            continue;
        };
        t.with_candidate += 1;
        if best.evidence.starts_with("approved in area") {
            t.from_other_areas += 1;
        }
        let band = match best.score {
            x if x >= 0.9 => ">=0.90",
            x if x >= 0.7 => "0.70-0.90",
            x if x >= 0.5 => "0.50-0.70",
            _ => "<0.50",
        };
        *t.top_score.entry(band).or_default() += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::crosswalk::parse;

    #[test]
    fn i19_2_an_approved_mapping_teaches_its_pair_to_other_areas() {
        let text = "local_code,local_name,national_code,national_name,status\n\
                    D1,慢性心功能不全,I50.900x014,慢性心力衰竭,approved\n";
        let cw = parse(
            "320100",
            Family::Diagnosis,
            std::path::Path::new("mappings/320100/diagnosis.csv"),
            text,
            None,
        )
        .unwrap();
        let mut crosswalks = Crosswalks::default();
        crosswalks
            .by_key
            .insert(("320100".into(), Family::Diagnosis), cw);
        let d = Decisions::with_synonyms(
            &crosswalks,
            "320900",
            Family::Diagnosis,
            Synonyms::default(),
        );
        let r = d.synonyms.rewrite(
            Family::Diagnosis,
            &crate::mapping::suggest::normalise::fold("慢性心功能不全急性加重"),
            4,
        );
        assert_eq!(
            r,
            vec![(
                "慢性心力衰竭急性加重".to_string(),
                "慢性心功能不全 → 慢性心力衰竭 (approved in area 320100)".to_string()
            )]
        );
        // Drugs teach nothing this way: a whole approved name is reused as it is.
        let d = Decisions::with_synonyms(&crosswalks, "320900", Family::Drug, Synonyms::default());
        assert!(d.synonyms.is_empty());
    }
}
