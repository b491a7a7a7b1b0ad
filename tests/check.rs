//! `yibao check` on generated data with defects injected at known counts: the per-rule counts,
//! the dirty counts and the dirty-data rates equal what the generator's ground truth says,
//! exactly; the rejects name each dirty record's row and rules; a breached threshold exits 1.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::Workdir;
use serde_json::Value;

/// Generate `rows` fee lines (seed 1) into the workdir.
fn generated(rows: u64) -> Workdir {
    common::generated(rows, 1)
}

/// Severity of every rule of the built-in packs.
fn severities(w: &Workdir) -> HashMap<String, String> {
    let out = w.run(&["--json", "rules", "list", "--pack", "national"]);
    out.expect_code(0);
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// From truth.csv: per dataset, rule -> the set of rows that must fail it.
fn truth(w: &Workdir) -> BTreeMap<String, BTreeMap<String, BTreeSet<u64>>> {
    common::truth(&w.path().join("truth.csv"))
}

fn dataset<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no dataset {name} in the report"))
}

/// The figures of a check equal the ground truth: every rule's failures, the dirty records
/// (several defects on one record count once), the rates.
fn assert_matches_truth(rows: u64) {
    assert_matches_truth_in(rows, None);
}

/// The same with the records evaluated `chunk` at a time (`YIBAO_CHUNK_ROWS`).
fn assert_matches_truth_in(rows: u64, chunk: Option<&str>) {
    let w = generated(rows);
    let sev = severities(&w);
    let truth = truth(&w);
    let env: Vec<(&str, &str)> = chunk.map(|c| ("YIBAO_CHUNK_ROWS", c)).into_iter().collect();
    let out = w.run_with(&env, &["--json", "check"]);
    out.expect_code(0);
    let report = out.json();
    let mut total_dirty = 0u64;
    let mut total_records = 0u64;
    for name in ["settlements", "fee_details"] {
        let d = dataset(&report, name);
        let expected = truth.get(name).cloned().unwrap_or_default();
        let mut failed: BTreeMap<String, u64> = BTreeMap::new();
        for r in d["rules"].as_array().unwrap() {
            let n = r["failed"].as_u64().unwrap();
            if n > 0 {
                failed.insert(r["id"].as_str().unwrap().to_string(), n);
            }
        }
        let wanted: BTreeMap<String, u64> = expected
            .iter()
            .map(|(rule, rows)| (rule.clone(), rows.len() as u64))
            .collect();
        assert_eq!(
            failed, wanted,
            "{name}: rule failures differ from truth.csv"
        );
        let dirty_rows: BTreeSet<u64> = expected
            .iter()
            .filter(|(rule, _)| sev[rule.as_str()] == "error")
            .flat_map(|(_, rows)| rows.iter().copied())
            .collect();
        let violations: u64 = expected
            .iter()
            .filter(|(rule, _)| sev[rule.as_str()] == "error")
            .map(|(_, rows)| rows.len() as u64)
            .sum();
        let dirty = d["dirty"].as_u64().unwrap();
        let records = d["records"].as_u64().unwrap();
        assert_eq!(dirty, dirty_rows.len() as u64, "{name}: dirty records");
        assert!(
            dirty < violations,
            "{name}: some records carry several defects, so dirty ({dirty}) < violations ({violations})"
        );
        let rate = d["rate"].as_f64().unwrap();
        assert!((rate - dirty as f64 / records as f64).abs() < 1e-12);
        total_dirty += dirty;
        total_records += records;
    }
    assert_eq!(report["overall"]["dirty"].as_u64().unwrap(), total_dirty);
    assert_eq!(
        report["overall"]["records"].as_u64().unwrap(),
        total_records
    );
}

#[test]
fn figures_match_the_ground_truth_at_20k_rows() {
    assert_matches_truth(20_000);
}

#[test]
fn figures_match_the_ground_truth_at_100k_rows() {
    assert_matches_truth(100_000);
}

/// Chunks of 997 records: every duplicate key, reference and institution spans chunks, and the
/// figures are still exact.
#[test]
fn figures_match_the_ground_truth_in_chunks_of_997_records() {
    assert_matches_truth_in(20_000, Some("997"));
}

/// A check in many small chunks and one in a single chunk write the same report (samples,
/// institutions, per-rule figures) and the same rejects, byte for byte.
#[test]
fn chunked_passes_give_the_same_report_and_rejects() {
    let w = generated(20_000);
    let mut runs = Vec::new();
    for chunk in ["997", "1000000"] {
        let out = w.run_with(&[("YIBAO_CHUNK_ROWS", chunk)], &["--json", "check"]);
        out.expect_code(0);
        let report = out.json();
        let dir = w
            .path()
            .join("out")
            .join(report["run_id"].as_str().unwrap());
        let rejects: Vec<String> = ["settlements", "fee_details"]
            .iter()
            .map(|d| std::fs::read_to_string(dir.join("rejects").join(format!("{d}.csv"))).unwrap())
            .collect();
        runs.push((
            report["datasets"].clone(),
            report["overall"].clone(),
            rejects,
        ));
    }
    assert!(runs[0].2[1].lines().count() > 2000, "fee rejects are there");
    assert_eq!(runs[0].0, runs[1].0, "per-dataset figures and samples");
    assert_eq!(runs[0].1, runs[1].1, "overall figures");
    assert!(runs[0].2 == runs[1].2, "rejects differ between chunk sizes");
}

#[test]
fn exact_figures_of_the_20k_sample() {
    let w = generated(20_000);
    let out = w.run(&["--json", "check"]);
    out.expect_code(0);
    let report = out.json();
    let s = dataset(&report, "settlements");
    assert_eq!(s["records"], 1976);
    assert_eq!(s["dirty"], 86);
    let f = dataset(&report, "fee_details");
    assert_eq!(f["records"], 20000);
    assert_eq!(f["dirty"], 2338);
    assert_eq!(f["warned"], 563);
    assert_eq!(report["overall"]["records"], 21976);
    assert_eq!(report["overall"]["dirty"], 2424);
    let rate = report["overall"]["rate"].as_f64().unwrap();
    assert!((rate - 2424.0 / 21976.0).abs() < 1e-12, "{rate}");
    assert_eq!(report["areas"]["320900"]["dirty"], 2424);
    // Institutions add up to the dataset.
    let inst: u64 = f["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dirty"].as_u64().unwrap())
        .sum();
    assert_eq!(inst, 2338);
    // Samples point at real rows of the source.
    let rule = f["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "fee.setl_id.reference")
        .unwrap();
    let samples = rule["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2);
    assert!(samples[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("fee_details.csv"));
    assert!(samples[0]["key"]["feedetl_sn"].is_string());
}

#[test]
fn rejects_name_the_row_and_the_rules() {
    let w = generated(20_000);
    let out = w.run(&["--json", "check"]);
    out.expect_code(0);
    let run_id = out.json()["run_id"].as_str().unwrap().to_string();
    let dir = w.path().join("out").join(&run_id);
    assert!(dir.join("report.json").is_file());
    let text = std::fs::read_to_string(dir.join("rejects").join("fee_details.csv")).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("file,sheet,row,errors,warnings,"),
        "{header}"
    );
    assert!(header.contains("medins_list_codg"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.len(),
        2338 + 563 - overlap(&w),
        "dirty or warned records"
    );
    // Every orphan line of the truth is there with its rule.
    let truth = truth(&w);
    for row in &truth["fee_details"]["fee.setl_id.reference"] {
        let hit = rows
            .iter()
            .find(|l| l.split(',').nth(2) == Some(&row.to_string()))
            .unwrap_or_else(|| panic!("row {row} not in the rejects"));
        assert!(hit.contains("fee.setl_id.reference"), "{hit}");
    }
}

/// Fee rows both dirty and warned.
fn overlap(w: &Workdir) -> usize {
    let truth = truth(w);
    let fee = &truth["fee_details"];
    let warned = &fee["read.normalised"];
    let dirty: BTreeSet<u64> = fee
        .iter()
        .filter(|(r, _)| r.as_str() != "read.normalised")
        .flat_map(|(_, rows)| rows.iter().copied())
        .collect();
    warned.intersection(&dirty).count()
}

#[test]
fn a_breached_threshold_exits_1() {
    let w = generated(5_000);
    let config = std::fs::read_to_string(w.path().join("yibao.toml")).unwrap();
    w.append_config("[thresholds]\ndirty_rate = 0.05");
    let out = w.run(&["check"]);
    out.expect_code(1);
    assert!(
        out.stdout.contains("ABOVE the threshold 5.00%"),
        "{}",
        out.stdout
    );
    w.write(
        "yibao.toml",
        format!("{config}\n[thresholds]\ndirty_rate = 0.5\n"),
    );
    w.run(&["check"]).expect_code(0);
}

#[test]
fn a_pack_of_the_workspace_runs_by_name() {
    let w = generated(2_000);
    w.write(
        "quality-rules/local.toml",
        r#"[pack]
name = "local"
version = "1"

[[rule]]
id = "local.price-cap"
title = "单价超过 100 元"
dimension = "validity"
severity = "warning"
datasets = ["fee-detail"]
kind = "range"
field = "pric"
max = 100
pass = [{ pric = "99" }]
fail = [{ pric = "120" }]
"#,
    );
    let out = w.run(&["--json", "check", "--pack", "local"]);
    out.expect_code(0);
    let r = out.json();
    let f = dataset(&r, "fee_details");
    assert_eq!(f["dirty"], 0, "warnings never make a record dirty");
    assert!(f["warned"].as_u64().unwrap() > 0);
    assert_eq!(r["packs"][0]["name"], "local");
}

#[test]
fn the_conformance_pack_gives_the_compliance_rate() {
    let w = generated(5_000);
    for f in ["drug", "service", "consumable"] {
        let table = format!("national/{f}.csv");
        w.run(&["codes", "import", "--family", f, "--version", "gen", &table])
            .expect_code(0);
    }
    let out = w.run(&["--json", "check", "--pack", "conformance"]);
    out.expect_code(0);
    let r = out.json();
    let fee = dataset(&r, "fee_details");
    // Only the unmapped items fail 贯标 on fee lines: the mapped codes are in the loaded tables.
    let truth = truth(&w);
    let unmapped = truth["fee_details"]["fee.medins_list_codg.mapped"].len() as u64;
    assert_eq!(fee["dirty"].as_u64().unwrap(), unmapped);
    let rate = r["overall"]["rate"].as_f64().unwrap();
    assert_eq!(r["compliance"].as_f64().unwrap(), 1.0 - rate);
    assert!(out.stdout.contains("\"compliance\""));
}

/// Uniqueness is over the whole dataset, not a chunk: a key repeated in a later file, two
/// chunks on, is still a repeat; the first record of each key is not.
/// Settlements in two files whose keys repeat across them: S1 twice, S3 three times (the
/// last two in the second file); `more` is appended to the second file.
fn repeated_keys(more: &str) -> Workdir {
    let w = Workdir::new();
    w.write(
        "yibao.toml",
        "[[datasets]]\nname = \"settlements\"\nkind = \"settlement\"\npath = \"data/setl_*.csv\"\nkey = [\"setl_id\"]\n\n\
         [datasets.columns]\n\"结算ID\" = \"setl_id\"\n\"人员编号\" = \"psn_no\"\n",
    );
    w.write(
        "data/setl_a.csv",
        "结算ID,人员编号\nS1,P1\nS2,P2\nS3,P3\nS4,P4\nS5,P5\n",
    );
    w.write(
        "data/setl_b.csv",
        format!("结算ID,人员编号\nS6,P6\nS1,P7\nS7,P8\nS3,P9\nS3,P10\n{more}"),
    );
    w
}

#[test]
fn a_key_repeated_chunks_apart_is_caught() {
    let w = repeated_keys("");
    let mut seen = Vec::new();
    for chunk in ["3", "1000"] {
        let out = w.run_with(&[("YIBAO_CHUNK_ROWS", chunk)], &["--json", "check"]);
        out.expect_code(0);
        let report = out.json();
        let rule = dataset(&report, "settlements")["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "setl.unique.setl_id")
            .cloned()
            .unwrap();
        assert_eq!(rule["failed"], 3, "chunks of {chunk}: {rule:#}");
        let rows = locations(&rule);
        assert_eq!(
            rows,
            [
                ("data/setl_b.csv".to_string(), 3),
                ("data/setl_b.csv".to_string(), 5),
                ("data/setl_b.csv".to_string(), 6)
            ],
            "chunks of {chunk}"
        );
        seen.push(report["datasets"].clone());
    }
    assert_eq!(seen[0], seen[1]);
}

/// A rule's sample failing records as (file, row).
fn locations(rule: &Value) -> Vec<(String, u64)> {
    rule["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().to_string(),
                s["row"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn rule_of<'a>(report: &'a Value, dataset_name: &str, id: &str) -> &'a Value {
    dataset(report, dataset_name)["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{dataset_name} has no rule {id}"))
}

/// Issue 16 item 5: identifiers Excel turned into numbers are dirty, in a CSV export
/// (`3.209E+15`, `….0`) and in a workbook whose cells hold numbers; and none is batched.
#[test]
fn i16_5_excel_damaged_identifiers_are_dirty_and_not_batched() {
    let w = Workdir::new();
    w.write(
        "yibao.toml",
        "[[datasets]]\nname = \"csv\"\nkind = \"settlement\"\npath = \"data/setl.csv\"\nkey = [\"setl_id\"]\n\n\
         [datasets.columns]\n\"结算ID\" = \"setl_id\"\n\"就诊ID\" = \"mdtrt_id\"\n\"人员编号\" = \"psn_no\"\n\"证件号码\" = \"certno\"\n\n\
         [[datasets]]\nname = \"book\"\nkind = \"settlement\"\npath = \"data/setl.xlsx\"\nkey = [\"setl_id\"]\n\n\
         [datasets.columns]\n\"结算ID\" = \"setl_id\"\n\"就诊ID\" = \"mdtrt_id\"\n\"人员编号\" = \"psn_no\"\n",
    );
    // Hand-written: four damaged identifiers among six records (with the visit ID a 4101A
    // record must carry to be batched).
    w.write(
        "data/setl.csv",
        "结算ID,就诊ID,人员编号,证件号码\n\
         S1,M1,3209000002839237,11010519491231002X\n\
         S2,M2,3.209E+15,11010519491231002X\n\
         S3,M3,3209000002839237.0,11010519491231002X\n\
         S4,M4,P4,1.10105194912310E+17\n\
         8.0,M5,P5,11010519491231002X\n\
         S6,M6,32090000028392,11010519491231002X\n",
    );
    // A workbook with the person number as a number cell, as Excel keeps it.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "结算ID").unwrap();
    sheet.write_string(0, 1, "人员编号").unwrap();
    sheet.write_string(0, 2, "就诊ID").unwrap();
    for (r, (id, psn)) in [
        ("B1", 3209000002839237.0),
        ("B2", 320900000001.0),
        ("B3", 1e16),
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(r as u32 + 1, 0, *id).unwrap();
        sheet.write_number(r as u32 + 1, 1, *psn).unwrap();
        sheet
            .write_string(r as u32 + 1, 2, format!("M{id}"))
            .unwrap();
    }
    w.write("data/setl.xlsx", book.save_to_buffer().unwrap());

    let out = w.run(&["--json", "check"]);
    out.expect_code(0);
    let report = out.json();
    let csv = rule_of(&report, "csv", "setl.identifiers.excel-damage");
    assert_eq!(
        (csv["applicable"].as_u64(), csv["failed"].as_u64()),
        (Some(6), Some(4))
    );
    let rows: Vec<u64> = locations(csv).into_iter().map(|(_, r)| r).collect();
    assert_eq!(rows, [3, 4, 5, 6]);
    // 16 digits and more cannot have survived a number cell; 12 digits can.
    let book = rule_of(&report, "book", "setl.identifiers.excel-damage");
    assert_eq!(
        (book["applicable"].as_u64(), book["failed"].as_u64()),
        (Some(3), Some(2))
    );

    let out = w.run(&["--json", "batch"]);
    out.expect_code(0);
    let mut emitted = String::new();
    for run in std::fs::read_dir(w.path().join("out")).unwrap().flatten() {
        for ds in std::fs::read_dir(run.path().join("batches"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for f in std::fs::read_dir(ds.path()).unwrap().flatten() {
                if f.file_name() != "manifest.json" {
                    emitted.push_str(&std::fs::read_to_string(f.path()).unwrap());
                }
            }
        }
    }
    for damaged in [
        "3.209E+15",
        "3209000002839237.0",
        "1.10105194912310E+17",
        "\"8.0\"",
        "E+15",
        "E+16",
    ] {
        assert!(
            !emitted.contains(damaged),
            "{damaged} was batched: {emitted}"
        );
    }
    for clean in ["\"S1\"", "\"S6\"", "\"B2\""] {
        assert!(emitted.contains(clean), "{clean} missing: {emitted}");
    }
}

/// Issue 18: `repeats = "all"` fails every record of a repeated key, the first included, and
/// the report names the choice; the national pack's `later` still passes the first. Keys two
/// files and several chunks apart.
#[test]
fn repeats_all_fails_every_record_of_a_repeated_key() {
    // Two records without a key as well: nobody's repeat.
    let w = repeated_keys(",P11\n,P12\n");
    w.write(
        "quality-rules/source.toml",
        r#"[pack]
name = "source"
version = "1"

[[rule]]
id = "source.unique.setl_id"
title = "结算ID重复(全部计)"
dimension = "uniqueness"
severity = "error"
datasets = ["settlement"]
kind = "unique"
fields = ["setl_id"]
repeats = "all"
pass = [{ setl_id = "A2" }]
fail = [{ setl_id = "A1" }, { setl_id = "A1" }]
"#,
    );
    let out = w.run(&["rules", "test", "quality-rules/source.toml"]);
    out.expect_code(0);
    let mut seen = Vec::new();
    for chunk in ["2", "1000"] {
        let out = w.run_with(
            &[("YIBAO_CHUNK_ROWS", chunk)],
            &["--json", "check", "--pack", "national", "--pack", "source"],
        );
        out.expect_code(0);
        let report = out.json();
        let all = rule_of(&report, "settlements", "source.unique.setl_id");
        // S1 twice, S3 three times; the two empty keys are nobody's repeat.
        assert_eq!(all["failed"], 5, "chunks of {chunk}: {all:#}");
        assert_eq!(all["repeats"], "all");
        let rows = locations(all);
        let a = |r| ("data/setl_a.csv".to_string(), r);
        let b = |r| ("data/setl_b.csv".to_string(), r);
        assert_eq!(rows, [a(2), a(4), b(3), b(5), b(6)], "chunks of {chunk}");
        let later = rule_of(&report, "settlements", "setl.unique.setl_id");
        assert_eq!(later["failed"], 3);
        assert_eq!(later["repeats"], "later");
        seen.push(report["datasets"].clone());
    }
    assert_eq!(seen[0], seen[1]);
    let out = w.run(&["check", "--pack", "source"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains(
            "source.unique.setl_id: every record of a repeated key fails, the first included (repeats = \"all\")"
        ),
        "{}",
        out.stdout
    );
}

/// Issue 18: a rule checks what the dataset has. A settlement list in national field names
/// without `setl_time` still has its admission and discharge checked against each other (not
/// the whole three-date rule skipped) and its diagnoses checked against the current version of
/// the code set; the report and the summary say what each rule checked without.
#[test]
fn a_list_without_setl_time_is_checked_on_what_it_has() {
    let w = Workdir::new();
    w.write(
        "yibao.toml",
        "[[datasets]]\nname = \"settlements\"\nkind = \"settlement\"\npath = \"data/setl.csv\"\nkey = [\"setl_id\"]\n\n\
         [datasets.columns]\nsetl_id = \"setl_id\"\npsn_no = \"psn_no\"\nadm_time = \"adm_time\"\n\
         dscg_time = \"dscg_time\"\ndscg_maindiag_code = \"dscg_maindiag_code\"\n",
    );
    w.write(
        "data/setl.csv",
        "setl_id,psn_no,adm_time,dscg_time,dscg_maindiag_code\r\n\
         S1,P1,2024-03-01 10:00:00,2024-03-05 09:00:00,A00.000\r\n\
         S2,P2,2024-03-06 10:00:00,2024-03-04 09:00:00,A00.100\r\n\
         S3,P3,2024-03-01,2024-03-02,J18.900\r\n\
         S4,P4,2024-04-02 08:00:00,2024-04-01 08:00:00,E11.900\r\n\
         S5,P5,,2024-04-01 08:00:00,A00.000x001\r\n",
    );
    w.import_codes("diagnosis", "2.0.1", "samples/national/diagnosis_2.0.1.csv");
    let out = w.run(&["--json", "check", "--pack", "national"]);
    out.expect_code(0);
    let report = out.json();
    let order = rule_of(&report, "settlements", "setl.dates.order");
    assert_eq!(order["failed"], 2, "{order:#}");
    assert_eq!(
        order["narrowed"],
        serde_json::json!(["checked without setl_time (not in this dataset)"])
    );
    let code = rule_of(
        &report,
        "settlements",
        "setl.dscg_maindiag_code.national-code",
    );
    // J18.900 is well formed but not in the sample 2.0.1 list.
    assert_eq!(code["failed"], 1, "{code:#}");
    assert_eq!(
        code["narrowed"],
        serde_json::json!([
            "codes checked against the current version: setl_time is not in this dataset"
        ])
    );
    let d = dataset(&report, "settlements");
    let skipped: Vec<&str> = d["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(!skipped.contains(&"setl.dates.order"));
    assert!(!skipped.contains(&"setl.dscg_maindiag_code.national-code"));
    // A rule with one of its dates only still cannot compare anything: skipped, and named.
    assert!(skipped.contains(&"setl.timeliness.declared"), "{skipped:?}");
    let ran = d["rules"].as_array().unwrap().len();
    let out = w.run(&["check", "--pack", "national"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains(&format!(
            "{ran} of {} rules for settlement ran",
            ran + skipped.len()
        )),
        "{}",
        out.stdout
    );
    // Skipped rules grouped by the fields they lack: what to map to run them.
    assert!(
        out.stdout
            .contains(" dcla_time, setl_time (setl.timeliness.declared);"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("    setl.dates.order: checked without setl_time (not in this dataset)"),
        "{}",
        out.stdout
    );
    // The history keeps it: the trend report's JSON and HTML say how much of the pack ran.
    w.run(&["run"]).expect_code(0);
    let out = w.run(&["report", "--format", "json"]);
    out.expect_code(0);
    let trend = out.json();
    let ran = &trend["rules_ran"][0];
    assert_eq!(ran["dataset"], "settlements");
    assert_eq!(
        ran["ran"].as_u64().unwrap() as usize,
        d["rules"].as_array().unwrap().len()
    );
    assert_eq!(
        ran["of"].as_u64().unwrap() as usize,
        d["rules"].as_array().unwrap().len() + skipped.len()
    );
    let ids = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mut wanted = skipped.clone();
    wanted.sort_unstable();
    assert_eq!(ids(&ran["skipped"]), wanted);
    assert_eq!(
        ids(&ran["narrowed"]),
        ["setl.dates.order", "setl.dscg_maindiag_code.national-code"]
    );
    let out = w.run(&["--json", "report"]);
    out.expect_code(0);
    let page = std::fs::read_to_string(w.path().join(out.json()["report_html"].as_str().unwrap()))
        .unwrap();
    assert!(page.contains("Rules skipped or run on less"));
    assert!(page.contains("<td>setl.timeliness.declared</td>"));
    assert!(page.contains("checked without setl_time (not in this dataset)"));
}

/// A code is checked against the version in force at the record's own date (dated version
/// names), whatever layout the date was written in, and against the current version when the
/// record has no date: the sample drug tables' retired and added codes on both sides of
/// 2024-07-01 (samples/national/README.md).
#[test]
fn a_code_is_checked_against_the_version_in_force_at_its_date() {
    let w = Workdir::new();
    w.write(
        "yibao.toml",
        "[[datasets]]\nname = \"fees\"\nkind = \"fee-detail\"\npath = \"data/fees.csv\"\nkey = [\"feedetl_sn\"]\n\n\
         [datasets.columns]\nfeedetl_sn = \"feedetl_sn\"\nmed_list_codg = \"med_list_codg\"\n\
         fee_ocur_time = \"fee_ocur_time\"\n",
    );
    let retired = "XB01ACX010A001020613579"; // in 20240101, retired in 20240701
    let added = "XA02BCF721A001010591742"; // new in 20240701
    w.write(
        "data/fees.csv",
        format!(
            "feedetl_sn,med_list_codg,fee_ocur_time\n\
             F1,{retired},2024-03-01 10:00:00\n\
             F2,{retired},2024-08-01 10:00:00\n\
             F3,{added},2024-03-01 10:00:00\n\
             F4,{added},2024/08/01 09:30:00\n\
             F5,{added},2024-08-01\n\
             F6,{retired},\n\
             F7,{added},\n"
        ),
    );
    w.import_codes("drug", "20240101", "samples/national/drug_20240101.xlsx");
    w.import_codes("drug", "20240701", "samples/national/drug_20240701.xlsx");
    let out = w.run(&["--json", "check", "--pack", "national"]);
    out.expect_code(0);
    let report = out.json();
    let rule = rule_of(&report, "fees", "fee.med_list_codg.national-code");
    let rows: Vec<u64> = locations(rule).into_iter().map(|(_, r)| r).collect();
    // Lines 3 (F2), 4 (F3) and 7 (F6, no date: the latest version, where it is retired).
    assert_eq!(rows, [3, 4, 7], "{rule:#}");
    assert_eq!(rule["failed"], 3);
}

/// Issue 18: a settlement list that carries its diagnosis in `wm_dise_code` (西医诊断代码, a
/// field of the 4101 setlinfo node) gets the sex- and age-tied diagnosis rules too, not only
/// the membership check; `dscg_maindiag_code` lists are judged as before.
#[test]
fn a_diagnosis_in_wm_dise_code_is_checked_against_sex_and_age() {
    let w = Workdir::new();
    w.write(
        "yibao.toml",
        "[[datasets]]\nname = \"settlements\"\nkind = \"settlement\"\npath = \"data/setl.csv\"\nkey = [\"setl_id\"]\n\n\
         [datasets.columns]\nsetl_id = \"setl_id\"\ngend = \"gend\"\nage = \"age\"\nwm_dise_code = \"wm_dise_code\"\n",
    );
    w.write(
        "data/setl.csv",
        "setl_id,gend,age,wm_dise_code\r\n\
         S1,1,40,O80.x00\r\n\
         S2,2,30,O80.x00\r\n\
         S3,2,60,C61.x00\r\n\
         S4,1,45,P07.300\r\n\
         S5,1,0,P07.300\r\n\
         S6,1,50,J18.900\r\n",
    );
    let out = w.run(&["--json", "check", "--pack", "national"]);
    out.expect_code(0);
    let report = out.json();
    for (id, rows) in [
        ("setl.wm_dise_code.female-only", vec![2]),
        ("setl.wm_dise_code.male-only", vec![4]),
        ("setl.wm_dise_code.neonatal", vec![5]),
    ] {
        let r = rule_of(&report, "settlements", id);
        let got: Vec<u64> = locations(r).into_iter().map(|(_, r)| r).collect();
        assert_eq!(got, rows, "{id}: {r:#}");
    }
}

/// Issue 18 item 2: every field the field table types as a code is checked as that code, the
/// fields nobody wrote a rule for too. Fee lines in the 2301 / FEE_LIST_D field names, by hand.
#[test]
fn every_coded_field_of_a_fee_line_is_checked_as_its_code() {
    let w = Workdir::new();
    let fields = "feedetl_sn,fee_ocur_time,etip_hosp_code,orders_dr_code,insu_admdvs,hilist_code,oprn_oprt_code,dise_codg";
    w.write(
        "data/fee.csv",
        format!(
            "{fields}\n\
             F1,2024-05-01 09:00:00,H32090000001,D320900000001,320900,XA01ABD075A002010100483,99.2503,J18.900\n\
             F2,2024-05-01 09:00:00,3209001,N320900000001,32090,XJ01CAA04501010113,93.351699999999994,j18.900\n\
             F3,2024-05-01 09:00:00,,,,,,\n"
        ),
    );
    let columns = common::identity_columns(fields);
    w.write(
        "yibao.toml",
        format!("[[datasets]]\nname = \"fee\"\nkind = \"fee-detail\"\npath = \"data/fee.csv\"\nkey = [\"feedetl_sn\"]\n[datasets.columns]\n{columns}"),
    );
    let out = w.run(&["--json", "check"]);
    out.expect_code(0);
    let report = out.json();
    for field in fields.split(',').skip(2) {
        let r = rule_of(&report, "fee", &format!("code.fee-detail.{field}"));
        assert_eq!(
            (r["applicable"].as_u64(), r["failed"].as_u64()),
            (Some(3), Some(1)),
            "{field}: {r}"
        );
        assert_eq!(locations(r), [("data/fee.csv".to_string(), 3)], "{field}");
    }
    assert_eq!(dataset(&report, "fee")["dirty"], 1);
}

/// A workspace of one GBK file in the national field names (`header`), checked against the code
/// set `(family, version, sample file)`.
fn national_layout_workspace(
    file: &str,
    bytes: &[u8],
    header: &str,
    dataset: (&str, &str, &str),
    codes: (&str, &str, &str),
) -> Workdir {
    let (name, kind, key) = dataset;
    let (family, version, table) = codes;
    let w = Workdir::new();
    w.write(file, bytes);
    w.write(
        "yibao.toml",
        format!(
            "[[areas]]\ncode = \"320900\"\nname = \"盐城市\"\n\n[code_sets]\n{family} = \"{version}\"\n\n\
             [[datasets]]\nname = \"{name}\"\nkind = \"{kind}\"\npath = \"{file}\"\nencoding = \"gbk\"\nkey = [\"{key}\"]\n[datasets.columns]\n{}",
            common::identity_columns(header)
        ),
    );
    w.import_codes(family, version, table);
    w
}

/// The rows the latest run's rejects name for `dataset`.
fn rejected(w: &Workdir, dataset: &str) -> BTreeSet<u64> {
    let run = std::fs::read_dir(w.path().join("out"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .max()
        .unwrap();
    common::rejected_rows(&run.join("rejects").join(format!("{dataset}.csv")))
}

/// A second, independent generator (issue 18): settlement lists in the national field names of
/// 4101 setlinfo / SETL_D (`../shared/reference/nhsa_interface_fields.md`), GBK with CRLF, not
/// yibao's generator, with seven defect kinds injected at known counts. Its own PRNG, its own
/// resident IDs (GB 11643 computed here) and diagnosis codes drawn from the sample 医保版 list.
mod national_layout {
    use super::*;

    /// xorshift64*: nothing shared with `yibao::samples`.
    pub(super) struct Rng(pub(super) u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub(super) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        pub(super) fn chance(&mut self, per_mille: u64) -> bool {
            self.below(1000) < per_mille
        }
    }

    /// GB 11643: the check character of the first 17 digits.
    fn check_char(body: &str) -> char {
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body
            .chars()
            .zip(W)
            .map(|(c, w)| c.to_digit(10).unwrap() * w)
            .sum();
        b"10X98765432"[(sum % 11) as usize] as char
    }

    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
    enum Defect {
        /// A man with a diagnosis for women only in 西医诊断代码.
        SexConflict,
        /// A well-formed diagnosis code the national list does not hold.
        UnknownCode,
        /// Admitted after discharge (the list has no 结算时间).
        AdmittedAfterDischarge,
        /// The setl_id of an earlier record.
        RepeatedId,
        /// A resident ID whose check character is wrong.
        BadCheckDigit,
        /// No 人员编号.
        NoPerson,
        /// 医疗费总额 ≠ 基金支付 + 个人支付.
        Unbalanced,
    }

    const HEADER: &str = "setl_id,mdtrt_id,psn_no,psn_name,gend,brdy,certno,fixmedins_code,adm_time,dscg_time,wm_dise_code,medfee_sumamt,fund_pay_sumamt,psn_pay";

    /// `n` records: the GBK bytes and, per 1-based line, the defects of that record.
    fn generate(n: usize, seed: u64) -> (Vec<u8>, BTreeMap<u64, BTreeSet<Defect>>) {
        let list =
            std::fs::read_to_string(common::repo_file("samples/national/diagnosis_2.0.1.csv"))
                .unwrap();
        let codes: Vec<String> = list
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').nth(9).map(str::to_string))
            .collect();
        let neutral: Vec<&String> = codes.iter().filter(|c| c.starts_with(['J', 'K'])).collect();
        let female: Vec<&String> = codes
            .iter()
            .filter(|c| {
                c.starts_with("N76")
                    || c.starts_with("N87")
                    || c.starts_with("N89")
                    || c.starts_with('O')
            })
            .collect();
        let unknown = ["J18.900", "K35.800", "J06.900", "K29.700"];
        for u in unknown {
            assert!(!codes.iter().any(|c| c == u), "{u} is in the list");
        }
        let mut r = Rng(seed);
        let mut text = String::from(HEADER);
        text.push_str("\r\n");
        let mut truth: BTreeMap<u64, BTreeSet<Defect>> = BTreeMap::new();
        let mut ids: Vec<String> = Vec::new();
        for i in 0..n {
            let line = i as u64 + 2;
            let mut defects = BTreeSet::new();
            let mut setl_id = format!("S{:012}", 7_000_000 + i);
            if i > 10 && r.chance(8) {
                setl_id = ids[r.below(ids.len() as u64) as usize].clone();
                defects.insert(Defect::RepeatedId);
            }
            ids.push(setl_id.clone());
            let man = r.chance(500);
            let (y, m, d) = (1940 + r.below(70), 1 + r.below(12), 1 + r.below(28));
            let body = format!("320902{y:04}{m:02}{d:02}{:03}", r.below(1000));
            let mut certno = format!("{body}{}", check_char(&body));
            if r.chance(12) {
                let wrong = if certno.ends_with('1') { '2' } else { '1' };
                certno.pop();
                certno.push(wrong);
                defects.insert(Defect::BadCheckDigit);
            }
            let mut psn_no = format!("3209{:012}", r.below(1_000_000_000));
            if r.chance(6) {
                psn_no.clear();
                defects.insert(Defect::NoPerson);
            }
            let mut code = neutral[r.below(neutral.len() as u64) as usize].clone();
            if man && r.chance(40) {
                code = female[r.below(female.len() as u64) as usize].clone();
                defects.insert(Defect::SexConflict);
            } else if r.chance(15) {
                code = unknown[r.below(unknown.len() as u64) as usize].to_string();
                defects.insert(Defect::UnknownCode);
            }
            let month = 1 + r.below(12);
            let day = 1 + r.below(20);
            let stay = 1 + r.below(8);
            let (mut adm, mut dscg) = (
                format!("2024-{month:02}-{day:02} {:02}:15:00", 8 + r.below(10)),
                format!("2024-{month:02}-{:02} 10:00:00", day + stay),
            );
            if r.chance(9) {
                std::mem::swap(&mut adm, &mut dscg);
                defects.insert(Defect::AdmittedAfterDischarge);
            }
            let total = 10_000 + r.below(2_000_000);
            let fund = total * (50 + r.below(40)) / 100;
            let mut psn = total - fund;
            if r.chance(10) {
                psn += 100 * (1 + r.below(9));
                defects.insert(Defect::Unbalanced);
            }
            let cents = |c: u64| format!("{}.{:02}", c / 100, c % 100);
            text.push_str(&format!(
                "{setl_id},M{:012},{psn_no},{}{},{},{y:04}-{m:02}-{d:02},{certno},H320900{:05},{adm},{dscg},{code},{},{},{}\r\n",
                8_000_000 + i,
                ["张", "王", "李", "赵"][r.below(4) as usize],
                ["伟", "芳", "娜", "强"][r.below(4) as usize],
                if man { 1 } else { 2 },
                1 + r.below(300),
                cents(total),
                cents(fund),
                cents(psn),
            ));
            if !defects.is_empty() {
                truth.insert(line, defects);
            }
        }
        let (bytes, _, _) = encoding_rs::GBK.encode(&text);
        (bytes.into_owned(), truth)
    }

    #[test]
    fn a_national_layout_settlement_list_is_judged_exactly() {
        let n = 20_000;
        let (bytes, truth) = generate(n, 0x5EED_18);
        let w = national_layout_workspace(
            "data/setl.csv",
            &bytes,
            HEADER,
            ("setl", "settlement", "setl_id"),
            ("diagnosis", "2.0.1", "samples/national/diagnosis_2.0.1.csv"),
        );
        let out = w.run(&["--json", "check"]);
        out.expect_code(0);
        let report = out.json();
        let count = |d: Defect| truth.values().filter(|s| s.contains(&d)).count() as u64;
        let rows_of = |d: Defect| -> Vec<u64> {
            truth
                .iter()
                .filter(|(_, s)| s.contains(&d))
                .map(|(l, _)| *l)
                .collect()
        };
        for (defect, rule) in [
            (Defect::SexConflict, "setl.wm_dise_code.female-only"),
            (Defect::UnknownCode, "setl.wm_dise_code.national-code"),
            (Defect::AdmittedAfterDischarge, "setl.dates.order"),
            (Defect::RepeatedId, "setl.unique.setl_id"),
            (Defect::BadCheckDigit, "setl.certno.check-digit"),
            (Defect::NoPerson, "setl.required.psn_no"),
            (Defect::Unbalanced, "setl.amount.fund-plus-personal"),
        ] {
            let r = rule_of(&report, "setl", rule);
            assert!(
                count(defect) > 20,
                "{defect:?}: only {} injected",
                count(defect)
            );
            assert_eq!(
                r["failed"].as_u64(),
                Some(count(defect)),
                "{defect:?} / {rule}: {r}"
            );
            assert_eq!(r["applicable"].as_u64(), Some(n as u64), "{rule}");
            let sampled: Vec<u64> = locations(r).into_iter().map(|(_, l)| l).collect();
            assert!(
                sampled.iter().all(|l| rows_of(defect).contains(l)),
                "{rule} flags a row the generator did not break: {sampled:?}"
            );
        }
        // Every record with a defect is dirty, and none without.
        let d = dataset(&report, "setl");
        assert_eq!(d["records"], n as u64);
        assert_eq!(
            d["dirty"].as_u64(),
            Some(truth.len() as u64),
            "{}",
            d["dirty"]
        );
        // The rejects name exactly the broken lines.
        assert_eq!(
            rejected(&w, "setl"),
            truth.keys().copied().collect::<BTreeSet<u64>>()
        );
        // The figures a person reads.
        let rate = d["rate"].as_f64().unwrap();
        assert!(
            (rate - truth.len() as f64 / n as f64).abs() < 1e-9,
            "{rate}"
        );
    }
}

/// The same for fee lines: 2301 feedetail / FEE_LIST_D field names, GBK with CRLF, eight defect
/// kinds at known counts, national service codes from the sample table.
mod national_layout_fees {
    use super::*;

    use super::national_layout::Rng;

    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
    enum Defect {
        AmountMismatch,
        UnknownCode,
        /// A code the table lists as no longer in force (有效标志 0).
        RetiredCode,
        DuplicateLine,
        NoDepartment,
        NotADepartmentCode,
        NoDoctorName,
        NurseAsDoctor,
        NoMedType,
    }

    const HEADER: &str = "feedetl_sn,mdtrt_id,setl_id,psn_no,med_type,fee_ocur_time,med_list_codg,medins_list_codg,medins_list_name,cnt,pric,det_item_fee_sumamt,bilg_dept_codg,bilg_dept_name,bilg_dr_codg,bilg_dr_name,fixmedins_code";

    fn generate(n: usize, seed: u64) -> (Vec<u8>, BTreeMap<u64, BTreeSet<Defect>>) {
        let raw = std::fs::read(common::repo_file("samples/national/service_gbk.csv")).unwrap();
        let (table, _, _) = encoding_rs::GBK.decode(&raw);
        // (code, name, in force): the table's 有效标志 0 marks a retired code.
        let items: Vec<(String, String, bool)> = table
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f.len() > 1 && f[0].len() == 15)
                    .then(|| (f[0].to_string(), f[1].to_string(), f.last() != Some(&"0")))
            })
            .collect();
        assert_eq!(items.iter().filter(|i| !i.2).count(), 2);
        let known: BTreeSet<&str> = items.iter().map(|(c, _, _)| c.as_str()).collect();
        let depts = [
            ("A03", "内科"),
            ("A04", "外科"),
            ("A07", "儿科"),
            ("A12", "口腔科"),
        ];
        let mut r = Rng(seed);
        let mut text = format!("{HEADER}\r\n");
        let mut truth: BTreeMap<u64, BTreeSet<Defect>> = BTreeMap::new();
        let mut line = 1u64;
        let mut last = String::new();
        for i in 0..n {
            line += 1;
            let mut defects = BTreeSet::new();
            if i > 0 && r.chance(5) {
                // The previous line again, byte for byte: a second record with its key.
                text.push_str(&last);
                let mut d = truth.get(&(line - 1)).cloned().unwrap_or_default();
                d.insert(Defect::DuplicateLine);
                truth.insert(line, d);
                continue;
            }
            let visit = i / 12;
            let (code, name, in_force) = &items[r.below(items.len() as u64) as usize];
            let mut code = code.clone();
            if !in_force {
                defects.insert(Defect::RetiredCode);
            } else if r.chance(10) {
                // The same item with a 加收 suffix nobody published.
                code.replace_range(13..15, "97");
                assert!(!known.contains(code.as_str()));
                defects.insert(Defect::UnknownCode);
            }
            let cnt = 1 + r.below(9);
            let pric = 100 + r.below(50_000);
            let mut amount = cnt * pric;
            if r.chance(7) {
                amount += 100 * (1 + r.below(5));
                defects.insert(Defect::AmountMismatch);
            }
            let (mut dept, dept_name) = depts[r.below(depts.len() as u64) as usize];
            if r.chance(6) {
                dept = "";
                defects.insert(Defect::NoDepartment);
            } else if r.chance(6) {
                dept = "内一科";
                defects.insert(Defect::NotADepartmentCode);
            }
            let mut dr = format!("D320900{:06}", 1 + r.below(500));
            if r.chance(5) {
                dr.replace_range(0..1, "N");
                defects.insert(Defect::NurseAsDoctor);
            }
            let mut dr_name = ["张伟", "王芳", "李娜"][r.below(3) as usize];
            if r.chance(5) {
                dr_name = "";
                defects.insert(Defect::NoDoctorName);
            }
            let mut med_type = "21";
            if r.chance(4) {
                med_type = "";
                defects.insert(Defect::NoMedType);
            }
            let cents = |c: u64| format!("{}.{:02}", c / 100, c % 100);
            last = format!(
                "F{:010},M{visit:09},S{visit:09},3209{:012},{med_type},2024-{:02}-{:02} {:02}:{:02}:00,{code},L{:05},{name},{cnt},{},{},{dept},{dept_name},{dr},{dr_name},H320900{:05}\r\n",
                i,
                visit * 7 % 1_000_000,
                1 + r.below(12),
                1 + r.below(28),
                8 + r.below(12),
                r.below(60),
                r.below(40),
                cents(pric),
                cents(amount),
                1 + visit % 40,
            );
            text.push_str(&last);
            if !defects.is_empty() {
                truth.insert(line, defects);
            }
        }
        let (bytes, _, _) = encoding_rs::GBK.encode(&text);
        (bytes.into_owned(), truth)
    }

    #[test]
    fn national_layout_fee_lines_are_judged_exactly() {
        let n = 20_000;
        let (bytes, truth) = generate(n, 0xFEE_2301);
        let w = national_layout_workspace(
            "data/fee.csv",
            &bytes,
            HEADER,
            ("fee", "fee-detail", "feedetl_sn"),
            ("service", "x", "samples/national/service_gbk.csv"),
        );
        let out = w.run(&["--json", "check"]);
        out.expect_code(0);
        let report = out.json();
        let records = n as u64;
        let count = |d: Defect| truth.values().filter(|s| s.contains(&d)).count() as u64;
        // A duplicated line fails as a repeat and again for whatever its first copy has.
        let either = |a: Defect, b: Defect| {
            truth
                .values()
                .filter(|s| s.contains(&a) || s.contains(&b))
                .count() as u64
        };
        let code = rule_of(&report, "fee", "fee.med_list_codg.national-code");
        assert_eq!(
            code["failed"].as_u64(),
            Some(either(Defect::UnknownCode, Defect::RetiredCode)),
            "{code}"
        );
        assert!(count(Defect::RetiredCode) > 500 && count(Defect::UnknownCode) > 20);
        for (defect, rule) in [
            (Defect::AmountMismatch, "fee.amount.line-product"),
            (Defect::DuplicateLine, "fee.unique.feedetl_sn"),
            (Defect::NoDepartment, "fee.required.bilg_dept_codg"),
            (Defect::NotADepartmentCode, "fee.bilg_dept_codg.allowed"),
            (Defect::NoDoctorName, "fee.required.bilg_dr"),
            (Defect::NurseAsDoctor, "fee.bilg_dr_codg.national-code"),
            (Defect::NoMedType, "fee.required.med_type"),
        ] {
            let r = rule_of(&report, "fee", rule);
            assert!(
                count(defect) > 20,
                "{defect:?}: only {} injected",
                count(defect)
            );
            assert_eq!(
                r["failed"].as_u64(),
                Some(count(defect)),
                "{defect:?} / {rule}: {r}"
            );
            assert_eq!(r["applicable"].as_u64(), Some(records), "{rule}");
        }
        let d = dataset(&report, "fee");
        assert_eq!(d["records"], records);
        assert_eq!(d["dirty"].as_u64(), Some(truth.len() as u64));
        assert_eq!(
            rejected(&w, "fee"),
            truth.keys().copied().collect::<BTreeSet<u64>>()
        );
    }
}
