//! Issue 19 item 4 with the real binary: two reviewers decide copies of one review file, `map
//! accept A B` reports their agreement (counts and Cohen's kappa), merges only what they decided
//! alike, writes the rest for adjudication, and the adjudicated file merges with a plain `map
//! accept`.

use crate::common::Workdir;
use yibao::mapping::review::{self, ReviewRow};

use super::{CONFIG, DRUGS};

fn workspace() -> Workdir {
    let w = Workdir::new();
    w.write("yibao.toml", CONFIG);
    w.write("drugs.csv", DRUGS);
    w.import_codes("drug", "20240101", "samples/national/drug_20240101.xlsx");
    w.run(&[
        "map", "suggest", "--area", "320900", "--family", "drug", "--top", "3",
    ])
    .expect_code(0);
    w
}

/// A reviewer's copy: `decide` gives (local code, rank) → decision.
fn copy(w: &Workdir, name: &str, who: &str, decide: &[(&str, u32, &str)]) {
    let mut rows: Vec<ReviewRow> =
        review::read(&w.path().join("out/suggest/320900-drug.csv")).unwrap();
    for r in &mut rows {
        if let Some((_, _, d)) = decide
            .iter()
            .find(|(l, rank, _)| *l == r.local_code && *rank == r.rank)
        {
            r.decision = d.to_string();
            r.reviewer = who.to_string();
        }
    }
    w.write(&format!("out/suggest/{name}"), review::to_csv(&rows));
}

#[test]
fn i19_4_two_reviewers_agreement_conflicts_and_adjudication() {
    let w = workspace();
    copy(
        &w,
        "zhang.csv",
        "张",
        &[
            ("H001", 1, "approve"),
            ("H002", 1, "approve"),
            ("H003", 1, "approve"),
            ("H004", 1, "reject"),
        ],
    );
    copy(
        &w,
        "li.csv",
        "李",
        &[
            ("H001", 1, "approve"),
            ("H002", 1, "reject"),
            ("H002", 2, "approve"),
            ("H004", 1, "reject"),
        ],
    );
    let run = w.run(&[
        "map",
        "accept",
        "out/suggest/zhang.csv",
        "out/suggest/li.csv",
    ]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "reviewers 张 and 李: 4 local code(s), 2 agreed, 1 in conflict, 1 decided by one only, 0 undecided"
        ),
        "{}",
        run.stdout
    );
    // Rows both decided: H001 rank 1 (approve, approve), H002 rank 1 (approve, reject), H004
    // rank 1 (reject, reject): po 2/3, pe 4/9, kappa 0.4.
    assert!(
        run.stdout
            .contains("candidate rows decided by both: 3, alike 2; Cohen's kappa 0.400"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 local code(s) approved, 1 candidate(s) rejected"),
        "{}",
        run.stdout
    );
    let cw = std::fs::read_to_string(w.path().join("mappings/320900/drug.csv")).unwrap();
    let lines: Vec<&str> = cw.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{cw}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("H001,") && l.contains(",approved,\"张, 李\",")),
        "{cw}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("H004,") && l.contains(",rejected,")),
        "{cw}"
    );

    // The conflicts and the one-sided code, undecided, with both decisions in the note.
    let adj_path = w.path().join("out/suggest/zhang-adjudicate.csv");
    let mut adj = review::read(&adj_path).unwrap();
    let locals: std::collections::BTreeSet<&str> =
        adj.iter().map(|r| r.local_code.as_str()).collect();
    assert_eq!(locals.into_iter().collect::<Vec<_>>(), ["H002", "H003"]);
    assert!(adj.iter().all(|r| r.decision.is_empty()));
    let h002_1 = adj
        .iter()
        .find(|r| r.local_code == "H002" && r.rank == 1)
        .unwrap();
    assert_eq!(h002_1.note, "张: approve; 李: reject");
    let h003_1 = adj
        .iter()
        .find(|r| r.local_code == "H003" && r.rank == 1)
        .unwrap();
    assert_eq!(h003_1.note, "张: approve; 李: —");

    // The adjudicator decides; a plain `map accept` merges it.
    for r in &mut adj {
        if (r.local_code == "H002" && r.rank == 2) || (r.local_code == "H003" && r.rank == 1) {
            r.decision = "approve".into();
        }
    }
    std::fs::write(&adj_path, review::to_csv(&adj)).unwrap();
    let run = w.run(&[
        "map",
        "accept",
        "out/suggest/zhang-adjudicate.csv",
        "--reviewer",
        "王",
    ]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("2 local code(s) approved"),
        "{}",
        run.stdout
    );
    let cw = std::fs::read_to_string(w.path().join("mappings/320900/drug.csv")).unwrap();
    let approved: Vec<&str> = cw
        .lines()
        .filter(|l| l.contains(",approved,"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(approved, ["H001", "H002", "H003"], "{cw}");
}

#[test]
fn i19_4_two_reviewers_of_different_files_merge_nothing() {
    let w = workspace();
    copy(&w, "zhang.csv", "张", &[("H001", 1, "approve")]);
    let mut rows = review::read(&w.path().join("out/suggest/320900-drug.csv")).unwrap();
    rows.retain(|r| r.local_code != "H004");
    rows[0].decision = "maybe".into();
    w.write("out/suggest/li.csv", review::to_csv(&rows));
    let run = w.run(&[
        "--json",
        "map",
        "accept",
        "out/suggest/zhang.csv",
        "out/suggest/li.csv",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("out/suggest/li.csv:2: decision `maybe` is not approve, reject or empty"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no row for local code `H004` rank 1"),
        "{}",
        run.stderr
    );
    assert!(!w.path().join("mappings/320900/drug.csv").exists());
    assert!(!w.path().join("out/suggest/zhang-adjudicate.csv").exists());
}
