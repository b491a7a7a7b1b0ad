//! `yibao map suggest` with the real binary: a drug catalog with unmapped items, the sample
//! national drug table, a mapping approved in another area and one rejected here; the review
//! file is edited (CSV and XLSX) and merged with `map accept`, and suggesting again leaves out
//! what was approved and never offers a rejected candidate.

mod common;

// Issue 19's scenarios, in this binary rather than three more (each links polars).
#[path = "map_suggest/carry_forward.rs"]
mod carry_forward;
#[path = "map_suggest/clinical.rs"]
mod clinical;
#[path = "map_suggest/two_reviewers.rs"]
mod two_reviewers;

use common::Workdir;
use yibao::mapping::review::{self, ReviewRow};

const CONFIG: &str = r#"
[[areas]]
code = "320900"
name = "盐城市"

[[areas]]
code = "320100"
name = "南京市"

[[datasets]]
name = "drugs"
kind = "drug-catalog"
area = "320900"
path = "drugs.csv"
[datasets.columns]
"编码" = "fixmedins_hilist_id"
"名称" = "fixmedins_hilist_name"
"规格" = "spec"
"剂型" = "dosform"
"厂家" = "manufacturer"
"#;

const DRUGS: &str = "编码,名称,规格,剂型,厂家\n\
H001,注射用美罗培南,0.5g,注射剂,江苏示例药业\n\
H002,莫西沙星片,0.4g*3片,片剂,广东示范药业\n\
H003,西洛他唑片,50mg*24,片剂,山东演示制药\n\
H004,利奈唑胺片,0.6g×10片/盒,,四川样本药业\n";

const HEAD: &str = "local_code,local_name,national_code,national_name,relation,condition,valid_from,valid_to,status,reviewer,reviewed_at,note\n";

fn workspace() -> Workdir {
    let w = Workdir::new();
    w.write("yibao.toml", CONFIG);
    w.write("drugs.csv", DRUGS);
    w.import_codes("drug", "20240101", "samples/national/drug_20240101.xlsx");
    // Nanjing approved H003 onto the 0.1g tablet and mapped its own 利奈唑胺片 item.
    w.write(
        "mappings/320100/drug.csv",
        format!(
            "{HEAD}H003,西洛他唑,XB01ACX010A001020613579,西洛他唑片,1:1,,,,approved,李,2024-02-01,\n\
             N77,利奈唑胺片,XJ01XXL070A001010550926,利奈唑胺片,1:1,,,,approved,李,2024-02-01,\n"
        ),
    );
    // Here a reviewer already refused the 0.5g meropenem for H001.
    w.write(
        "mappings/320900/drug.csv",
        format!("{HEAD}H001,注射用美罗培南,XJ01DHM046B002010110231,注射用美罗培南,1:1,,,,rejected,王,2024-01-01,wrong spec\n"),
    );
    w
}

fn suggest(w: &Workdir) -> serde_json::Value {
    w.run(&[
        "--json", "map", "suggest", "--area", "320900", "--family", "drug", "--top", "3",
    ])
    .expect_code(0)
    .json()
}

fn candidates<'a>(j: &'a serde_json::Value, local: &str) -> Vec<&'a serde_json::Value> {
    j["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_code"] == local)
        .map(|s| s["candidates"].as_array().unwrap().iter().collect())
        .unwrap_or_default()
}

fn round_trip(ext: &str) {
    let w = workspace();
    let j = suggest(&w);
    assert_eq!(j["summary"]["local_codes"], 4, "{j:#}");
    assert_eq!(j["index"]["built"], true);

    // Found by name, spec and maker.
    let h002 = candidates(&j, "H002");
    assert_eq!(h002[0]["code"], "XJ01MAM122A001010330652", "{h002:#?}");
    assert!(h002[0]["evidence"]
        .as_str()
        .unwrap()
        .contains("spec 400mg×3 ="));
    // The rejected candidate is not offered again; the other spec comes first.
    let h001 = candidates(&j, "H001");
    assert!(
        h001.iter().all(|c| c["code"] != "XJ01DHM046B002010110231"),
        "{h001:#?}"
    );
    assert_eq!(h001[0]["code"], "XJ01DHM046B002010220417");
    // Approved in another area: first, by code and by name.
    let h003 = candidates(&j, "H003");
    assert_eq!(h003[0]["code"], "XB01ACX010A001020613579");
    assert!(h003[0]["evidence"]
        .as_str()
        .unwrap()
        .starts_with("approved in area 320100"));
    let h004 = candidates(&j, "H004");
    assert_eq!(h004[0]["code"], "XJ01XXL070A001010550926");
    assert!(h004[0]["evidence"]
        .as_str()
        .unwrap()
        .contains("same local name"));

    // Both files are written; the reviewer edits one of them.
    let csv = w.path().join("out/suggest/320900-drug.csv");
    let xlsx = w.path().join("out/suggest/320900-drug.xlsx");
    assert!(csv.exists() && xlsx.exists());
    let mut rows: Vec<ReviewRow> = review::read(&csv).unwrap();
    let decide = |rows: &mut Vec<ReviewRow>, local: &str, code: &str, d: &str| {
        let r = rows
            .iter_mut()
            .find(|r| r.local_code == local && r.national_code == code)
            .unwrap_or_else(|| panic!("{local} {code} not in the review file"));
        r.decision = d.to_string();
    };
    decide(&mut rows, "H002", "XJ01MAM122A001010330652", "approve");
    decide(&mut rows, "H003", "XB01ACX010A001020613579", "approve");
    decide(&mut rows, "H004", "XJ01XXL070A001010550926", "reject");
    let edited = format!("review.{ext}");
    let bytes = if ext == "csv" {
        review::to_csv(&rows)
    } else {
        review::to_xlsx(&rows).unwrap()
    };
    w.write(&edited, bytes);
    let a = w
        .run(&["--json", "map", "accept", &edited, "--reviewer", "王"])
        .expect_code(0)
        .json();
    assert_eq!(a["approved"], 2, "{a:#}");
    assert_eq!(a["rejected"], 1, "{a:#}");

    // Again: approved codes are no longer unmapped; the index is reused; rejected stay out.
    let j = suggest(&w);
    assert_eq!(j["summary"]["local_codes"], 2, "{j:#}");
    assert_eq!(j["index"]["built"], false);
    let h004 = candidates(&j, "H004");
    assert!(!h004.is_empty());
    assert!(
        h004.iter().all(|c| c["code"] != "XJ01XXL070A001010550926"),
        "{h004:#?}"
    );
    assert!(candidates(&j, "H001")
        .iter()
        .all(|c| c["code"] != "XJ01DHM046B002010110231"));
}

#[test]
fn suggest_edit_accept_round_trip_csv() {
    round_trip("csv");
}

#[test]
fn suggest_edit_accept_round_trip_xlsx() {
    round_trip("xlsx");
}

#[test]
fn human_summary_and_mistakes() {
    let w = workspace();
    let run = w.run(&["map", "suggest", "--area", "320900", "--family", "drug"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("4 unmapped local code(s), 4 with a candidate (2 approved in another area)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("index       built"), "{}", run.stdout);
    assert!(run.stdout.contains("yibao map accept"), "{}", run.stdout);
    let run = w.run(&["map", "suggest", "--area", "999999", "--family", "drug"]);
    run.expect_code(2);
    assert!(run.stderr.contains("999999"), "{}", run.stderr);
    let run = w.run(&[
        "map",
        "suggest",
        "--area",
        "320900",
        "--family",
        "diagnosis",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("no diagnosis version"),
        "{}",
        run.stderr
    );
}

/// Issue 16 item 4: the review CSV a reviewer opens in Excel writes a local name that a
/// spreadsheet would run as a formula with a `'` in front; the XLSX holds it as text; `map
/// accept` takes the quote off again, so the crosswalk keeps the name as the catalog has it.
#[test]
fn i16_4_review_csv_neutralises_formulas() {
    let w = workspace();
    w.write(
        "drugs.csv",
        format!("{DRUGS}H005,=HYPERLINK(1),-5,片剂,@示例\n"),
    );
    suggest(&w);
    let csv = w.path().join("out/suggest/320900-drug.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(",H005,"))
        .unwrap_or_else(|| panic!("H005 not in\n{text}"));
    assert!(
        line.starts_with("320900,drug,H005,'=HYPERLINK(1),"),
        "{line}"
    );
    let xlsx = review::read(&w.path().join("out/suggest/320900-drug.xlsx")).unwrap();
    let h005 = xlsx.iter().find(|r| r.local_code == "H005").unwrap();
    assert_eq!(h005.local_name, "=HYPERLINK(1)");
    // The reviewer types a code on the CSV's first H005 row and approves it.
    let mut rows = review::read(&csv).unwrap();
    let r = rows.iter_mut().find(|r| r.local_code == "H005").unwrap();
    assert_eq!(r.local_name, "=HYPERLINK(1)");
    r.national_code = "XJ01MAM122A001010330652".into();
    r.decision = "approve".into();
    w.write("review.csv", review::to_csv(&rows));
    w.run(&["map", "accept", "review.csv", "--reviewer", "王"])
        .expect_code(0);
    let cw = std::fs::read_to_string(w.path().join("mappings/320900/drug.csv")).unwrap();
    assert!(
        cw.lines()
            .any(|l| l.starts_with("H005,=HYPERLINK(1),XJ01MAM122A001010330652,")),
        "{cw}"
    );
}

/// Item 11 of issue 16: a stored index whose entry count says u32::MAX used to abort the
/// process (an allocation of that many entries); now it is rebuilt from the code rows, the
/// rebuild says why, the suggestions are the same, and the next run reuses the new index.
#[test]
fn i16_11_corrupt_suggest_index() {
    let w = workspace();
    let first = suggest(&w);
    assert_eq!(first["index"]["built"], true);
    assert_eq!(first["index"]["rebuilt_because"], serde_json::Value::Null);
    let db = rusqlite::Connection::open(w.path().join(".yibao/state.db")).unwrap();
    let mut bytes: Vec<u8> = db
        .query_row("SELECT bytes FROM suggest_index", [], |r| r.get(0))
        .unwrap();
    let len = bytes.len();
    // MAGIC (8) + the family as a string (4 + 4): the entry count is at byte 16.
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    db.execute("UPDATE suggest_index SET bytes = ?1", [&bytes])
        .unwrap();
    drop(db);

    let again = suggest(&w);
    assert_eq!(again["index"]["built"], true);
    assert_eq!(
        again["index"]["rebuilt_because"],
        format!(
            "the stored index was corrupt at byte 16: entry count 4294967295 needs at least \
             227633266635 bytes, {} left",
            len - 20
        )
    );
    assert_eq!(again["suggestions"], first["suggestions"]);
    let human = w.run(&["map", "suggest", "--area", "320900", "--family", "drug"]);
    human.expect_code(0);
    assert!(
        human.stdout.contains("index       reused"),
        "{}",
        human.stdout
    );
}

/// Issue 18: a local service code that carries a 9-digit 全国医疗服务价格项目规范 code (alone,
/// with a provincial sub-item letter, or after `-` in the combined form) proposes the national
/// 15-digit codes holding it (`00` + 9 + 2 拓展 + 2 加收), whatever the local name; a local code
/// that is a national code proposes itself; a HIS code is matched by name alone.
#[test]
fn a_service_item_is_found_by_its_price_spec_code() {
    let w = Workdir::new();
    w.write(
        "yibao.toml",
        r#"
[[areas]]
code = "320900"
name = "盐城市"

[[datasets]]
name = "services"
kind = "service-catalog"
area = "320900"
path = "services.csv"
[datasets.columns]
"编码" = "fixmedins_hilist_id"
"名称" = "fixmedins_hilist_name"
"#,
    );
    w.write(
        "services.csv",
        "编码,名称\n\
         120100010,气切护理\n\
         001216000010100-121600001,留置导尿术\n\
         121500002a,灌肠(清洁)\n\
         002101030130000,钡餐检查\n\
         H0001,胃肠减压\n",
    );
    w.import_codes("service", "20240101", "samples/national/service_gbk.csv");
    let j = w
        .run(&[
            "--json", "map", "suggest", "--area", "320900", "--family", "service", "--top", "3",
        ])
        .expect_code(0)
        .json();
    let top = |local: &str| -> (String, String) {
        let c = candidates(&j, local);
        let first = c
            .first()
            .unwrap_or_else(|| panic!("no candidate for {local}: {j:#}"));
        (
            first["code"].as_str().unwrap().to_string(),
            first["evidence"].as_str().unwrap().to_string(),
        )
    };
    for (local, national, why) in [
        ("120100010", "001201000100000", "价格项目编码 120100010"),
        (
            "001216000010100-121600001",
            "001216000010100",
            "national code =",
        ),
        ("121500002a", "001215000020000", "价格项目编码 121500002"),
        ("002101030130000", "002101030130000", "national code ="),
    ] {
        let (code, evidence) = top(local);
        assert_eq!(code, national, "{local}: {evidence}");
        assert!(evidence.contains(why), "{local}: {evidence}");
    }
    let (code, evidence) = top("H0001");
    assert_eq!(code, "001209000010000", "{evidence}");
    assert!(!evidence.contains("价格项目编码"), "{evidence}");
}
