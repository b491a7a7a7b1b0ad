//! `yibao codes import / explain / diff` run as a user runs them: the real binary, a fresh
//! workspace, exit codes and figures asserted.

mod common;

use common::{shared_file, xlsx, Workdir};
use yibao::codes::Family;
use yibao::store::Store;

const DRUG_HEADER: &[&str] = &[
    "序号",
    "注册名称",
    "药品代码",
    "剂型",
    "规格",
    "药品企业",
    "批准文号",
    "药品本位码",
];
const DRUG_A: &[&str] = &[
    "1",
    "地喹氯铵含片",
    "XA01ABD075A002010100483",
    "含片",
    "0.25mg",
    "某药业",
    "国药准字H20067255",
    "86900483000019",
];
const DRUG_B: &[&str] = &[
    "2",
    "阿莫西林胶囊",
    "XJ01CAA040A001010102699",
    "胶囊剂",
    "0.25g",
    "某制药",
    "",
    "",
];
const DRUG_C: &[&str] = &[
    "3",
    "阿莫西林片",
    "XJ01CAA040A002010102699",
    "片剂",
    "0.25g",
    "某制药",
    "",
    "",
];
const DRUG_C_RENAMED: &[&str] = &[
    "3",
    "阿莫西林分散片",
    "XJ01CAA040A002010102699",
    "片剂",
    "0.25g",
    "某制药",
    "",
    "",
];
const DRUG_D: &[&str] = &[
    "4",
    "阿莫西林颗粒",
    "XJ01CAA040A003010102699",
    "颗粒剂",
    "0.125g",
    "某制药",
    "",
    "",
];

fn drug_book(sheet: &str, rows: &[&[&str]]) -> Vec<u8> {
    let mut all: Vec<&[&str]> = vec![DRUG_HEADER];
    all.extend_from_slice(rows);
    xlsx(sheet, Some("国家医保药品分类与代码"), &all)
}

fn sets(w: &Workdir, family: Family) -> Vec<(String, i64)> {
    Store::open(w.path())
        .unwrap()
        .code_sets(family)
        .unwrap()
        .into_iter()
        .map(|s| (s.version, s.codes))
        .collect()
}

#[test]
fn imports_the_drug_workbook_by_header_name_below_a_title_row() {
    let w = Workdir::new();
    w.write(
        "drugs.xlsx",
        drug_book("总表（240101）", &[DRUG_A, DRUG_B, DRUG_C]),
    );
    let run = w.run(&[
        "--json",
        "codes",
        "import",
        "--family",
        "drug",
        "--version",
        "20240101",
        "drugs.xlsx",
    ]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["codes"], 3);
    assert_eq!(j["files"][0]["sheet"], "总表（240101）");
    assert_eq!(j["files"][0]["header_row"], 2);
    assert_eq!(j["files"][0]["code_column"], "药品代码");
    assert_eq!(j["files"][0]["name_column"], "注册名称");
    assert_eq!(sets(&w, Family::Drug), [("20240101".to_string(), 3)]);
}

#[test]
fn explain_and_diff_across_two_versions() {
    let w = Workdir::new();
    w.write(
        "v1.xlsx",
        drug_book("总表（240101）", &[DRUG_A, DRUG_B, DRUG_C]),
    );
    w.write(
        "v2.xlsx",
        drug_book("总表（240701）", &[DRUG_A, DRUG_C_RENAMED, DRUG_D]),
    );
    w.run(&[
        "codes",
        "import",
        "--family",
        "drug",
        "--version",
        "20240101",
        "v1.xlsx",
    ])
    .expect_code(0);
    w.run(&[
        "codes",
        "import",
        "--family",
        "drugs",
        "--version",
        "20240701",
        "v2.xlsx",
    ])
    .expect_code(0);

    let diff = w.run(&[
        "--json", "codes", "diff", "--family", "drug", "20240101", "20240701",
    ]);
    let j = diff.expect_code(0).json();
    assert_eq!(j["added"].as_array().unwrap().len(), 1);
    assert_eq!(j["added"][0][0], "XJ01CAA040A003010102699");
    assert_eq!(j["retired"].as_array().unwrap().len(), 1);
    assert_eq!(j["retired"][0][0], "XJ01CAA040A001010102699");
    assert_eq!(j["renamed"].as_array().unwrap().len(), 1);
    assert_eq!(j["renamed"][0]["to"], "阿莫西林分散片");

    let human = w.run(&["codes", "diff", "--family", "drug", "20240101", "20240701"]);
    assert!(human
        .expect_code(0)
        .stdout
        .starts_with("drug 20240101 -> 20240701: 1 added, 1 retired, 1 renamed"));

    let explain = w.run(&[
        "--json",
        "codes",
        "explain",
        "XJ01CAA040A001010102699",
        "XA01ABD075A002010100483",
    ]);
    let j = explain.expect_code(0).json();
    assert_eq!(j[0]["tables"][0]["status"], "retired");
    assert_eq!(j[0]["tables"][0]["version"], "20240101");
    assert_eq!(j[1]["tables"][0]["status"], "current");
    assert_eq!(j[1]["tables"][0]["name"], "地喹氯铵含片");
    assert_eq!(j[1]["tables"][0]["version"], "20240701");

    let human = w.run(&["codes", "explain", "XJ01CAA040A001010102699"]);
    assert!(
        human.expect_code(0).stdout.contains("RETIRED"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_corrupt_workbook_leaves_the_store_unchanged() {
    let w = Workdir::new();
    w.write("v1.xlsx", drug_book("总表（240101）", &[DRUG_A, DRUG_B]));
    w.run(&[
        "codes",
        "import",
        "--family",
        "drug",
        "--version",
        "1",
        "v1.xlsx",
    ])
    .expect_code(0);
    let good = drug_book("总表（240701）", &[DRUG_A, DRUG_B, DRUG_C]);
    w.write("cut.xlsx", &good[..good.len() / 2]);
    let run = w.run(&[
        "codes",
        "import",
        "--family",
        "drug",
        "--version",
        "2",
        "cut.xlsx",
    ]);
    run.expect_code(2);
    assert!(run.stderr.contains("cut.xlsx"), "{}", run.stderr);
    assert!(
        run.stderr.contains("not a readable xlsx workbook"),
        "{}",
        run.stderr
    );
    assert_eq!(sets(&w, Family::Drug), [("1".to_string(), 2)]);
}

#[test]
fn a_wrong_layout_names_the_headers_it_wanted() {
    let w = Workdir::new();
    w.write(
        "other.xlsx",
        xlsx("Sheet1", None, &[&["编号", "说明"], &["1", "x"]]),
    );
    let run = w.run(&[
        "codes",
        "import",
        "--family",
        "drug",
        "--version",
        "1",
        "other.xlsx",
    ]);
    run.expect_code(2);
    assert!(run.stderr.contains("no drug table found"), "{}", run.stderr);
    assert!(run.stderr.contains("药品代码"), "{}", run.stderr);
    assert!(!w.path().join(".yibao/state.db").exists() || sets(&w, Family::Drug).is_empty());
}

#[test]
fn bad_rows_are_named_by_row_and_column_and_nothing_is_imported() {
    let w = Workdir::new();
    w.write(
        "dx1.csv",
        "诊断代码,诊断名称\nK92.210,上消化道出血\nR18.x00,腹水\n",
    );
    w.run(&[
        "codes",
        "import",
        "--family",
        "diagnosis",
        "--version",
        "1.0",
        "dx1.csv",
    ])
    .expect_code(0);
    w.write(
        "dx2.csv",
        "诊断代码,诊断名称\nK92.210,上消化道出血\nk40.900x003,单侧腹股沟疝\n,空代码\nR18.x00,腹水\nR18.x00,腹水重复\n",
    );
    let run = w.run(&[
        "codes",
        "import",
        "--family",
        "diagnosis",
        "--version",
        "2.0",
        "dx2.csv",
    ]);
    run.expect_code(2);
    assert!(run.stderr.contains("3 bad row(s)"), "{}", run.stderr);
    assert!(
        run.stderr.contains("dx2.csv:3: column 诊断代码 (#1)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("K40.900x003"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("dx2.csv:4: column 诊断代码 (#1): empty code"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("dx2.csv:6: column 诊断代码 (#1): code `R18.x00` appears twice"),
        "{}",
        run.stderr
    );
    assert_eq!(sets(&w, Family::Diagnosis), [("1.0".to_string(), 2)]);
}

#[test]
fn gbk_csv_imports_and_versions_are_not_overwritten_silently() {
    let w = Workdir::new();
    let (gbk, _, _) = encoding_rs::GBK.encode(
        "手术操作代码,手术操作名称\n99.2503,静脉注射化疗药物\n85.5300x001,单侧乳房假体置入术\n",
    );
    w.write("ss.csv", &gbk);
    let run = w.run(&[
        "codes",
        "import",
        "--family",
        "procedure",
        "--version",
        "2.0",
        "ss.csv",
    ]);
    assert!(
        run.expect_code(0)
            .stdout
            .contains("loaded procedure version 2.0: 2 codes"),
        "{}",
        run.stdout
    );
    let again = w.run(&[
        "codes",
        "import",
        "--family",
        "procedure",
        "--version",
        "2.0",
        "ss.csv",
    ]);
    again.expect_code(2);
    assert!(again.stderr.contains("already loaded"), "{}", again.stderr);
    let replaced = w.run(&[
        "codes",
        "import",
        "--family",
        "procedure",
        "--version",
        "2.0",
        "--replace",
        "ss.csv",
    ]);
    assert!(replaced
        .expect_code(0)
        .stdout
        .contains("replaced procedure version 2.0: 2 codes"));
    let j = w
        .run(&["--json", "codes", "explain", "99.2503"])
        .expect_code(0)
        .json();
    assert_eq!(j[0]["tables"][0]["name"], "静脉注射化疗药物");
}

#[test]
fn undecodable_bytes_are_located() {
    let w = Workdir::new();
    let mut bytes = "诊断代码,诊断名称\nK92.210,上消化道出血\n"
        .as_bytes()
        .to_vec();
    bytes.extend_from_slice(b"R18.x00,\xff\xff\n");
    w.write("bad.csv", &bytes);
    let run = w.run(&[
        "codes",
        "import",
        "--family",
        "diagnosis",
        "--version",
        "1",
        "bad.csv",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("bad.csv:3: bytes that are neither UTF-8 nor GBK/GB18030"),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_exit_codes() {
    let w = Workdir::new();
    let ok = w.run(&["codes", "explain", "K92.210", "85.5300x001"]);
    assert!(
        ok.expect_code(0).stdout.contains("K92.210  diagnosis"),
        "{}",
        ok.stdout
    );
    let malformed = w.run(&["codes", "explain", "93.351699999999994"]);
    malformed.expect_code(2);
    assert!(malformed.stdout.contains("93.3517"), "{}", malformed.stdout);
    let flagged = w.run(&["codes", "explain", "k40.900x003"]);
    flagged.expect_code(2);
    assert!(flagged.stdout.contains("K40.900x003"), "{}", flagged.stdout);
    let unknown = w.run(&["codes", "explain", "hello"]);
    unknown.expect_code(2);
    assert!(unknown.stdout.contains("unknown"), "{}", unknown.stdout);
    let forced = w.run(&["codes", "explain", "--family", "drug", "K92.210"]);
    forced.expect_code(2);
}

#[test]
fn unknown_family_and_missing_versions_are_input_errors() {
    let w = Workdir::new();
    w.write("x.csv", "code,name\nK92.210,x\n");
    let run = w.run(&[
        "codes",
        "import",
        "--family",
        "herbs",
        "--version",
        "1",
        "x.csv",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unknown code family `herbs`"),
        "{}",
        run.stderr
    );
    let diff = w.run(&["codes", "diff", "--family", "drug", "1", "2"]);
    diff.expect_code(2);
    let missing = w.run(&[
        "codes",
        "import",
        "--family",
        "drug",
        "--version",
        "1",
        "nope.xlsx",
    ]);
    missing.expect_code(2);
    assert!(missing.stderr.contains("nope.xlsx"), "{}", missing.stderr);
}

#[test]
fn imports_the_shared_diagnosis_list() {
    let Some(path) = shared_file("national-codes/diagnoses/icd10-yibao-2.0-chs-drg-1.1.tsv") else {
        return;
    };
    let w = Workdir::new();
    let p = path.to_str().unwrap();
    let run = w.run(&[
        "--json",
        "codes",
        "import",
        "--family",
        "diagnosis",
        "--version",
        "2.0",
        p,
    ]);
    let j = run.expect_code(0).json();
    assert_eq!(j["codes"], 33_304);
    eprintln!(
        "imported 33,304 diagnoses in {:.2}s",
        j["seconds"].as_f64().unwrap()
    );
    let e = w
        .run(&["--json", "codes", "explain", "K92.210", "A01.002+G01*"])
        .expect_code(0)
        .json();
    assert_eq!(e[0]["tables"][0]["status"], "current");
    assert_eq!(e[1]["tables"][0]["status"], "current");
}
