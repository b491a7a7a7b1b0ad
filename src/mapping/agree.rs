//! Two reviewers of one review file (`map accept A.csv B.csv`): how far they agree (counts and
//! Cohen's kappa over the candidate rows both decided), which local codes they disagree on, and
//! the rows both decided alike, the only ones merged. The conflicts become a review file of their
//! own that an adjudicator decides and merges with a plain `map accept`. OHDSI/Usagi#7 asks for
//! the same.

use std::collections::BTreeMap;

use serde::Serialize;

use super::accept::{decision, AcceptError, AcceptErrors, Decision};
use super::review::ReviewRow;

/// How two reviewers agree.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Agreement {
    /// The two reviewers, as named in the files (the `reviewer` column, else the file name).
    pub reviewers: [String; 2],
    /// Local codes in the files.
    pub local_codes: usize,
    /// Local codes both decided alike (the same approved code, or both approved none).
    pub agreed: usize,
    /// Local codes they decided differently: to adjudicate.
    pub conflicts: usize,
    /// Local codes only one of them decided: to adjudicate too.
    pub one_sided: usize,
    /// Local codes neither decided.
    pub undecided: usize,
    /// Candidate rows both decided (approve or reject).
    pub rows_compared: usize,
    /// Of those, decided alike.
    pub rows_agreed: usize,
    /// Cohen's kappa over those rows (approve / reject), `None` when no row was decided by both.
    pub kappa: Option<f64>,
}

/// What two review files come to.
#[derive(Debug, Clone, Default)]
pub struct Reconciled {
    /// Rows to merge: what both decided alike, with both reviewers named.
    pub merged: Vec<ReviewRow>,
    /// Rows of the local codes to adjudicate, undecided, each with both decisions in its note.
    pub to_adjudicate: Vec<ReviewRow>,
    /// The figures.
    pub agreement: Agreement,
}

type Key = (String, String, String, u32);

/// Both reviewers' rows of each local code: (area, family, local code) → (A's row, B's row).
type Pairs<'a> = BTreeMap<(String, String, String), Vec<(&'a ReviewRow, &'a ReviewRow)>>;

fn key(r: &ReviewRow) -> Key {
    (
        r.area.clone(),
        r.family.clone(),
        r.local_code.clone(),
        r.rank,
    )
}

/// Cohen's kappa of two raters over binary decisions: `pairs` of (a approves, b approves).
pub fn cohen_kappa(pairs: &[(bool, bool)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let agree = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let pa = pairs.iter().filter(|(a, _)| *a).count() as f64 / n;
    let pb = pairs.iter().filter(|(_, b)| *b).count() as f64 / n;
    let chance = pa * pb + (1.0 - pa) * (1.0 - pb);
    if (1.0 - chance).abs() < 1e-12 {
        // Both said the same thing of every row: perfect agreement by any reading.
        return Some(if agree == 1.0 { 1.0 } else { 0.0 });
    }
    Some((agree - chance) / (1.0 - chance))
}

/// A reviewer's name: the `reviewer` cells when they agree on one, else the file's name.
fn name_of(file: &str, rows: &[ReviewRow]) -> String {
    let mut names: Vec<&str> = rows
        .iter()
        .map(|r| r.reviewer.trim())
        .filter(|n| !n.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    match names.as_slice() {
        [one] => one.to_string(),
        _ => std::path::Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string()),
    }
}

/// What one reviewer decided for one local code: the approved national code (if any), and per
/// row the decision.
fn verdict(rows: &[&ReviewRow]) -> Option<String> {
    rows.iter()
        .find(|r| decision(&r.decision) == Some(Decision::Approve))
        .map(|r| r.national_code.clone())
}

/// Compare two reviewers' copies of the same review file. The files must hold the same rows
/// (area, family, local code, rank and national code; a rank-0 row's typed code may differ),
/// and every decision must read as approve, reject or empty; otherwise nothing is merged.
pub fn reconcile(
    (file_a, rows_a): (&str, &[ReviewRow]),
    (file_b, rows_b): (&str, &[ReviewRow]),
) -> Result<Reconciled, AcceptErrors> {
    let mut errors = Vec::new();
    let by_b: BTreeMap<Key, &ReviewRow> = rows_b.iter().map(|r| (key(r), r)).collect();
    let by_a: BTreeMap<Key, &ReviewRow> = rows_a.iter().map(|r| (key(r), r)).collect();
    for (file, rows) in [(file_a, rows_a), (file_b, rows_b)] {
        for r in rows {
            if decision(&r.decision).is_none() {
                errors.push(AcceptError {
                    file: file.to_string(),
                    row: r.row,
                    message: format!("decision `{}` is not approve, reject or empty", r.decision),
                });
            }
        }
    }
    for (k, a) in &by_a {
        match by_b.get(k) {
            None => errors.push(AcceptError {
                file: file_b.to_string(),
                row: 0,
                message: format!(
                    "no row for local code `{}` rank {} ({file_a}:{}): the two files are not \
                     copies of the same review file",
                    a.local_code, a.rank, a.row
                ),
            }),
            Some(b) if a.rank > 0 && b.national_code != a.national_code => {
                errors.push(AcceptError {
                    file: file_b.to_string(),
                    row: b.row,
                    message: format!(
                        "local code `{}` rank {} is `{}` here but `{}` in {file_a}:{}",
                        a.local_code, a.rank, b.national_code, a.national_code, a.row
                    ),
                })
            }
            _ => {}
        }
    }
    for (k, b) in &by_b {
        if !by_a.contains_key(k) {
            errors.push(AcceptError {
                file: file_a.to_string(),
                row: 0,
                message: format!(
                    "no row for local code `{}` rank {} ({file_b}:{}): the two files are not \
                     copies of the same review file",
                    b.local_code, b.rank, b.row
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(AcceptErrors { errors });
    }
    let names = [name_of(file_a, rows_a), name_of(file_b, rows_b)];
    let both = format!("{}, {}", names[0], names[1]);
    let mut out = Reconciled::default();
    let a = &mut out.agreement;
    a.reviewers = names.clone();
    // Rows per local code, in file A's order.
    let mut locals: Pairs = BTreeMap::new();
    for (k, ra) in &by_a {
        let rb = by_b[k];
        locals
            .entry((k.0.clone(), k.1.clone(), k.2.clone()))
            .or_default()
            .push((ra, rb));
    }
    let mut pairs = Vec::new();
    for rows in locals.values() {
        let da: Vec<&ReviewRow> = rows.iter().map(|p| p.0).collect();
        let db: Vec<&ReviewRow> = rows.iter().map(|p| p.1).collect();
        let decided = |rs: &[&ReviewRow]| {
            rs.iter()
                .any(|r| decision(&r.decision) != Some(Decision::Undecided))
        };
        for (ra, rb) in rows {
            let (x, y) = (decision(&ra.decision), decision(&rb.decision));
            if x != Some(Decision::Undecided) && y != Some(Decision::Undecided) {
                pairs.push((x == Some(Decision::Approve), y == Some(Decision::Approve)));
            }
        }
        a.local_codes += 1;
        let (va, vb) = (verdict(&da), verdict(&db));
        let typed_alike = rows
            .iter()
            .all(|(ra, rb)| ra.rank > 0 || ra.national_code == rb.national_code);
        match (decided(&da), decided(&db)) {
            (false, false) => {
                a.undecided += 1;
                continue;
            }
            (true, true) if va == vb && typed_alike => {
                a.agreed += 1;
                for (ra, rb) in rows {
                    if ra.decision.trim().is_empty()
                        || decision(&ra.decision) != decision(&rb.decision)
                    {
                        continue;
                    }
                    let mut r = (*ra).clone();
                    r.reviewer = both.clone();
                    out.merged.push(r);
                }
                continue;
            }
            (true, true) => a.conflicts += 1,
            _ => a.one_sided += 1,
        }
        for (ra, rb) in rows {
            let mut r = (*ra).clone();
            fn say(d: &str) -> &str {
                if d.trim().is_empty() {
                    "—"
                } else {
                    d.trim()
                }
            }
            let mut note = format!(
                "{}: {}; {}: {}",
                names[0],
                say(&ra.decision),
                names[1],
                say(&rb.decision)
            );
            if ra.rank == 0 && ra.national_code != rb.national_code {
                note.push_str(&format!(
                    " (typed {} / {})",
                    say(&ra.national_code),
                    say(&rb.national_code)
                ));
                r.national_code.clear();
            }
            if !ra.note.is_empty() {
                note = format!("{note}; {}", ra.note);
            }
            r.note = note;
            r.decision.clear();
            r.reviewer.clear();
            out.to_adjudicate.push(r);
        }
    }
    a.rows_compared = pairs.len();
    a.rows_agreed = pairs.iter().filter(|(x, y)| x == y).count();
    a.kappa = cohen_kappa(&pairs).map(|k| (k * 1000.0).round() / 1000.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i19_4_cohen_kappa_as_textbooks_compute_it() {
        // 20 items: both yes 5 … the classic table (Cohen 1960 style): po 0.7, pe 0.5 → 0.4.
        let mut pairs = vec![(true, true); 5];
        pairs.extend(vec![(true, false); 5]);
        pairs.extend(vec![(false, true); 1]);
        pairs.extend(vec![(false, false); 9]);
        assert_eq!(
            (cohen_kappa(&pairs).unwrap() * 1000.0).round() / 1000.0,
            0.4
        );
        assert_eq!(cohen_kappa(&[(true, true), (false, false)]), Some(1.0));
        assert_eq!(cohen_kappa(&[(true, true), (true, true)]), Some(1.0));
        assert_eq!(cohen_kappa(&[]), None);
    }
}
