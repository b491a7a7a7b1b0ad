//! `yibao run` and `yibao report` over generated data that changes between runs: the history
//! holds one row per run with the exact figures, the change list names exactly the records
//! that became dirty and those that were fixed; JSON and CSV reports are snapshots (run ids and
//! times normalised); two overlapping runs: the second is refused, the first completes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::Workdir;
use serde_json::Value;

/// Generate 20,000 fee lines (seed 1) into the workdir: settlements 86 dirty of 1,976, fee
/// details 2,338 dirty of 20,000.
fn generated() -> Workdir {
    common::generated(20_000, 1)
}

/// truth.csv: dataset -> row -> the rules it must fail.
fn truth(w: &Workdir) -> BTreeMap<String, BTreeMap<u64, BTreeSet<String>>> {
    let bytes = std::fs::read(w.path().join("truth.csv")).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&bytes);
    let mut out: BTreeMap<String, BTreeMap<u64, BTreeSet<String>>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let rules = out
            .entry(f[0].to_string())
            .or_default()
            .entry(f[1].parse().unwrap())
            .or_default();
        rules.extend(
            f[3].split(';')
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        );
    }
    out
}

/// A GBK data file as lines (index = row - 1).
fn lines(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&bytes);
    text.lines().map(str::to_string).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let text = lines.join("\n") + "\n";
    let (bytes, _, _) = encoding_rs::GBK.encode(&text);
    std::fs::write(path, bytes).unwrap();
}

/// Replace field `col` of the line of `row` (1-based, as in truth.csv).
fn set_field(lines: &mut [String], row: u64, col: usize, f: impl Fn(&str) -> String) {
    let line = &mut lines[row as usize - 1];
    let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
    fields[col] = f(&fields[col]);
    *line = fields.join(",");
}

/// A different, therefore wrong, check digit.
fn wrong_check_digit(certno: &str) -> String {
    let (body, last) = certno.split_at(certno.len() - 1);
    let next = match last {
        "X" => "0".to_string(),
        "9" => "X".to_string(),
        d => (d.parse::<u8>().unwrap() + 1).to_string(),
    };
    format!("{body}{next}")
}

fn report_json(w: &Workdir) -> Value {
    let out = w.run(&["report", "--format", "json"]);
    out.expect_code(0);
    out.json()
}

fn change_counts(report: &Value) -> BTreeMap<String, (u64, u64)> {
    report["changes"]["by_dataset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["dataset"].as_str().unwrap().to_string(),
                (
                    d["newly_dirty"].as_u64().unwrap(),
                    d["fixed"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn dataset_dirty(report: &Value) -> BTreeMap<String, u64> {
    report["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Run ids, times and the trend window's start replaced by stable names.
fn normalise(text: &str, run_ids: &[String]) -> String {
    let mut t = text.to_string();
    for (n, id) in run_ids.iter().enumerate() {
        t = t.replace(id.as_str(), &format!("RUN{}", n + 1));
    }
    let time = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z").unwrap();
    time.replace_all(&t, "TIME").into_owned()
}

#[test]
fn history_and_change_list_follow_the_data() {
    let w = generated();
    let truth = truth(&w);
    let setl_path = w.path().join("data/settlements.csv");
    let fee_path = w.path().join("data/fee_details.csv");
    let original = lines(&setl_path);

    // Run 1: the data as generated.
    let first = w.run(&["--json", "run"]);
    first.expect_code(0);
    let r1 = first.json();
    assert_eq!(
        (r1["records"].as_u64(), r1["dirty"].as_u64()),
        (Some(21976), Some(2424))
    );
    let report = report_json(&w);
    assert!(
        report["changes"].is_null(),
        "a first run has nothing to compare with"
    );
    assert!(w
        .path()
        .join("out")
        .join(r1["run_id"].as_str().unwrap())
        .join("report.html")
        .exists());

    // Between runs 1 and 2: correct the 52 lower-case diagnosis codes (49 of those
    // settlements have no other error and become clean; 3 stay dirty by another rule), and
    // break the check digit of the ID number of 30 clean settlements.
    let setl = &truth["settlements"];
    let lower: Vec<u64> = setl
        .iter()
        .filter(|(_, rules)| rules.contains("setl.dscg_maindiag_code.national-code"))
        .map(|(row, _)| *row)
        .collect();
    assert_eq!(lower.len(), 52);
    // setl.stay.min-one-day is the settlements' only warning: it never makes a record dirty.
    let only_lower = setl
        .values()
        .filter(|rules| {
            rules.contains("setl.dscg_maindiag_code.national-code")
                && rules
                    .iter()
                    .filter(|r| *r != "setl.stay.min-one-day")
                    .count()
                    == 1
        })
        .count();
    assert_eq!(only_lower, 49);
    let clean: Vec<u64> = (3..=original.len() as u64)
        .filter(|r| !setl.contains_key(r))
        .take(30)
        .collect();
    let mut fixed = original.clone();
    for &row in &lower {
        // Only the chapter letter: the `x` of an extension code is lower case by the standard.
        set_field(&mut fixed, row, 12, |v| {
            let mut c = v.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        });
    }
    let mut broken = fixed.clone();
    for &row in &clean {
        set_field(&mut broken, row, 6, wrong_check_digit);
    }
    write_lines(&setl_path, &broken);
    let second = w.run(&["--json", "run"]);
    second.expect_code(0);
    let r2 = second.json();
    assert_eq!(r2["dirty"].as_u64(), Some(2424 - 49 + 30));
    let report = report_json(&w);
    assert_eq!(report["changes"]["previous"], r1["run_id"]);
    assert_eq!(
        change_counts(&report),
        BTreeMap::from([("settlements".to_string(), (30, 49))])
    );
    assert_eq!(report["changes"]["newly_dirty"], 30);
    assert_eq!(report["changes"]["fixed"], 49);
    let newly: Vec<&str> = report["changes"]["newly_dirty_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rules"].as_str().unwrap())
        .collect();
    assert_eq!(newly, vec!["setl.certno.check-digit"; 30]);
    let moved = &report["changes"]["rules_moved"][0];
    assert_eq!(moved["id"], "setl.dscg_maindiag_code.national-code");
    assert_eq!(
        (moved["previous_failed"].as_u64(), moved["failed"].as_u64()),
        (Some(52), Some(0))
    );

    // Between runs 2 and 3: the ID numbers are repaired; 20 clean fee lines lose their
    // ordering department.
    write_lines(&setl_path, &fixed);
    let fees = &truth["fee_details"];
    let mut fee_lines = lines(&fee_path);
    let clean_fees: Vec<u64> = (2..=fee_lines.len() as u64)
        .filter(|r| !fees.contains_key(r))
        .step_by(97)
        .take(20)
        .collect();
    for &row in &clean_fees {
        set_field(&mut fee_lines, row, 10, |_| String::new());
    }
    write_lines(&fee_path, &fee_lines);
    let third = w.run(&["--json", "run"]);
    third.expect_code(0);
    let r3 = third.json();
    assert_eq!(r3["dirty"].as_u64(), Some(2424 - 49 + 20));
    let report = report_json(&w);
    assert_eq!(
        change_counts(&report),
        BTreeMap::from([
            ("fee_details".to_string(), (20, 0)),
            ("settlements".to_string(), (0, 30)),
        ])
    );
    assert_eq!(
        dataset_dirty(&report),
        BTreeMap::from([
            ("fee_details".to_string(), 2338 + 20),
            ("settlements".to_string(), 86 - 49),
        ])
    );
    // The history: three runs, oldest first, with their exact figures.
    let trend: Vec<(u64, u64)> = report["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["records"].as_u64().unwrap(), p["dirty"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        trend,
        vec![
            (21976, 2424),
            (21976, 2424 - 49 + 30),
            (21976, 2424 - 49 + 20)
        ]
    );
    // The fixed records are named with where they were, in the previous run.
    let fixed_locs: BTreeSet<String> = report["changes"]["fixed_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["loc"].as_str().unwrap().to_string())
        .collect();
    let wanted: BTreeSet<String> = clean
        .iter()
        .map(|r| format!("data/settlements.csv:{r}"))
        .collect();
    assert_eq!(fixed_locs, wanted);

    let ids: Vec<String> = [&r1, &r2, &r3]
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    let json = w.run(&["report", "--format", "json"]);
    json.expect_code(0);
    insta::assert_snapshot!("report_json", normalise(&json.stdout, &ids));
    let csv = w.run(&["report", "--format", "csv"]);
    csv.expect_code(0);
    insta::assert_snapshot!("report_csv", normalise(&csv.stdout, &ids));

    // The HTML report: self-contained, charts drawn, Chinese labels as text.
    let html = w.run(&["--json", "report"]);
    html.expect_code(0);
    let path = html.json()["report_html"].as_str().unwrap().to_string();
    let page = std::fs::read_to_string(w.path().join(&path)).unwrap();
    assert!(page.contains(r#"<meta charset="utf-8">"#));
    assert!(page.contains("脏数据率趋势"));
    assert!(
        page.matches("<svg").count() >= 4,
        "trend, Pareto, institutions, coverage"
    );
    assert!(
        !page.contains("<script") && !page.contains("src=\"http") && !page.contains("href=\"http")
    );
    assert!(
        page.contains("data/settlements.csv"),
        "sample rows name their file"
    );
    screenshot_if_possible(&w.path().join(&path));
}

/// With Debian's chromium installed, render the page headless to `target/report.png` (the
/// script checks the image is non-trivial); skipped cleanly otherwise.
fn screenshot_if_possible(page: &Path) {
    let script = common::repo_file("scripts/screenshot-report.sh");
    let found = std::process::Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        eprintln!("skipped: chromium is not installed, no screenshot");
        return;
    }
    let png = common::repo_file("target/report.png");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(page)
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::metadata(&png).unwrap().len() > 50_000);
}

#[test]
fn nightly_prints_one_line_and_exits_by_threshold() {
    let w = generated();
    let out = w.run(&["run", "--nightly"]);
    out.expect_code(0);
    let line = regex::Regex::new(
        r"^yibao run \d{8}T\d{6}Z: dirty 11\.03% \(2,424/21,976\) coverage 88\.9% batches 80 — OK\n$",
    )
    .unwrap();
    assert!(line.is_match(&out.stdout), "{:?}", out.stdout);
    assert_eq!(out.stderr, "", "nightly is quiet");

    w.append_config("[thresholds]\ndirty_rate = 0.05");
    let out = w.run(&["run", "--nightly"]);
    out.expect_code(1);
    assert!(out.stdout.ends_with("— BREACHED\n"), "{}", out.stdout);
    let report = report_json(&w);
    assert_eq!(report["trend"].as_array().unwrap().len(), 2);
    assert_eq!(report["latest"]["breached"], true);
}

#[test]
fn overlapping_runs_the_second_is_refused() {
    let w = generated();
    let bin = assert_cmd::cargo::cargo_bin("yibao");
    let first = std::process::Command::new(&bin)
        .current_dir(w.path())
        .env("YIBAO_TEST_HOLD_LOCK_MS", "3000")
        .args(["run", "--nightly"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lock = w.path().join(".yibao/workspace.lock");
    let start = std::time::Instant::now();
    // The holder writes who it is once it holds the lock.
    while std::fs::metadata(&lock).map_or(true, |m| m.len() == 0) {
        assert!(
            start.elapsed().as_secs() < 30,
            "the first run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = w.run(&["run"]);
    second.expect_code(2);
    let wanted = format!("workspace is locked by pid {}", first.id());
    assert!(second.stderr.contains(&wanted), "{}", second.stderr);
    assert!(
        second.stderr.contains("(yibao run --nightly, started "),
        "{}",
        second.stderr
    );
    let out = first.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::metadata(&lock).unwrap().len(),
        0,
        "the lock is released and its holder's details cleared"
    );
    // Released: the next run takes it.
    w.run(&["run", "--nightly"]).expect_code(0);
    let report = report_json(&w);
    assert_eq!(
        report["trend"].as_array().unwrap().len(),
        2,
        "the refused run is not in the history"
    );
    assert_eq!(std::fs::read_dir(w.path().join("out")).unwrap().count(), 2);
}

#[test]
fn report_without_history_says_so() {
    let w = generated();
    let out = w.run(&["report"]);
    out.expect_code(2);
    assert!(out.stderr.contains("no run is recorded"), "{}", out.stderr);
    let out = w.run(&["report", "--since", "thirty"]);
    out.expect_code(2);
}

/// Issue 16 item 4: rejects and `report --format csv` are files for people: a cell a
/// spreadsheet would run as a formula gets a `'` in front; a plain negative amount stays a
/// number.
#[test]
fn i16_4_rejects_and_report_csv_neutralise_formulas() {
    let w = common::generated(300, 1);
    let path = w.path().join("data/fee_details.csv");
    let mut l = lines(&path);
    // Row 4 is dirty already (an unmapped item).
    set_field(&mut l, 4, 6, |_| "=1+1".into());
    set_field(&mut l, 4, 9, |_| "-80.00".into());
    // The doctor's code and the institution (columns 12 and 14 of the generated export).
    set_field(&mut l, 4, 12, |_| "+cmd|/c calc!A0".into());
    set_field(&mut l, 4, 14, |_| "@SUM(A1)".into());
    write_lines(&path, &l);
    let out = w.run(&["--json", "run"]);
    out.expect_code(0);
    let run_id = out.json()["run_id"].as_str().unwrap().to_string();
    let rejects = std::fs::read_to_string(
        w.path()
            .join("out")
            .join(&run_id)
            .join("rejects/fee_details.csv"),
    )
    .unwrap();
    let row = rejects
        .lines()
        .find(|l| l.starts_with("data/fee_details.csv,\"\",4,"))
        .unwrap_or_else(|| panic!("row 4 not in\n{rejects}"));
    assert!(
        row.contains(",F0086,'=1+1,3,15.00,-80.00,A03,")
            && row.contains(",'+cmd|/c calc!A0,")
            && row.contains(",'@SUM(A1),"),
        "{row}"
    );
    let report = w.run(&["report", "--format", "csv"]);
    report.expect_code(0);
    let institution: Vec<&str> = report
        .stdout
        .lines()
        .filter(|l| l.contains("SUM(A1)"))
        .collect();
    assert_eq!(institution.len(), 1, "{}", report.stdout);
    assert!(institution[0].starts_with(&format!("{run_id},")));
    assert!(
        institution[0].ends_with(",institution,,'@SUM(A1),1,1,1.000000,,"),
        "{}",
        institution[0]
    );
}

/// Issue 16 item 10: a run over data files with a header and no rows says the datasets have no
/// records, not that every clean record is in the ledger already.
#[test]
fn i16_10_header_only_files_say_there_are_no_records() {
    let w = common::generated(300, 1);
    for name in ["settlements", "fee_details"] {
        let path = w.path().join(format!("data/{name}.csv"));
        let l = lines(&path);
        // The settlements export has a title line above its header.
        let keep = if name == "settlements" { 2 } else { 1 };
        write_lines(&path, &l[..keep]);
    }
    let run = w.run(&["run"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "batches: none written — datasets settlements, fee_details have no records: their files hold no data rows\n"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("ledger"), "{}", run.stdout);
}

/// Issue 14: the clean records come out of the check's pass chunk by chunk and go straight to
/// the batch planner; nothing holds a dataset's clean records. With chunks of 997 records over
/// 21,976, the planner is never handed more than 997 at once, and the figures and batches are
/// those of one big chunk.
#[test]
fn clean_records_reach_the_planner_a_chunk_at_a_time() {
    let small = generated();
    let out = small.run_with(&[("YIBAO_CHUNK_ROWS", "997")], &["--json", "run"]);
    out.expect_code(0);
    let chunked = out.json();
    let largest = chunked["largest_clean_chunk"].as_u64().unwrap();
    assert!((1..=997).contains(&largest), "{largest}");
    let whole = generated();
    let out = whole.run(&["--json", "run"]);
    out.expect_code(0);
    let one = out.json();
    assert!(one["largest_clean_chunk"].as_u64().unwrap() > 997);
    // The rejects and the history's dirty records go out a chunk at a time too.
    let largest = chunked["largest_reject_chunk"].as_u64().unwrap();
    assert!((1..=997).contains(&largest), "{largest}");
    assert!(one["largest_reject_chunk"].as_u64().unwrap() > 997);
    for field in [
        "records",
        "dirty",
        "rate",
        "coverage",
        "batches",
        "dirty_records",
    ] {
        assert_eq!(chunked[field], one[field], "{field}");
    }
    assert_eq!(one["dirty"], 2424);
    assert_eq!(one["records"], 21976);
    // Every chunked output is the one-chunk output, byte for byte: rejects, report figures
    // (the run ids differ), the coverage and the dirty records kept in the history.
    let run_dir = |w: &Workdir, j: &serde_json::Value| {
        let report = j["report_json"].as_str().unwrap();
        w.path().join(report).parent().unwrap().to_path_buf()
    };
    let (a, b) = (run_dir(&small, &chunked), run_dir(&whole, &one));
    let mut names: Vec<_> = std::fs::read_dir(a.join("rejects"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    for n in &names {
        let (x, y) = (
            std::fs::read(a.join("rejects").join(n)).unwrap(),
            std::fs::read(b.join("rejects").join(n)).unwrap(),
        );
        assert!(x == y, "{n:?} differs");
    }
    let figures = |dir: &std::path::Path| {
        let mut r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
        r["run_id"] = serde_json::Value::Null;
        r["time"] = serde_json::Value::Null;
        r
    };
    assert_eq!(figures(&a), figures(&b));
    let dirty = |w: &Workdir| -> Vec<(String, i64)> {
        let db = rusqlite::Connection::open(w.path().join(".yibao/state.db")).unwrap();
        let mut st = db
            .prepare("SELECT key, row FROM run_dirty ORDER BY key, row")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let d = dirty(&small);
    // A key two dirty records share is kept once.
    assert!(!d.is_empty() && d.len() as u64 <= one["dirty_records"].as_u64().unwrap());
    assert_eq!(d, dirty(&whole));
}

/// Issue 14: input files are hashed while they are read (no second read); the history's hash
/// and size of every input are those of the file's bytes, text and workbook alike.
#[test]
fn inputs_are_recorded_with_the_hash_of_their_bytes() {
    use sha2::{Digest, Sha256};
    let w = Workdir::new();
    w.run(&["init", "W", "--sample"]).expect_code(0);
    w.run(&["--workspace", "W", "run"]).expect_code(0);
    let db = rusqlite::Connection::open(w.path().join("W/.yibao/state.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT DISTINCT path, bytes, sha256 FROM run_inputs ORDER BY path")
        .unwrap();
    let rows: Vec<(String, i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        rows.iter().any(|r| r.0.ends_with(".csv")) && rows.iter().any(|r| r.0.ends_with(".xlsx"))
    );
    for (path, bytes, sha) in &rows {
        let data = std::fs::read(w.path().join("W").join(path)).unwrap();
        assert_eq!(*bytes as usize, data.len(), "{path}");
        let want: String = Sha256::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sha, &want, "{path}");
    }
}
