//! `map accept`: merge a reviewed file into the crosswalks. Plan, then act: this module computes
//! the new crosswalk files (validated as `load` would) and the caller writes them atomically.
//! Approved rows become `approved` mappings with who and when; rejected candidates are kept as
//! `rejected` rows so they are never suggested again; undecided rows change nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use miette::Diagnostic;
use serde::Serialize;
use thiserror::Error;

use super::crosswalk::{parse, Crosswalk, Mapping, Relation, Status, TableStatus};
use super::load::{crosswalk_path, Crosswalks};
use super::review::ReviewRow;
use crate::codes::Family;
use crate::workspace::path::component;
use crate::workspace::Workspace;

/// One mistake in a review file.
#[derive(Debug, Error, Diagnostic)]
#[error("{file}:{row}: {message}")]
#[diagnostic(code(yibao::mapping::review_row))]
pub struct AcceptError {
    /// The review file.
    pub file: String,
    /// 1-based row.
    pub row: usize,
    /// What is wrong.
    pub message: String,
}

/// Every mistake of a review file; nothing was merged.
#[derive(Debug, Error, Diagnostic)]
#[error("{} mistake(s) in the review file; nothing was merged", .errors.len())]
#[diagnostic(
    code(yibao::mapping::review),
    help("fix the rows listed and run `yibao map accept` again")
)]
pub struct AcceptErrors {
    /// The mistakes.
    #[related]
    pub errors: Vec<AcceptError>,
}

/// What accepting will do.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Plan {
    /// Local codes approved.
    pub approved: usize,
    /// Candidates rejected.
    pub rejected: usize,
    /// Local codes left undecided.
    pub undecided: usize,
    /// Files to write with their new bytes.
    #[serde(skip)]
    pub writes: Vec<(PathBuf, Vec<u8>)>,
    /// The files, for people.
    pub files: Vec<PathBuf>,
}

/// What a reviewer wrote in `decision`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Decision {
    Approve,
    Reject,
    Undecided,
}

/// Read a `decision` cell; `None` when it is not approve, reject or empty.
pub(crate) fn decision(word: &str) -> Option<Decision> {
    Some(match word.trim().to_lowercase().as_str() {
        "approve" | "approved" | "yes" | "y" | "ok" | "通过" | "同意" | "√" => {
            Decision::Approve
        }
        "reject" | "rejected" | "no" | "n" | "驳回" | "拒绝" | "×" => Decision::Reject,
        "" => Decision::Undecided,
        _ => return None,
    })
}

/// Plan the merge of `rows` (read from `file`) into the workspace's crosswalks. A row's area
/// must be one the workspace declares: it names the folder the crosswalk is written in.
pub fn plan(
    ws: &Workspace,
    file: &str,
    rows: &[ReviewRow],
    existing: &Crosswalks,
    reviewer: &str,
    now: &str,
    table: &dyn Fn(Family, &str) -> Option<TableStatus>,
) -> Result<Plan, AcceptErrors> {
    let mut errors = Vec::new();
    let mut err = |row: usize, message: String| {
        errors.push(AcceptError {
            file: file.to_string(),
            row,
            message,
        })
    };
    // (area, family) -> local code -> rows
    let mut groups: BTreeMap<(String, Family), BTreeMap<String, Vec<&ReviewRow>>> = BTreeMap::new();
    for r in rows {
        let Ok(family) = r.family.parse::<Family>() else {
            err(r.row, format!("unknown family `{}`", r.family));
            continue;
        };
        if r.area.is_empty() || r.local_code.is_empty() {
            err(r.row, "area and local_code must not be empty".into());
            continue;
        }
        if let Err(e) = component(&r.area) {
            err(r.row, format!("area {e}"));
            continue;
        }
        if !ws.areas.iter().any(|a| a.code == r.area) {
            let declared: Vec<&str> = ws.areas.iter().map(|a| a.code.as_str()).collect();
            err(
                r.row,
                format!(
                    "area `{}` is not declared in {} (areas: {})",
                    r.area,
                    ws.config_path().display(),
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                ),
            );
            continue;
        }
        if decision(&r.decision).is_none() {
            err(
                r.row,
                format!("decision `{}` is not approve, reject or empty", r.decision),
            );
            continue;
        }
        groups
            .entry((r.area.clone(), family))
            .or_default()
            .entry(r.local_code.clone())
            .or_default()
            .push(r);
    }
    let mut plan = Plan::default();
    for ((area, family), locals) in groups {
        let path = match crosswalk_path(&ws.root, &area, family) {
            Ok(p) => p,
            // Unreachable after the checks above; refused rather than trusted all the same.
            Err(e) => {
                err(0, format!("area {e}"));
                continue;
            }
        };
        let mut cw = existing.get(&area, family).cloned().unwrap_or(Crosswalk {
            area: area.clone(),
            family,
            path: path.clone(),
            rows: Vec::new(),
        });
        let mut changed = false;
        for (local, candidates) in locals {
            let approvals: Vec<&&ReviewRow> = candidates
                .iter()
                .filter(|r| decision(&r.decision) == Some(Decision::Approve))
                .collect();
            let rejections: Vec<&&ReviewRow> = candidates
                .iter()
                .filter(|r| decision(&r.decision) == Some(Decision::Reject))
                .collect();
            if approvals.len() > 1 {
                err(
                    approvals[1].row,
                    format!(
                        "local code `{local}` is approved twice (also at row {})",
                        approvals[0].row
                    ),
                );
                continue;
            }
            if approvals.is_empty() && rejections.is_empty() {
                plan.undecided += 1;
                continue;
            }
            let who = |r: &ReviewRow| {
                if r.reviewer.is_empty() {
                    reviewer.to_string()
                } else {
                    r.reviewer.clone()
                }
            };
            if let Some(a) = approvals.first() {
                match family.parse(&a.national_code) {
                    Ok(p) if p.is_well_formed() => {}
                    Ok(_) | Err(_) if a.national_code.is_empty() => {
                        err(
                            a.row,
                            format!("local code `{local}` is approved without a national code"),
                        );
                        continue;
                    }
                    Ok(p) => {
                        err(
                            a.row,
                            format!(
                                "national code `{}` is not well-formed as written (canonical `{}`)",
                                a.national_code, p.canonical
                            ),
                        );
                        continue;
                    }
                    Err(m) => {
                        err(a.row, m.to_string());
                        continue;
                    }
                }
                match table(family, &a.national_code) {
                    Some(TableStatus::Absent) => {
                        err(
                            a.row,
                            format!(
                                "national code `{}` is not in the loaded {family} version",
                                a.national_code
                            ),
                        );
                        continue;
                    }
                    Some(TableStatus::Retired) => {
                        err(
                            a.row,
                            format!(
                                "national code `{}` is retired in the loaded {family} version",
                                a.national_code
                            ),
                        );
                        continue;
                    }
                    _ => {}
                }
                let retired = |m: &Mapping| {
                    existing.carried.iter().any(|c| {
                        c.is_retired()
                            && c.area == area
                            && c.family == family
                            && c.line == m.line
                            && c.local_code == m.local_code
                            && c.national_code == m.national_code
                    })
                };
                if let Some(old) = cw.rows.iter().find(|m| {
                    m.local_code == local
                        && m.status == Status::Approved
                        && m.condition.is_none()
                        && !retired(m)
                }) {
                    err(a.row, format!("local code `{local}` is already approved ({}:{} → {}); edit the crosswalk to change it", cw.path.display(), old.line, old.national_code));
                    continue;
                }
                // The row a newer version retired gives way to its successor: kept, as rejected,
                // so the retired code is never proposed again and the history stays readable.
                for m in cw
                    .rows
                    .iter_mut()
                    .filter(|m| m.local_code == local && m.status == Status::Approved && retired(m))
                {
                    let version = existing
                        .versions
                        .get(&family)
                        .map(String::as_str)
                        .unwrap_or("the version in force");
                    let why = format!(
                        "retired in {version}; successor {} approved {now}",
                        a.national_code
                    );
                    m.note = if m.note.is_empty() {
                        why
                    } else {
                        format!("{}; {why}", m.note)
                    };
                    m.status = Status::Rejected;
                }
                // A decision replaces what was pending for the code.
                cw.rows
                    .retain(|m| !(m.local_code == local && m.status == Status::Pending));
                cw.rows.push(mapping(a, Status::Approved, &who(a), now));
                plan.approved += 1;
                changed = true;
            }
            for r in rejections {
                let known = cw.rows.iter().any(|m| {
                    m.local_code == local
                        && m.national_code == r.national_code
                        && m.status == Status::Rejected
                });
                if !known {
                    cw.rows.push(mapping(r, Status::Rejected, &who(r), now));
                    plan.rejected += 1;
                    changed = true;
                }
            }
        }
        if changed {
            let bytes = cw.to_csv();
            // The result must load as `map coverage` and `check` will load it.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            // Rows still waiting to be carried forward load as `load_carrying` loads them.
            let check = |code: &str| {
                let carried = existing.carried.iter().any(|c| {
                    c.is_retired()
                        && c.area == area
                        && c.family == family
                        && c.national_code == code
                });
                if carried {
                    TableStatus::Current
                } else {
                    table(family, code).unwrap_or(TableStatus::Current)
                }
            };
            if let Err(e) = parse(&area, family, &path, &text, Some(&check)) {
                for x in e.errors {
                    err(0, format!("the merged crosswalk would be invalid: {x}"));
                }
                continue;
            }
            plan.files.push(path.clone());
            plan.writes.push((path, bytes));
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(AcceptErrors { errors })
    }
}

fn mapping(r: &ReviewRow, status: Status, reviewer: &str, now: &str) -> Mapping {
    let mut note = r.note.clone();
    if status == Status::Approved && r.rank > 0 {
        let evidence = format!(
            "suggested rank {} score {:.3}: {}",
            r.rank, r.score, r.evidence
        );
        note = if note.is_empty() {
            evidence
        } else {
            format!("{note}; {evidence}")
        };
    }
    Mapping {
        line: 0,
        local_code: r.local_code.clone(),
        local_name: r.local_name.clone(),
        national_code: r.national_code.clone(),
        national_name: r.national_name.clone(),
        relation: Relation::OneToOne,
        condition: None,
        valid_from: None,
        valid_to: None,
        status,
        reviewer: reviewer.to_string(),
        reviewed_at: now.to_string(),
        note,
    }
}
