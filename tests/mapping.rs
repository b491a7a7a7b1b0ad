//! Crosswalks: loading with file:line diagnostics, applying (1:1, n:1, dated and conditional 1:n),
//! and `yibao map coverage` on generated data with known unmapped codes.

mod common;

use common::Workdir;
use polars::prelude::*;
use yibao::mapping::apply::apply;
use yibao::mapping::load::Crosswalks;
use yibao::source::dataset::read_dataset;
use yibao::workspace::Workspace;

const HEAD: &str = "local_code,local_name,national_code,national_name,relation,condition,valid_from,valid_to,status,reviewer,reviewed_at,note\n";

const CONFIG: &str = r#"
[[areas]]
code = "320900"
name = "盐城市"

[[datasets]]
name = "fees"
kind = "fee-detail"
path = "fees.csv"
[datasets.columns]
"流水号" = "feedetl_sn"
"项目编码" = "medins_list_codg"
"项目名称" = "medins_list_name"
"科室" = "bilg_dept_codg"
"时间" = "fee_ocur_time"
"金额" = "det_item_fee_sumamt"
[datasets.codes]
medins_list_codg = "catalog"
"#;

const FEES: &str = "流水号,项目编码,项目名称,科室,时间,金额\n\
1,A1,阿莫西林胶囊0.25g,A03,2024-03-01 10:00:00,10.00\n\
2,A1-B,阿莫西林胶囊(瓶),A03,2024-03-01 10:00:00,20.00\n\
3,D1,头孢,A03,2024-03-01 10:00:00,30.00\n\
4,D1,头孢,A03,2024-08-01 10:00:00,40.00\n\
5,K1,检查,A03,2024-03-01 10:00:00,50.00\n\
6,K1,检查,A04,2024-03-01 10:00:00,60.00\n\
7,K1,检查,A07,2024-03-01 10:00:00,70.00\n\
8,U1,未对码,A03,2024-03-01 10:00:00,80.00\n";

fn workspace(drug: &str, service: &str) -> Workdir {
    let w = Workdir::new();
    w.write("yibao.toml", CONFIG);
    w.write("fees.csv", FEES);
    w.write("mappings/320900/drug.csv", format!("{HEAD}{drug}"));
    w.write("mappings/320900/service.csv", format!("{HEAD}{service}"));
    w
}

const DRUG: &str = "A1,阿莫西林胶囊,XJ01CAA040A001010102699,阿莫西林胶囊,n:1,,,,approved,王,2024-01-01,\n\
A1-B,阿莫西林胶囊(瓶),XJ01CAA040A001010102699,阿莫西林胶囊,n:1,,,,approved,王,2024-01-01,\n\
D1,头孢,XJ01DDT057B001010100378,注射用头孢曲松钠,1:1,,2024-01-01,2024-06-30,approved,王,2024-01-01,\n\
D1,头孢,XJ01DDT057B001010100999,注射用头孢曲松钠(新),1:1,,2024-07-01,,approved,王,2024-07-01,\n\
U1,未对码,XA01ABD075A002010100483,地喹氯铵含片,1:1,,,,pending,,,\n";

const SERVICE: &str =
    "K1,检查,002501000010000,血常规,1:n,bilg_dept_codg = A03,,,approved,李,2024-01-01,\n\
K1,检查,002503000020000,肝功能,1:n,bilg_dept_codg in A04|A05,,,approved,李,2024-01-01,\n";

#[test]
fn n_to_1_dated_and_conditional_rows_apply() {
    let w = workspace(DRUG, SERVICE);
    let ws = Workspace::load(w.path()).unwrap();
    let ds = ws.dataset("fees").unwrap();
    let cws = Crosswalks::load(&ws, None).unwrap();
    let read = read_dataset(&ws, ds, None).unwrap();
    let df = apply(read.frame.clone(), ds, &cws)
        .unwrap()
        .select([
            col("feedetl_sn"),
            col("med_list_codg"),
            col("_map_medins_list_codg"),
        ])
        .sort(["feedetl_sn"], Default::default())
        .collect()
        .unwrap();
    let codes: Vec<Option<String>> = df
        .column("med_list_codg")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect();
    let want = [
        Some("XJ01CAA040A001010102699"), // n:1
        Some("XJ01CAA040A001010102699"), // n:1
        Some("XJ01DDT057B001010100378"), // in the first window
        Some("XJ01DDT057B001010100999"), // in the second window
        Some("002501000010000"),         // condition dept = A03
        Some("002503000020000"),         // condition dept in A04|A05
        None,                            // no condition matches A07
        None,                            // pending rows do not apply
    ];
    assert_eq!(codes, want.map(|c| c.map(str::to_string)));
    let fams: Vec<Option<&str>> = df
        .column("_map_medins_list_codg")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(
        fams,
        [
            Some("drug"),
            Some("drug"),
            Some("drug"),
            Some("drug"),
            Some("service"),
            Some("service"),
            None,
            None
        ]
    );
}

#[test]
fn coverage_counts_codes_records_and_amounts() {
    let w = workspace(DRUG, SERVICE);
    let j = w.run(&["--json", "map", "coverage"]).expect_code(0).json();
    let rows = j["by_area_family"].as_array().unwrap();
    let get = |fam: &str| rows.iter().find(|r| r["family"] == fam).unwrap().clone();
    let drug = get("drug");
    assert_eq!(
        (
            drug["codes"].as_u64(),
            drug["codes_mapped"].as_u64(),
            drug["records"].as_u64()
        ),
        (Some(3), Some(3), Some(4))
    );
    assert_eq!(drug["amount"].as_f64(), Some(100.0));
    // K1 is mapped on two of its three records: it counts as a mapped code of `service`, and
    // its unmapped record as an unmapped `catalog` code.
    let service = get("service");
    assert_eq!(
        (
            service["codes"].as_u64(),
            service["records"].as_u64(),
            service["amount"].as_f64()
        ),
        (Some(1), Some(2), Some(110.0))
    );
    let catalog = get("catalog");
    assert_eq!(
        (
            catalog["codes"].as_u64(),
            catalog["codes_mapped"].as_u64(),
            catalog["records"].as_u64()
        ),
        (Some(2), Some(0), Some(2))
    );
    assert_eq!(catalog["top_unmapped_by_amount"][0]["code"], "U1");
    assert_eq!(catalog["top_unmapped_by_amount"][0]["name"], "未对码");
}

#[test]
fn crosswalk_mistakes_are_located_and_exit_2() {
    let bad = "A1,x,XJ01CAA040A00101010269,y,1:1,,,,approved,,,\nD1,x,XJ01DDT057B001010100378,y,1:1,,,,approved,,,\nD1,x,XA01ABD075A002010100483,y,1:1,,,,approved,,,\n";
    let w = workspace(bad, SERVICE);
    let run = w.run(&["map", "coverage"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("2 mistake(s) in the crosswalk"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("drug.csv:2: national code:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("drug.csv:4: local code `D1` is mapped again without a condition"),
        "{}",
        run.stderr
    );
}

#[test]
fn approved_codes_must_be_current_in_the_loaded_table() {
    let w = workspace(DRUG, SERVICE);
    w.write("drugs.csv", "药品代码,注册名称\nXJ01CAA040A001010102699,阿莫西林胶囊\nXJ01DDT057B001010100378,注射用头孢曲松钠\n");
    w.run(&[
        "codes",
        "import",
        "--family",
        "drug",
        "--version",
        "1",
        "drugs.csv",
    ])
    .expect_code(0);
    let run = w.run(&["map", "coverage"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "drug.csv:5: national code `XJ01DDT057B001010100999` is not in the loaded drug version"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn generated_data_has_the_known_unmapped_codes() {
    let w = Workdir::new();
    w.run(&[
        "samples", "generate", "--rows", "20000", "--seed", "1", "--out", "gen",
    ])
    .expect_code(0);
    let j = w
        .run(&["--workspace", "gen", "--json", "map", "coverage"])
        .expect_code(0)
        .json();
    let rows = j["by_area_family"].as_array().unwrap();
    let catalog = rows.iter().find(|r| r["family"] == "catalog").unwrap();
    let mut unmapped: Vec<&str> = catalog["top_unmapped_by_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    unmapped.sort();
    assert_eq!(unmapped, ["A9400091IJ00", "C0005", "F0086"]);
    // The fee lines whose item is unmapped: the generator's truth.csv says 2,182 (fee.unmapped_item).
    assert_eq!(catalog["records"], 2182);
    let total: u64 = rows.iter().map(|r| r["records"].as_u64().unwrap()).sum();
    assert_eq!(total, 20_000);
    assert_eq!(j["coverage"].as_f64(), Some(24.0 / 27.0));
}

#[test]
fn generated_national_tables_load_with_the_generated_crosswalks() {
    let w = Workdir::new();
    w.run(&[
        "samples", "generate", "--rows", "3000", "--seed", "1", "--out", "gen",
    ])
    .expect_code(0);
    for f in ["drug", "service", "consumable"] {
        let table = format!("gen/national/{f}.csv");
        w.run(&[
            "--workspace",
            "gen",
            "codes",
            "import",
            "--family",
            f,
            "--version",
            "gen",
            &table,
        ])
        .expect_code(0);
    }
    w.run(&["--workspace", "gen", "map", "coverage"])
        .expect_code(0);
    let j = w
        .run(&[
            "--workspace",
            "gen",
            "--json",
            "map",
            "suggest",
            "--area",
            "320900",
            "--family",
            "drug",
        ])
        .expect_code(0)
        .json();
    let text = j.to_string();
    assert!(text.contains("A9400091IJ00"), "{text}");
    assert!(text.contains("XA10ABY079B002010103307"), "{text}");
}

/// Issue 16 item 10: a crosswalk saved as GBK is refused at the line of its first non-UTF-8
/// byte; a header without `national_code` is told apart from the columns a crosswalk needs.
#[test]
fn i16_10_crosswalk_encoding_and_header_messages() {
    let w = workspace("", "");
    let text = format!(
        "{HEAD}A1,amoxicillin,XJ01CAA040A001010102699,,1:1,,,,approved,王,,\nA2,阿莫西林,XJ01CAA040A001010102699,,1:1,,,,approved,,,\n"
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    w.write("mappings/320900/drug.csv", gbk);
    let run = w.run(&["map", "coverage"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("mappings/320900/drug.csv:2: not UTF-8 text (it reads as GBK)"),
        "{}",
        run.stderr
    );
    w.write(
        "mappings/320900/drug.csv",
        "local_code,local_name,code\nA1,a,X\n",
    );
    let run = w.run(&["map", "coverage"]);
    run.expect_code(2);
    let flat = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("drug.csv:1: the header lacks `national_code`: it has `local_code`, `local_name`, `code`; a crosswalk's columns are local_code,local_name,national_code,"),
        "{}",
        run.stderr
    );
}
