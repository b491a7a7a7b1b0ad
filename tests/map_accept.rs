//! `yibao map accept`: a reviewed file (CSV or XLSX) merges approved and rejected rows into the
//! crosswalk with who and when; mistakes are named by row and nothing is merged.

mod common;

use common::{xlsx, Workdir};

const CONFIG: &str = r#"
[[areas]]
code = "320900"
name = "盐城市"

[[datasets]]
name = "fees"
kind = "fee-detail"
path = "fees.csv"
[datasets.columns]
"项目编码" = "medins_list_codg"
"项目名称" = "medins_list_name"
[datasets.codes]
medins_list_codg = "catalog"
"#;

const REVIEW_HEAD: &[&str] = &[
    "area",
    "family",
    "local_code",
    "local_name",
    "local_detail",
    "rank",
    "national_code",
    "national_name",
    "score",
    "evidence",
    "decision",
    "reviewer",
    "note",
    "records",
];

fn workspace() -> Workdir {
    let w = Workdir::new();
    w.write("yibao.toml", CONFIG);
    w.write(
        "fees.csv",
        "项目编码,项目名称\nA1,阿莫西林胶囊\nA1,阿莫西林胶囊\nA2,地喹氯铵含片\nA3,头孢\n",
    );
    w
}

fn review_rows() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "320900",
            "drug",
            "A1",
            "阿莫西林胶囊",
            "",
            "1",
            "XJ01CAA040A001010102699",
            "阿莫西林胶囊",
            "0.95",
            "name",
            "approve",
            "",
            "",
            "2",
        ],
        vec![
            "320900",
            "drug",
            "A1",
            "阿莫西林胶囊",
            "",
            "2",
            "XJ01CAA040A002010102699",
            "阿莫西林片",
            "0.70",
            "name",
            "",
            "",
            "",
            "2",
        ],
        vec![
            "320900",
            "drug",
            "A2",
            "地喹氯铵含片",
            "",
            "1",
            "XJ01CAA040A001010102699",
            "阿莫西林胶囊",
            "0.40",
            "name",
            "reject",
            "李",
            "",
            "1",
        ],
        vec![
            "320900",
            "drug",
            "A3",
            "头孢",
            "",
            "1",
            "XJ01DDT057B001010100378",
            "注射用头孢曲松钠",
            "0.60",
            "name",
            "",
            "",
            "",
            "1",
        ],
    ]
}

fn csv_of(rows: &[Vec<&str>]) -> String {
    let mut s = REVIEW_HEAD.join(",") + "\n";
    for r in rows {
        s += &(r.join(",") + "\n");
    }
    s
}

#[test]
fn csv_review_merges_with_who_and_when() {
    let w = workspace();
    w.write("review.csv", csv_of(&review_rows()));
    let run = w.run(&["--json", "map", "accept", "review.csv", "--reviewer", "王"]);
    let j = run.expect_code(0).json();
    assert_eq!(
        (
            j["approved"].as_u64(),
            j["rejected"].as_u64(),
            j["undecided"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let cw = std::fs::read_to_string(w.path().join("mappings/320900/drug.csv")).unwrap();
    let lines: Vec<&str> = cw.lines().collect();
    assert_eq!(lines.len(), 3, "{cw}");
    assert!(
        lines[1].starts_with(
            "A1,阿莫西林胶囊,XJ01CAA040A001010102699,阿莫西林胶囊,1:1,,,,approved,王,"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("suggested rank 1 score 0.950"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(
            "A2,地喹氯铵含片,XJ01CAA040A001010102699,阿莫西林胶囊,1:1,,,,rejected,李,"
        ),
        "{}",
        lines[2]
    );
    // The approved code now counts as mapped; the rejected one does not.
    let cov = w.run(&["--json", "map", "coverage"]).expect_code(0).json();
    assert_eq!(cov["coverage"].as_f64(), Some(1.0 / 3.0));
    // Accepting the same file again changes nothing and says why.
    let again = w.run(&["map", "accept", "review.csv"]);
    again.expect_code(2);
    assert!(
        again
            .stderr
            .contains("review.csv:2: local code `A1` is already approved"),
        "{}",
        again.stderr
    );
}

#[test]
fn xlsx_review_is_accepted_too() {
    let w = workspace();
    let rows = review_rows();
    let mut all: Vec<&[&str]> = vec![REVIEW_HEAD];
    all.extend(rows.iter().map(|r| r.as_slice()));
    w.write("review.xlsx", xlsx("review", None, &all));
    let j = w
        .run(&["--json", "map", "accept", "review.xlsx", "--reviewer", "王"])
        .expect_code(0)
        .json();
    assert_eq!(
        (j["approved"].as_u64(), j["rejected"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn mistakes_are_named_by_row_and_nothing_is_merged() {
    let w = workspace();
    let mut rows = review_rows();
    rows[1][10] = "approve"; // A1 approved twice
    rows[2][10] = "maybe";
    rows[3][6] = "XJ01DDT057B00101010037"; // malformed
    rows[3][10] = "approve";
    w.write("review.csv", csv_of(&rows));
    let run = w.run(&["map", "accept", "review.csv"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("3 mistake(s) in the review file; nothing was merged"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("review.csv:3: local code `A1` is approved twice (also at row 2)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("review.csv:4: decision `maybe`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("review.csv:5: `XJ01DDT057B00101010037` is not a valid drug code"),
        "{}",
        run.stderr
    );
    assert!(!w.path().join("mappings/320900/drug.csv").exists());
}

/// Issue 16 item 3: the area of a review row names a folder; it cannot lead outside mappings/,
/// and an area yibao.toml does not declare is refused, each named by file and row.
#[test]
fn i16_3_accept_path_confined() {
    let w = workspace();
    let outside = w.path().join("escaped");
    let absolute = w.path().join("abs");
    let abs = absolute.display().to_string();
    let mut rows = review_rows();
    rows[0][0] = "../escaped";
    rows[2][0] = &abs;
    rows[3][0] = "999999";
    rows[3][10] = "approve";
    w.write("review.csv", csv_of(&rows));
    let run = w.run(&["map", "accept", "review.csv"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("3 mistake(s) in the review file; nothing was merged"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "review.csv:2: area `../escaped` cannot be used as a file or folder name: it contains a path separator"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "review.csv:4: area `{abs}` cannot be used as a file or folder name: it contains a path separator"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("review.csv:5: area `999999` is not declared in"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(areas: 320900)"), "{}", run.stderr);
    assert!(!outside.exists() && !absolute.exists());
    assert!(!w.path().join("mappings").exists());
}

/// Issue 16 item 9: the README's `map accept out/suggest/…` from outside the workspace found no
/// file and said only "I/O error"; now it says the path is taken from the current folder.
#[test]
fn i16_9_a_missing_review_file_says_where_paths_start() {
    let w = workspace();
    let run = w.run(&["map", "accept", "out/suggest/320900-drug.xlsx"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("out/suggest/320900-drug.xlsx: no such file"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("taken from the current folder"),
        "{}",
        run.stderr
    );
}
