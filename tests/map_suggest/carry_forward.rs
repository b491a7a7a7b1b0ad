//! Issue 19 item 5 with the real binary: a crosswalk approved against the 2024-01 drug table; the
//! 2024-07 table retires one mapped code and renames another. `map coverage` flags both rows and
//! counts the retired one as unmapped, `map suggest` proposes the successor from the version
//! diff and the names, and accepting it carries the row forward (the old row kept as rejected).

use crate::common::{repo_file, Workdir};
use yibao::mapping::review;

const CONFIG: &str = r#"
[[areas]]
code = "320900"
name = "盐城市"

[[datasets]]
name = "drugs"
kind = "drug-catalog"
area = "320900"
path = "drugs.csv"
[datasets.columns]
"编码" = "fixmedins_hilist_id"
"名称" = "fixmedins_hilist_name"
"规格" = "spec"
[datasets.codes]
fixmedins_hilist_id = "catalog"
"#;

const DRUGS: &str = "编码,名称,规格\n\
H010,莫西沙星片,0.4g\n\
H020,门冬氨酸钾镁片,\n";

const CROSSWALK: &str = "local_code,local_name,national_code,national_name,relation,condition,valid_from,valid_to,status,reviewer,reviewed_at,note\n\
H010,莫西沙星片,XJ01MAM122A001090213579,盐酸莫西沙星片,1:1,,,,approved,李,2024-02-01,\n\
H020,门冬氨酸钾镁片,XA12BAM074A001060640188,门冬氨酸钾镁片,1:1,,,,approved,李,2024-02-01,\n";

fn import(w: &Workdir, version: &str) {
    let table = repo_file(&format!("samples/national/drug_{version}.xlsx"));
    w.run(&[
        "codes",
        "import",
        "--family",
        "drug",
        "--version",
        version,
        table.to_str().unwrap(),
    ])
    .expect_code(0);
}

#[test]
fn i19_5_carry_forward_to_a_version_that_retires_a_mapped_code() {
    let w = Workdir::new();
    w.write("yibao.toml", CONFIG);
    w.write("drugs.csv", DRUGS);
    w.write("mappings/320900/drug.csv", CROSSWALK);
    import(&w, "20240101");
    let j = w.run(&["--json", "map", "coverage"]).expect_code(0).json();
    assert_eq!(j["codes_mapped"], 2, "{j:#}");
    assert_eq!(j["carry_forward"], serde_json::json!([]));

    import(&w, "20240701");
    let run = w.run(&["map", "coverage"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("carry forward 320900 drug H010 → XJ01MAM122A001090213579 盐酸莫西沙星片: retired in 20240701 (current in 20240101); counted as unmapped"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("carry forward 320900 drug H020 → XA12BAM074A001060640188: renamed in 20240701 from 门冬氨酸钾镁片 to 门冬氨酸钾镁片(薄膜衣); still mapped"),
        "{}",
        run.stdout
    );
    let j = w.run(&["--json", "map", "coverage"]).expect_code(0).json();
    assert_eq!(j["codes"], 2, "{j:#}");
    assert_eq!(j["codes_mapped"], 1, "{j:#}");
    assert_eq!(j["carry_forward"][0]["change"], "retired");
    assert_eq!(j["carry_forward"][0]["last"], "20240101");
    assert_eq!(j["carry_forward"][1]["change"], "renamed");

    // The successor, proposed from the retired code's name in the version in force.
    let j = w
        .run(&[
            "--json", "map", "suggest", "--area", "320900", "--family", "drug", "--top", "3",
        ])
        .expect_code(0)
        .json();
    let s = &j["suggestions"][0];
    assert_eq!(s["local_code"], "H010", "{j:#}");
    assert_eq!(j["suggestions"].as_array().unwrap().len(), 1, "{j:#}");
    let best = &s["candidates"][0];
    assert_eq!(best["code"], "XJ01MAM122A001010691742", "{s:#}");
    assert!(
        best["evidence"]
            .as_str()
            .unwrap()
            .starts_with("successor of XJ01MAM122A001090213579 盐酸莫西沙星片 (retired in 20240701, current in 20240101, added in 20240701); "),
        "{s:#}"
    );
    // The retired code itself is never proposed.
    assert!(s["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["code"] != "XJ01MAM122A001090213579"));

    // Accept it: the old row stays, rejected, with why; the successor is approved.
    let path = w.path().join("out/suggest/320900-drug.csv");
    let mut rows = review::read(&path).unwrap();
    rows.iter_mut()
        .find(|r| r.local_code == "H010" && r.rank == 1)
        .unwrap()
        .decision = "approve".into();
    std::fs::write(&path, review::to_csv(&rows)).unwrap();
    w.run(&[
        "map",
        "accept",
        "out/suggest/320900-drug.csv",
        "--reviewer",
        "王",
    ])
    .expect_code(0);
    let cw = std::fs::read_to_string(w.path().join("mappings/320900/drug.csv")).unwrap();
    let h010: Vec<&str> = cw.lines().filter(|l| l.starts_with("H010,")).collect();
    assert_eq!(h010.len(), 2, "{cw}");
    assert!(
        h010[0].contains("XJ01MAM122A001090213579") && h010[0].contains(",rejected,"),
        "{cw}"
    );
    assert!(
        h010[0].contains("retired in 20240701; successor XJ01MAM122A001010691742 approved"),
        "{cw}"
    );
    assert!(
        h010[1].contains("XJ01MAM122A001010691742") && h010[1].contains(",approved,王,"),
        "{cw}"
    );
    let j = w.run(&["--json", "map", "coverage"]).expect_code(0).json();
    assert_eq!(j["codes_mapped"], 2, "{j:#}");
    assert_eq!(j["carry_forward"].as_array().unwrap().len(), 1, "{j:#}");
    assert_eq!(j["carry_forward"][0]["change"], "renamed");
}
