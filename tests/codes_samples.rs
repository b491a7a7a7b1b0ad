//! Every sample national table of `samples/national/` imports with the figures its README gives,
//! and the two version pairs differ exactly as documented there.

mod common;

use common::{repo_file, Workdir};

fn import(w: &Workdir, family: &str, version: &str, file: &str) -> serde_json::Value {
    let path = repo_file(&format!("samples/national/{file}"));
    w.import_codes_from(family, version, &path, true)
        .expect_code(0)
        .json()
}

fn codes(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            pair[0]
                .as_str()
                .or(pair["code"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn every_sample_table_imports() {
    let w = Workdir::new();
    let cases = [
        (
            "drug",
            "20240101",
            "drug_20240101.xlsx",
            80,
            0,
            Some("总表（80）"),
            2,
        ),
        (
            "drug",
            "20240701",
            "drug_20240701.xlsx",
            82,
            0,
            Some("总表（82）"),
            2,
        ),
        (
            "diagnosis",
            "2.0",
            "diagnosis_2.0.xls",
            300,
            0,
            Some("疾病诊断分类与代码"),
            1,
        ),
        ("diagnosis", "2.0.1", "diagnosis_2.0.1.csv", 302, 0, None, 1),
        ("procedure", "2.0", "procedure_2.0.csv", 200, 0, None, 1),
        ("service", "20240101", "service_gbk.csv", 40, 2, None, 1),
        (
            "consumable",
            "20240101",
            "consumable.xlsx",
            40,
            0,
            Some("医用耗材分类与代码"),
            1,
        ),
    ];
    for (family, version, file, count, retired, sheet, header) in cases {
        let j = import(&w, family, version, file);
        assert_eq!(j["codes"], count, "{file}");
        assert_eq!(j["retired"], retired, "{file}");
        assert_eq!(j["files"][0]["sheet"].as_str(), sheet, "{file}");
        assert_eq!(j["files"][0]["header_row"], header, "{file}");
    }
}

#[test]
fn drug_versions_differ_as_documented() {
    let w = Workdir::new();
    import(&w, "drug", "20240101", "drug_20240101.xlsx");
    import(&w, "drug", "20240701", "drug_20240701.xlsx");
    let j = w
        .run(&[
            "--json", "codes", "diff", "--family", "drug", "20240101", "20240701",
        ])
        .expect_code(0)
        .json();
    assert_eq!(
        codes(&j["added"]),
        [
            "XA02BCF721A001010591742",
            "XA10BJS279B001010491742",
            "XJ01MAM122A001010691742",
            "XJ05AFE013A001010340188",
            "ZA06CAJ0740040610231",
            "ZC02AAQ0107050130652"
        ]
    );
    assert_eq!(
        codes(&j["retired"]),
        [
            "XB01ACX010A001020613579",
            "XJ01DIF005E001040613579",
            "XJ01MAM122A001090213579",
            "ZA09FAB0150040120417"
        ]
    );
    assert_eq!(
        codes(&j["renamed"]),
        [
            "XA12BAM074A001060640188",
            "XC04AFY101A001050680533",
            "ZA12AAB0505020180533"
        ]
    );
    assert_eq!(j["renamed"][0]["to"], "门冬氨酸钾镁片(薄膜衣)");
}

#[test]
fn diagnosis_versions_differ_as_documented() {
    let w = Workdir::new();
    import(&w, "diagnosis", "2.0", "diagnosis_2.0.xls");
    import(&w, "diagnosis", "2.0.1", "diagnosis_2.0.1.csv");
    let j = w
        .run(&[
            "--json",
            "codes",
            "diff",
            "--family",
            "diagnosis",
            "2.0",
            "2.0.1",
        ])
        .expect_code(0)
        .json();
    assert_eq!(
        codes(&j["added"]),
        [
            "A01.003",
            "D57.100",
            "G30.000x002",
            "H57.900",
            "J90.x00x003",
            "M54.105",
            "P22.800",
            "Q43.003"
        ]
    );
    assert_eq!(
        codes(&j["retired"]),
        [
            "A01.000x002",
            "D57.100x001",
            "G30.000x001",
            "J90.x00x011",
            "M54.100x001",
            "Q43.000x005"
        ]
    );
    assert_eq!(
        codes(&j["renamed"]),
        [
            "A00.900x002",
            "C34.100x003",
            "C34.900x001",
            "E11.900",
            "I10.x00x002"
        ]
    );
    // A retired code explains as retired, its replacement as current.
    let e = w
        .run(&["--json", "codes", "explain", "A01.000x002", "A01.003"])
        .expect_code(0)
        .json();
    assert_eq!(e[0]["tables"][0]["status"], "retired");
    assert_eq!(e[0]["tables"][0]["version"], "2.0");
    assert_eq!(e[1]["tables"][0]["status"], "current");
    assert_eq!(e[1]["tables"][0]["version"], "2.0.1");
}

#[test]
fn a_code_the_table_marks_retired_explains_as_retired() {
    let w = Workdir::new();
    import(&w, "service", "20240101", "service_gbk.csv");
    let e = w
        .run(&[
            "--json",
            "codes",
            "explain",
            "002105000010000",
            "001102000040000",
        ])
        .expect_code(0)
        .json();
    assert_eq!(e[0]["tables"][0]["status"], "retired");
    assert_eq!(e[0]["tables"][0]["name"], "红外热象检查");
    assert_eq!(e[1]["tables"][0]["status"], "current");
}
