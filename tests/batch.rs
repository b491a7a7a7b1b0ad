//! `yibao batch` on generated data: batches cut by record count and by bytes, only clean
//! records emitted, a re-run emits nothing, a changed record is emitted once as a correction,
//! `--dry-run` writes nothing, and `batch verify` catches an altered byte, a deleted batch and
//! a duplicated record.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::Workdir;
use serde_json::Value;

/// Generate `rows` fee lines (seed 1) with the given `[batch]` settings.
fn generated(rows: u64, batch: &str) -> Workdir {
    let w = common::generated(rows, 1);
    w.append_config(&format!("[batch]\n{batch}"));
    w
}

/// Every batch file of every run: (run, dataset, file) -> bytes.
fn batch_files(w: &Workdir) -> BTreeMap<(String, String, String), Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(runs) = std::fs::read_dir(w.path().join("out")) else {
        return out;
    };
    for run in runs.flatten() {
        let Ok(sets) = std::fs::read_dir(run.path().join("batches")) else {
            continue;
        };
        for set in sets.flatten() {
            for f in std::fs::read_dir(set.path()).unwrap().flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if name != "manifest.json" {
                    out.insert(
                        (
                            run.file_name().to_string_lossy().into_owned(),
                            set.file_name().to_string_lossy().into_owned(),
                            name,
                        ),
                        std::fs::read(f.path()).unwrap(),
                    );
                }
            }
        }
    }
    out
}

/// The records of a batch file.
fn records(bytes: &[u8]) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(bytes).unwrap();
    let input = doc["input"].as_object().unwrap();
    input.values().next().unwrap().as_array().unwrap().clone()
}

fn run_dirs(w: &Workdir) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(w.path().join("out"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("batches").is_dir())
        .collect();
    v.sort();
    v
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn summary<'a>(out: &'a Value, dataset: &str) -> &'a Value {
    out["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == dataset)
        .unwrap()
}

/// A batch file's envelope institution (`fixmedins_code`).
fn institution(bytes: &[u8]) -> String {
    let doc: Value = serde_json::from_slice(bytes).unwrap();
    doc["fixmedins_code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn batches_are_cut_by_record_count() {
    let w = generated(3000, "max_records = 100\nmax_bytes = 100000000");
    let out = w.run(&["--json", "batch"]);
    out.expect_code(0);
    let out = out.json();
    let report: Value = {
        let dir = run_dirs(&w).pop().unwrap();
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
    };
    let run = run_dirs(&w).pop().unwrap();
    for d in report["datasets"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let clean = d["records"].as_u64().unwrap() - d["dirty"].as_u64().unwrap();
        let s = summary(&out, name);
        assert_eq!(s["clean"], clean, "{name}");
        assert_eq!(s["new"], clean, "{name}: every clean record emitted");
        // Per institution (one per message): full batches of 100, then the rest.
        let dir = run.join("batches").join(name);
        let mut per: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for b in s["batches"].as_array().unwrap() {
            let bytes = std::fs::read(dir.join(b["file"].as_str().unwrap())).unwrap();
            per.entry(institution(&bytes))
                .or_default()
                .push(b["records"].as_u64().unwrap());
        }
        assert!(per.len() > 10, "{name}: {} institutions", per.len());
        let mut total = 0;
        for (inst, sizes) in &per {
            let n: u64 = sizes.iter().sum();
            total += n;
            assert_eq!(sizes.len() as u64, n.div_ceil(100), "{name} {inst}");
            for (i, &k) in sizes.iter().enumerate() {
                let want = if i + 1 < sizes.len() {
                    100
                } else {
                    n - 100 * i as u64
                };
                assert_eq!(k, want, "{name} {inst} batch {i}");
            }
        }
        assert_eq!(total, clean, "{name}");
    }
    // The files hold what the manifests say.
    let dir = run.join("batches/fee_details");
    let m = manifest(&dir);
    for b in m["batches"].as_array().unwrap() {
        let bytes = std::fs::read(dir.join(b["file"].as_str().unwrap())).unwrap();
        assert_eq!(bytes.len() as u64, b["bytes"].as_u64().unwrap());
        let recs = records(&bytes);
        assert_eq!(recs.len() as u64, b["records"].as_u64().unwrap());
        assert_eq!(recs[0]["feedetl_sn"], b["first_key"]);
        assert_eq!(recs[recs.len() - 1]["feedetl_sn"], b["last_key"]);
    }
    assert_eq!(m["infno"], "2301");
    assert_eq!(m["node"], "feedetail");
}

#[test]
fn batches_are_cut_by_bytes() {
    let limit = 6_000u64;
    let w = generated(2000, &format!("max_records = 100000\nmax_bytes = {limit}"));
    w.run(&["batch"]).expect_code(0);
    let dir = run_dirs(&w).pop().unwrap().join("batches/fee_details");
    let m = manifest(&dir);
    let batches = m["batches"].as_array().unwrap();
    let files: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| std::fs::read(dir.join(b["file"].as_str().unwrap())).unwrap())
        .collect();
    // Each institution's batches, in order.
    let mut per: BTreeMap<String, Vec<&Vec<u8>>> = BTreeMap::new();
    for f in &files {
        per.entry(institution(f)).or_default().push(f);
    }
    assert!(
        per.values().filter(|v| v.len() > 1).count() > 5,
        "{} batches",
        batches.len()
    );
    for (inst, files) in &per {
        for (i, bytes) in files.iter().enumerate() {
            assert!(
                bytes.len() as u64 <= limit,
                "{inst} batch {i}: {} bytes",
                bytes.len()
            );
            if i + 1 < files.len() {
                // The institution's next batch's first record would not have fitted.
                let line = files[i + 1].split(|&b| b == b'\n').nth(1).unwrap();
                let next_first = line.strip_suffix(b",").unwrap_or(line).len();
                assert!(
                    bytes.len() + 2 + next_first > limit as usize,
                    "{inst} batch {i} closed early"
                );
            }
        }
    }
}

#[test]
fn only_clean_records_are_emitted_and_a_rerun_emits_nothing() {
    let w = generated(3000, "max_records = 500");
    w.run(&["batch"]).expect_code(0);
    let first = batch_files(&w);
    let mut emitted = BTreeSet::new();
    for ((_, set, _), bytes) in &first {
        for r in records(bytes) {
            let key = if set == "fee_details" {
                r["feedetl_sn"].as_str().unwrap().to_string()
            } else {
                r["setl_id"].as_str().unwrap().to_string()
            };
            assert!(emitted.insert((set.clone(), key)), "emitted twice");
        }
    }
    // No record that failed an error rule is in a batch.
    let run = run_dirs(&w).pop().unwrap();
    let rejects = std::fs::read_to_string(run.join("rejects/fee_details.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(rejects.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let errors = headers.iter().position(|h| h == "errors").unwrap();
    let sn = headers.iter().position(|h| h == "feedetl_sn").unwrap();
    let row = headers.iter().position(|h| h == "row").unwrap();
    let mut dirty_rows = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        if rec[errors].is_empty() {
            continue;
        }
        dirty_rows += 1;
        // A duplicated line's key is emitted once, from its clean first occurrence; the
        // dirty rows themselves never are: compare content for those keys.
        let key = ("fee_details".to_string(), rec[sn].to_string());
        if emitted.contains(&key) {
            assert!(
                rec[errors].contains("fee.unique.feedetl_sn"),
                "row {} is dirty ({}) but its key was emitted",
                &rec[row],
                &rec[errors]
            );
        }
    }
    assert!(dirty_rows > 0);

    let again = w.run(&["--json", "batch"]);
    again.expect_code(0);
    let again = again.json();
    for d in again["datasets"].as_array().unwrap() {
        assert_eq!(d["new"], 0);
        assert_eq!(d["corrections"], 0);
        assert_eq!(d["unchanged"], d["clean"]);
        assert!(d["batches"].as_array().unwrap().is_empty());
    }
    assert_eq!(batch_files(&w), first, "a re-run wrote batch files");
    for dir in run_dirs(&w) {
        w.run(&["batch", "verify", dir.to_str().unwrap()])
            .expect_code(0);
    }
}

/// Give the first settlement (the first data line of the GBK file) another person number, a
/// field its 4101A node carries (a name, which the node does not carry, would change nothing
/// sent); its key.
fn rename_first_settlement_person(w: &Workdir) -> String {
    let path = w.path().join("data/settlements.csv");
    let raw = std::fs::read(&path).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&raw);
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let at = lines.iter().position(|l| l.starts_with('A')).unwrap();
    let mut f: Vec<String> = lines[at].split(',').map(str::to_string).collect();
    let key = f[0].clone();
    f[2] = NEW_PERSON.to_string();
    lines[at] = f.join(",");
    let joined = lines.join("\n");
    let (bytes, _, _) = encoding_rs::GBK.encode(&joined);
    std::fs::write(&path, bytes).unwrap();
    key
}

/// The person number [`rename_first_settlement_person`] writes.
const NEW_PERSON: &str = "3209000099999999";

#[test]
fn a_changed_record_is_emitted_once_as_a_correction() {
    let w = generated(2000, "max_records = 500");
    w.run(&["batch"]).expect_code(0);
    let key = rename_first_settlement_person(&w);

    let out = w.run(&["--json", "batch"]);
    out.expect_code(0);
    let out = out.json();
    let s = summary(&out, "settlements");
    assert_eq!(s["corrections"], 1);
    assert_eq!(s["new"], 0);
    let b = &s["batches"].as_array().unwrap()[0];
    assert_eq!(b["records"], 1);
    assert_eq!(b["corrections"], 1);
    // Numbering continues: the first run used 000001.. and this batch follows.
    assert!(b["number"].as_u64().unwrap() > 1);
    assert_eq!(summary(&out, "fee_details")["new"], 0);
    let dir = run_dirs(&w).pop().unwrap().join("batches/settlements");
    let recs = records(&std::fs::read(dir.join(b["file"].as_str().unwrap())).unwrap());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["setl_id"], Value::String(key));
    assert_eq!(recs[0]["psn_no"], NEW_PERSON);
    assert!(recs[0]["updt_time"].is_string(), "a correction is marked");

    let third = w.run(&["--json", "batch"]);
    third.expect_code(0);
    assert_eq!(summary(&third.json(), "settlements")["corrections"], 0);
    for dir in run_dirs(&w) {
        w.run(&["batch", "verify", dir.to_str().unwrap()])
            .expect_code(0);
    }
}

#[test]
fn dry_run_writes_nothing() {
    let w = generated(1000, "max_records = 100");
    let out = w.run(&["batch", "--dry-run"]);
    out.expect_code(0);
    assert!(out.stdout.contains("000001.json"), "{}", out.stdout);
    assert!(out.stdout.contains("dry run"), "{}", out.stdout);
    assert!(!w.path().join("out").exists());
    assert!(!w.path().join(".yibao/state.db").exists());
}

/// A workspace with one run of batches, and the path of its batches folder.
fn emitted() -> (Workdir, PathBuf) {
    let w = generated(2000, "max_records = 200");
    w.run(&["batch"]).expect_code(0);
    let dir = run_dirs(&w).pop().unwrap().join("batches");
    w.run(&["batch", "verify", dir.to_str().unwrap()])
        .expect_code(0);
    (w, dir)
}

fn verify_counts(w: &Workdir, dir: &Path) -> Value {
    let out = w.run(&["--json", "batch", "verify", dir.to_str().unwrap()]);
    out.expect_code(2);
    let v = out.json();
    assert_eq!(v["ok"], false);
    v["counts"].clone()
}

#[test]
fn verify_catches_an_altered_byte() {
    let (w, dir) = emitted();
    let path = dir.join("fee_details/000003.json");
    let mut bytes = std::fs::read(&path).unwrap();
    // A digit of an amount in the middle of the file.
    let at = bytes.len() / 2
        + bytes[bytes.len() / 2..]
            .iter()
            .position(|b| b.is_ascii_digit())
            .unwrap();
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    std::fs::write(&path, bytes).unwrap();
    let counts = verify_counts(&w, &dir);
    assert!(counts["altered"].as_u64().unwrap() >= 1, "{counts}");
}

#[test]
fn verify_catches_a_deleted_batch() {
    let (w, dir) = emitted();
    std::fs::remove_file(dir.join("settlements/000001.json")).unwrap();
    let counts = verify_counts(&w, &dir);
    assert_eq!(counts["missing"], 1, "{counts}");
}

#[test]
fn verify_catches_a_duplicated_record_even_with_a_consistent_manifest() {
    let (w, dir) = emitted();
    let set = dir.join("fee_details");
    let one = std::fs::read_to_string(set.join("000001.json")).unwrap();
    let record = one
        .lines()
        .nth(1)
        .unwrap()
        .trim_end_matches(',')
        .to_string();
    // Put batch 1's first record into batch 2, as its second record.
    let two_path = set.join("000002.json");
    let two = std::fs::read_to_string(&two_path).unwrap();
    let mut lines: Vec<String> = two.lines().map(str::to_string).collect();
    lines.insert(2, format!("{record},"));
    let two = lines.join("\n") + "\n";
    std::fs::write(&two_path, &two).unwrap();
    // Make the manifest agree with the tampered file, so only the records can tell.
    let mut m = manifest(&set);
    let entry = m["batches"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|b| b["file"] == "000002.json")
        .unwrap();
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(two.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    entry["sha256"] = Value::String(sha);
    entry["bytes"] = two.len().into();
    entry["records"] = (entry["records"].as_u64().unwrap() + 1).into();
    std::fs::write(
        set.join("manifest.json"),
        serde_json::to_vec_pretty(&m).unwrap(),
    )
    .unwrap();
    let counts = verify_counts(&w, &dir);
    assert_eq!(counts["duplicated"], 1, "{counts}");
    assert!(counts.get("altered").is_none(), "{counts}");
}

#[test]
fn a_relative_workspace_writes_into_its_own_out_folder() {
    let w = Workdir::new();
    w.run(&["samples", "generate", "--rows", "500", "--out", "ws"])
        .expect_code(0);
    w.run(&["--workspace", "ws", "batch"]).expect_code(0);
    let runs: Vec<_> = std::fs::read_dir(w.path().join("ws/out"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].path().join("report.json").is_file());
    assert!(runs[0]
        .path()
        .join("batches/fee_details/manifest.json")
        .is_file());
    assert!(!w.path().join("ws/ws").exists());
    let dir = runs[0].path().join("batches");
    w.run(&["batch", "verify", dir.to_str().unwrap()])
        .expect_code(0);
}

/// Issue 16 item 6: renaming a dataset in yibao.toml used to re-emit all its records. What was
/// uploaded is a fact about the record (area, kind, key): after the rename nothing is emitted
/// again, the summary says which name it continues, and batch numbers go on counting. A ledger
/// written before the stream column existed is adopted by its dataset the same way.
#[test]
fn i16_6_a_renamed_dataset_is_not_emitted_again() {
    let w = generated(2000, "max_records = 500");
    let first = w.run(&["--json", "batch"]);
    first.expect_code(0);
    let first = first.json();
    let fees = summary(&first, "fee_details");
    let emitted = fees["new"].as_u64().unwrap();
    assert!(emitted > 1000, "{fees}");
    let batches = fees["batches"].as_array().unwrap().len();

    // As a ledger from before streams: every row's stream unknown.
    let db = rusqlite::Connection::open(w.path().join(".yibao/state.db")).unwrap();
    db.execute("UPDATE ledger_batches SET stream = ''", [])
        .unwrap();
    drop(db);
    let again = w.run(&["--json", "batch"]);
    again.expect_code(0);
    assert_eq!(
        summary(&again.json(), "fee_details")["new"],
        0,
        "adopted, not re-emitted"
    );

    let toml = std::fs::read_to_string(w.path().join("yibao.toml")).unwrap();
    assert!(toml.contains("name = \"fee_details\""));
    w.write(
        "yibao.toml",
        toml.replace("name = \"fee_details\"", "name = \"fees\""),
    );
    let dry = w.run(&["batch", "--dry-run"]);
    dry.expect_code(0);
    assert!(dry.stdout.contains("fees: 1"), "{}", dry.stdout);
    let renamed = w.run(&["--json", "batch"]);
    renamed.expect_code(0);
    let renamed = renamed.json();
    let fees = summary(&renamed, "fees");
    assert_eq!(fees["new"], 0, "{fees}");
    assert_eq!(fees["corrections"], 0);
    assert_eq!(fees["unchanged"], fees["clean"]);
    assert_eq!(fees["continues"], serde_json::json!(["fee_details"]));
    let text = w.run(&["batch"]);
    text.expect_code(0);
    assert!(
        text.stdout
            .contains("continues fee_details (same area and kind): records emitted under that name are not emitted again"),
        "{}",
        text.stdout
    );
    // A changed record under the new name is a correction, numbered after the old batches:
    // the first emitted fee line, one second later.
    let files = batch_files(&w);
    let (_, bytes) = files
        .iter()
        .find(|((_, set, file), _)| set == "fee_details" && file == "000001.json")
        .unwrap();
    let sn = records(bytes)[0]["feedetl_sn"]
        .as_str()
        .unwrap()
        .to_string();
    let path = w.path().join("data/fee_details.csv");
    let data = std::fs::read(&path).unwrap();
    let mut lines: Vec<Vec<u8>> = data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    let line = lines
        .iter_mut()
        .find(|l| l.starts_with(format!("{sn},").as_bytes()))
        .unwrap();
    // GBK bytes: the time field is ASCII.
    let mut fields: Vec<Vec<u8>> = line.split(|b| *b == b',').map(<[u8]>::to_vec).collect();
    let time = &mut fields[4];
    let last = time.pop().unwrap();
    time.push(if last == b'9' { b'8' } else { last + 1 });
    *line = fields.join(&b',');
    std::fs::write(&path, lines.join(&b'\n')).unwrap();
    let fixed = w.run(&["--json", "batch"]);
    fixed.expect_code(0);
    let fixed = fixed.json();
    let fees = summary(&fixed, "fees");
    assert_eq!(
        (fees["new"].as_u64(), fees["corrections"].as_u64()),
        (Some(0), Some(1)),
        "{fees}"
    );
    assert_eq!(
        fees["batches"][0]["file"].as_str().unwrap(),
        format!("{:06}.json", batches + 1)
    );
    for dir in run_dirs(&w) {
        w.run(&["batch", "verify", dir.to_str().unwrap()])
            .expect_code(0);
    }
}

/// Issue 16 item 3: a manifest is data; a file name in it that leads out of the dataset's
/// folder is reported and not read.
#[test]
fn i16_3_verify_reads_only_inside_the_dataset_folder() {
    let (w, dir) = emitted();
    let set = dir.join("fee_details");
    let mut m = manifest(&set);
    m["batches"][0]["file"] = Value::String("../fee_details/000001.json".into());
    std::fs::write(
        set.join("manifest.json"),
        serde_json::to_vec_pretty(&m).unwrap(),
    )
    .unwrap();
    let out = w.run(&["--json", "batch", "verify", dir.to_str().unwrap()]);
    out.expect_code(2);
    let v = out.json();
    let found: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["batch"] == "../fee_details/000001.json")
        .collect();
    assert_eq!(found.len(), 1, "{v}");
    assert_eq!(found[0]["problem"], "altered");
    assert_eq!(
        found[0]["detail"],
        "not a file name in this folder (it contains a path separator); it was not read"
    );
}

/// Issue 16 item 10: verifying a folder that does not exist is a mistake in the command (exit
/// 2), said plainly; not a disk problem (exit 3).
#[test]
fn i16_10_verify_of_a_missing_folder_exits_2() {
    let w = Workdir::new();
    let run = w.run(&["batch", "verify", "out/nowhere/batches"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("out/nowhere/batches: no such folder"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("disk"), "{}", run.stderr);
    w.write("a-file", "x");
    let run = w.run(&["batch", "verify", "a-file"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("a-file: not a folder"),
        "{}",
        run.stderr
    );
}

/// What `batch --json` said per dataset: (new, corrections, unchanged, duplicate_keys).
fn verdicts(out: &Value) -> BTreeMap<String, (u64, u64, u64, u64)> {
    out["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let n = |f: &str| d[f].as_u64().unwrap();
            (
                d["dataset"].as_str().unwrap().to_string(),
                (
                    n("new"),
                    n("corrections"),
                    n("unchanged"),
                    n("duplicate_keys"),
                ),
            )
        })
        .collect()
}

fn seen_files(w: &Workdir) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(w.path().join(".yibao/seen"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The ledger is judged from a sorted index on disk and at most `YIBAO_SEEN_KEYS` keys of the
/// run in memory; an index deleted, cut short or left behind by the ledger (a later run's
/// batches not in it) is rebuilt or brought up to date from the ledger, and every verdict is
/// what the first, all-in-memory judgement gave.
#[test]
fn the_ledger_index_bounds_memory_and_follows_the_ledger() {
    let w = generated(3000, "max_records = 400");
    let small = [("YIBAO_SEEN_KEYS", "100")];
    let first = w.run_with(&small, &["--json", "batch"]);
    first.expect_code(0);
    let first = first.json();
    let fees = summary(&first, "fee_details");
    let clean = fees["clean"].as_u64().unwrap();
    assert!(clean > 1000, "{clean} clean fee lines");
    assert!(fees["held_keys"].as_u64().unwrap() <= 100, "{fees}");
    let new = fees["new"].as_u64().unwrap();
    // Every key judged is held until 100 are, then sorted to disk.
    assert_eq!(fees["spilled_keys"].as_u64().unwrap(), new / 100 * 100);
    assert_eq!(seen_files(&w).len(), 2, "one index per stream");

    // A re-run: everything unchanged, judged against the index.
    let all_unchanged = |out: &Value| {
        for (name, (n, c, u, _)) in verdicts(out) {
            let clean = summary(out, &name)["clean"].as_u64().unwrap();
            assert_eq!((n, c), (0, 0), "{name}");
            assert!(u > 0 && u <= clean, "{name}");
        }
    };
    let second = w.run_with(&small, &["--json", "batch"]);
    second.expect_code(0);
    all_unchanged(&second.json());
    let again = verdicts(&second.json());

    // Deleted: rebuilt from the ledger.
    for f in seen_files(&w) {
        std::fs::remove_file(f).unwrap();
    }
    let third = w.run_with(&small, &["--json", "batch"]);
    third.expect_code(0);
    assert_eq!(verdicts(&third.json()), again);

    // Cut short: not taken for an index.
    let stale: Vec<(PathBuf, Vec<u8>)> = seen_files(&w)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f, bytes)
        })
        .collect();
    assert!(!stale.is_empty(), "a deleted index is written again");
    for (f, bytes) in &stale {
        std::fs::write(f, &bytes[..bytes.len() - 10]).unwrap();
    }
    let fourth = w.run_with(&small, &["--json", "batch"]);
    fourth.expect_code(0);
    assert_eq!(verdicts(&fourth.json()), again);

    // Behind the ledger: a changed settlement is emitted as a correction, then the index of
    // before is put back; the next run folds in the newer batch and finds nothing to emit.
    rename_first_settlement_person(&w);
    for (f, bytes) in &stale {
        std::fs::write(f, bytes).unwrap();
    }
    let fifth = w.run_with(&small, &["--json", "batch"]);
    fifth.expect_code(0);
    let fifth = fifth.json();
    assert_eq!(summary(&fifth, "settlements")["corrections"], 1);
    for (f, bytes) in &stale {
        std::fs::write(f, bytes).unwrap();
    }
    let sixth = w.run_with(&small, &["--json", "batch"]);
    sixth.expect_code(0);
    assert_eq!(verdicts(&sixth.json()), again);
    for dir in run_dirs(&w) {
        w.run(&["batch", "verify", dir.to_str().unwrap()])
            .expect_code(0);
    }
}

/// The field lists of `../shared/reference/nhsa_interface_fields.md`, read from the file itself
/// (not from yibao's own tables): node -> (fields, mandatory ones), and the envelope's fields.
struct Interface {
    nodes: BTreeMap<(String, String), (BTreeSet<String>, BTreeSet<String>)>,
    envelope: BTreeSet<String>,
}

/// The names of a comma-separated field list, and those a `(…, Y, …)` note marks mandatory
/// (a note after a group of names marks the whole group).
fn field_list(text: &str) -> (Vec<String>, BTreeSet<String>) {
    let (mut names, mut mandatory) = (Vec::new(), BTreeSet::new());
    let mut pending: Vec<String> = Vec::new();
    let mut depth = 0;
    let mut note = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, pending: &mut Vec<String>| {
        let w = word.trim();
        if !w.is_empty()
            && w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            pending.push(w.to_string());
        }
        word.clear();
    };
    for c in text.chars() {
        match c {
            '(' => {
                if depth == 0 {
                    flush(&mut word, &mut pending);
                }
                depth += 1;
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    if note.split(',').any(|p| p.trim() == "Y") {
                        mandatory.extend(pending.iter().cloned());
                    }
                    note.clear();
                    names.append(&mut pending);
                }
            }
            _ if depth > 0 => note.push(c),
            ',' | '\n' => flush(&mut word, &mut pending),
            _ => word.push(c),
        }
    }
    flush(&mut word, &mut pending);
    names.append(&mut pending);
    (names, mandatory)
}

impl Interface {
    fn read() -> Option<Interface> {
        let path = common::shared_file("reference/nhsa_interface_fields.md")?;
        let text = std::fs::read_to_string(path).unwrap();
        let section = |head: &str| -> String {
            let start = text
                .find(head)
                .unwrap_or_else(|| panic!("no section {head}"));
            let rest = &text[start + head.len()..];
            let end = rest.find("\n## ").unwrap_or(rest.len());
            rest[..end].to_string()
        };
        // The text of `label` up to the next line that starts another label.
        let part = |sec: &str, label: &str| -> String {
            let start = sec.find(label).unwrap_or_else(|| panic!("no {label}"));
            let rest = &sec[start + label.len()..];
            let end = rest
                .match_indices('\n')
                .map(|(i, _)| i)
                .find(|&i| {
                    let line = &rest[i + 1..];
                    line.split_once(':').is_some_and(|(head, _)| {
                        !head.contains(',') && head.split_whitespace().count() <= 2
                    }) || line.starts_with("diseinfo as")
                        || line.starts_with('(')
                        || line.starts_with("3302")
                })
                .unwrap_or(rest.len());
            rest[..end].to_string()
        };
        let mut nodes = BTreeMap::new();
        let mut put = |infno: &str, node: &str, text: &str, extra: &[&str]| {
            let (names, mandatory) = field_list(text);
            let mut set: BTreeSet<String> = names.into_iter().collect();
            set.extend(extra.iter().map(|s| s.to_string()));
            nodes.insert((infno.to_string(), node.to_string()), (set, mandatory));
        };
        let fee = section("## 2301");
        let fee = &fee[fee.find('\n').unwrap()..];
        let fee = &fee[..fee.find("\n(2204").unwrap()];
        put("2301", "feedetail", fee, &[]);
        let a = section("## 4101A");
        put("4101A", "setlinfo", &part(&a, "setlinfo:"), &[]);
        put("4101A", "oprninfo", &part(&a, "oprninfo (4101A):"), &[]);
        let full = section("## 4101 ");
        // 4101A sends diagnoses in the 4101 diseinfo layout; one vendor adds tcm_dise_flag.
        put(
            "4101A",
            "diseinfo",
            &part(&full, "\ndiseinfo:"),
            &["tcm_dise_flag"],
        );
        let cat = section("## 3301");
        let cat = &cat[cat.find('\n').unwrap()..cat.find("\n3302").unwrap()];
        put("3301", "data", cat, &[]);
        let env = section("## Request envelope");
        let env = &env[env.find('\n').unwrap()..];
        let envelope = field_list(env).0.into_iter().collect();
        Some(Interface { nodes, envelope })
    }
}

/// Every batch of the workspace's latest run held against the interface field lists: envelope
/// fields are the envelope's, each record's fields are its node's (a diagnosis or procedure
/// also names its settlement, `setl_id`, docs/BATCH.md), mandatory fields are filled, and a
/// message names one institution. Returns (messages, records) checked per node.
fn validate_batches(w: &Workdir, iface: &Interface) -> BTreeMap<String, (u64, u64)> {
    let mut seen = BTreeMap::new();
    let run = run_dirs(w).pop().unwrap();
    for set in std::fs::read_dir(run.join("batches")).unwrap().flatten() {
        for f in std::fs::read_dir(set.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name == "manifest.json" {
                continue;
            }
            let at = format!("{}/{name}", set.file_name().to_string_lossy());
            let doc: Value = serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
            let env = doc.as_object().unwrap();
            for k in env.keys() {
                assert!(
                    k == "input" || iface.envelope.contains(k),
                    "{at}: `{k}` is not an envelope field"
                );
            }
            let Some(infno) = env.get("infno").and_then(Value::as_str) else {
                continue; // a kind with no upload transaction
            };
            let (node, recs) = doc["input"].as_object().unwrap().iter().next().unwrap();
            let (fields, mandatory) = iface
                .nodes
                .get(&(infno.to_string(), node.clone()))
                .unwrap_or_else(|| panic!("{at}: {infno} has no node `{node}` in the interface"));
            if let Some(code) = env.get("fixmedins_code").and_then(Value::as_str) {
                let msgid = env["msgid"].as_str().unwrap();
                assert!(
                    msgid.starts_with(code),
                    "{at}: msgid {msgid} is not {code}'s"
                );
            }
            let links: &[&str] = if node == "diseinfo" || node == "oprninfo" {
                &["setl_id"]
            } else {
                &[]
            };
            let recs = recs.as_array().unwrap();
            for r in recs {
                let r = r.as_object().unwrap();
                for k in r.keys() {
                    assert!(
                        fields.contains(k) || links.contains(&k.as_str()) || k == "updt_time",
                        "{at}: `{k}` is not a field of {infno} `{node}`"
                    );
                }
                for m in mandatory {
                    assert!(
                        r.get(m).is_some_and(|v| v != "" && !v.is_null()),
                        "{at}: mandatory `{m}` of {infno} `{node}` is missing in {r:?}"
                    );
                }
            }
            let e = seen.entry(format!("{infno} {node}")).or_insert((0, 0));
            e.0 += 1;
            e.1 += recs.len() as u64;
        }
    }
    seen
}

#[test]
fn the_interface_lists_are_read_as_written() {
    let Some(iface) = Interface::read() else {
        return;
    };
    let (fee, y) = &iface.nodes[&("2301".to_string(), "feedetail".to_string())];
    assert_eq!(fee.len(), 27, "{fee:?}");
    let want: BTreeSet<String> = "feedetl_sn mdtrt_id psn_no med_type fee_ocur_time med_list_codg
        medins_list_codg det_item_fee_sumamt cnt pric bilg_dept_codg bilg_dept_name bilg_dr_codg
        bilg_dr_name"
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(*y, want);
    let setl = &iface.nodes[&("4101A".to_string(), "setlinfo".to_string())].0;
    assert_eq!(setl.len(), 57, "{setl:?}");
    assert!(!setl.contains("medfee_sumamt") && !setl.contains("psn_name"));
    let oprn = &iface.nodes[&("4101A".to_string(), "oprninfo".to_string())].0;
    assert_eq!(oprn.len(), 10, "{oprn:?}");
    let dise = &iface.nodes[&("4101A".to_string(), "diseinfo".to_string())].0;
    assert_eq!(dise.len(), 6, "{dise:?}");
    let cat = &iface.nodes[&("3301".to_string(), "data".to_string())];
    assert_eq!(cat.0.len(), 14, "{:?}", cat.0);
    assert_eq!(cat.1.len(), 5, "{:?}", cat.1);
    assert!(iface.envelope.contains("fixmedins_code") && iface.envelope.contains("msgid"));
}

#[test]
fn the_demo_batches_are_national_messages() {
    let Some(iface) = Interface::read() else {
        return;
    };
    let w = Workdir::new();
    w.run(&["samples", "generate", "--demo", "--out", "."])
        .expect_code(0);
    w.run(&["batch"]).expect_code(0);
    let seen = validate_batches(&w, &iface);
    let count = |k: &str| seen.get(k).copied().unwrap_or_default();
    // 4,828 clean records, each in a message of its institution (40 in each area's fee lines).
    assert_eq!(count("2301 feedetail"), (80, 4288), "{seen:?}");
    assert_eq!(count("4101A setlinfo").1, 463, "{seen:?}");
    assert_eq!(count("4101A oprninfo"), (1, 35), "{seen:?}");
    assert_eq!(count("3301 data"), (6, 42), "{seen:?}");
    w.run(&[
        "batch",
        "verify",
        run_dirs(&w)
            .pop()
            .unwrap()
            .join("batches")
            .to_str()
            .unwrap(),
    ])
    .expect_code(0);
}

#[test]
fn generated_batches_are_national_messages() {
    let Some(iface) = Interface::read() else {
        return;
    };
    let w = generated(5000, "max_records = 50");
    w.run(&["batch"]).expect_code(0);
    let seen = validate_batches(&w, &iface);
    assert!(seen["2301 feedetail"].0 >= 40, "{seen:?}");
    assert!(seen.contains_key("4101A setlinfo"), "{seen:?}");
}

#[test]
fn a_fee_line_without_its_mandatory_fields_is_not_batched() {
    // The generated fee lines without their names and without the fill of med_type.
    let w = common::generated(300, 1);
    let toml = std::fs::read_to_string(w.path().join("yibao.toml")).unwrap();
    let toml = toml
        .replace("\"开单科室名称\" = \"bilg_dept_name\"\n", "")
        .replace(
            "med_type = { from = \"settlements\", by = \"setl_id\" }\n",
            "",
        );
    w.write("yibao.toml", &toml);
    let out = w.run(&["batch"]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("dataset `fee_details` cannot be batched as 2301 `feedetail`")
            && out.stderr.contains("`med_type`, `bilg_dept_name`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("[datasets.fill]"), "{}", out.stderr);
    // Nothing was emitted, nothing recorded.
    assert!(batch_files(&w).is_empty());
    // `check` still runs: it reports, it sends nothing.
    w.run(&["check"]).expect_code(0);
    // `run` checks, reports and records everything, batches what it can, and says what not.
    let out = w.run(&["--json", "run"]);
    out.expect_code(0);
    let json = out.json();
    assert_eq!(json["not_batched"][0]["dataset"], "fee_details", "{json}");
    let files = batch_files(&w);
    assert!(
        files.keys().all(|(_, ds, _)| ds == "settlements"),
        "{:?}",
        files.keys()
    );
    assert!(!files.is_empty());
    let out = w.run(&["run"]);
    assert!(
        out.stdout
            .contains("not batched: dataset `fee_details` cannot be batched as 2301 `feedetail`"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_pack_that_does_not_require_a_mandatory_field_is_refused_for_batches() {
    let w = common::generated(300, 1);
    w.write(
        "quality-rules/mine.toml",
        "[pack]\nname = \"mine\"\nversion = \"1\"\n\n[[rule]]\nid = \"m.cnt\"\ntitle = \"数量\"\ntitle_en = \"count\"\ndimension = \"completeness\"\nseverity = \"error\"\ndatasets = [\"fee-detail\"]\nkind = \"required\"\nfields = [\"cnt\"]\npass = [{ cnt = \"1\" }]\nfail = [{ cnt = \"\" }]\n",
    );
    let out = w.run(&["batch", "--pack", "mine"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("dataset `settlements` cannot be batched as 4101A `setlinfo`: no error-level rule that runs makes a record without `psn_no`, `mdtrt_id`, `setl_id` dirty"),
        "{}",
        out.stderr
    );
    assert!(batch_files(&w).is_empty());
}

/// A workspace laid out by hand in the national field names (UTF-8 CSV): settlements, fee lines
/// without `med_type` or any name, and the hospital's department and staff lists.
fn dictionaries_workspace(fill: &str) -> Workdir {
    let w = Workdir::new();
    w.write(
        "data/settlements.csv",
        "setl_id,mdtrt_id,psn_no,med_type,fixmedins_code,setl_time\n\
         A1,M1,P1,21,H32090000001,2024-05-02 10:00:00\n\
         A2,M2,P2,11,H32090000001,2024-05-03 10:00:00\n",
    );
    w.write(
        "data/fee.csv",
        "feedetl_sn,mdtrt_id,setl_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,medins_list_name,cnt,pric,det_item_fee_sumamt,bilg_dept_codg,bilg_dr_codg,fixmedins_code\n\
         F1,M1,A1,P1,2024-05-01 09:00:00,001103000010000,L1,床位费,1,10,10,A03,D320900000001,H32090000001\n\
         F2,M1,A1,P1,2024-05-01 09:00:00,001103000010000,L1,床位费,1,10,10,A04,D320900000002,H32090000001\n\
         F3,M2,A2,P2,2024-05-02 09:00:00,001103000010000,L1,床位费,2,10,20,A99,D320900000001,H32090000001\n\
         F4,M2,A9,P2,2024-05-02 09:00:00,001103000010000,L1,床位费,2,10,20,A03,D320900000003,H32090000001\n",
    );
    w.write(
        "data/departments.csv",
        "科室编码,科室名称,科别\nA03,内科,A03\nA04,外科,A04\n",
    );
    // D320900000003 is listed twice with two names: which one is meant is not known.
    w.write(
        "data/staff.csv",
        "医师代码,姓名,类别\nD320900000001,张伟,1\nD320900000002,王芳,1\nD320900000003,李娜,1\nD320900000003,李丽,1\n",
    );
    let ident = common::identity_columns;
    w.write(
        "yibao.toml",
        format!(
            "[[areas]]\ncode = \"320900\"\nname = \"盐城市\"\n\n\
             [[datasets]]\nname = \"setl\"\nkind = \"settlement\"\npath = \"data/settlements.csv\"\nkey = [\"setl_id\"]\n[datasets.columns]\n{}\n\
             [[datasets]]\nname = \"fee\"\nkind = \"fee-detail\"\npath = \"data/fee.csv\"\nkey = [\"feedetl_sn\"]\n[datasets.columns]\n{}\n{fill}\n\
             [[datasets]]\nname = \"dept\"\nkind = \"department\"\npath = \"data/departments.csv\"\nkey = [\"hosp_dept_codg\"]\n[datasets.columns]\n\"科室编码\" = \"hosp_dept_codg\"\n\"科室名称\" = \"hosp_dept_name\"\n\"科别\" = \"caty\"\n\n\
             [[datasets]]\nname = \"staff\"\nkind = \"practitioner\"\npath = \"data/staff.csv\"\nkey = [\"prac_psn_code\", \"prac_psn_name\"]\n[datasets.columns]\n\"医师代码\" = \"prac_psn_code\"\n\"姓名\" = \"prac_psn_name\"\n\"类别\" = \"prac_psn_type\"\n\n\
             [batch]\nmax_records = 100\n",
            ident("setl_id,mdtrt_id,psn_no,med_type,fixmedins_code,setl_time"),
            ident("feedetl_sn,mdtrt_id,setl_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,medins_list_name,cnt,pric,det_item_fee_sumamt,bilg_dept_codg,bilg_dr_codg,fixmedins_code"),
        ),
    );
    w
}

const FILLS: &str = "[datasets.fill]\n\
    med_type = { from = \"setl\", by = \"setl_id\" }\n\
    bilg_dept_name = { from = \"dept\", by = \"bilg_dept_codg\", match = \"hosp_dept_codg\", take = \"hosp_dept_name\" }\n\
    bilg_dr_name = { from = \"staff\", by = \"bilg_dr_codg\", match = \"prac_psn_code\", take = \"prac_psn_name\" }\n";

#[test]
fn fee_lines_take_their_type_from_the_settlement_and_their_names_from_the_dictionaries() {
    let w = dictionaries_workspace(FILLS);
    let out = w.run(&["--json", "batch", "--dataset", "fee"]);
    out.expect_code(0);
    let run = run_dirs(&w).pop().unwrap();
    let report: Value =
        serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
    let fee = report["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "fee")
        .unwrap();
    let failed = |rule: &str| {
        fee["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == rule)
            .map(|r| r["failed"].as_u64().unwrap())
            .unwrap_or_else(|| panic!("{rule} did not run: {fee}"))
    };
    // F3's department A99 is in no list; F4's settlement A9 does not exist, and its doctor has
    // two names in the staff list.
    assert_eq!(failed("fee.required.bilg_dept_name"), 1);
    assert_eq!(failed("fee.required.med_type"), 1);
    assert_eq!(failed("fee.required.bilg_dr"), 1);
    assert_eq!(fee["dirty"], 2);
    // The clean lines went out filled.
    let bytes = std::fs::read(run.join("batches/fee/000001.json")).unwrap();
    let recs = records(&bytes);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["feedetl_sn"], "F1");
    assert_eq!(recs[0]["med_type"], "21");
    assert_eq!(recs[0]["bilg_dept_name"], "内科");
    assert_eq!(recs[0]["bilg_dr_name"], "张伟");
    assert_eq!(recs[1]["bilg_dept_name"], "外科");
    assert_eq!(recs[1]["bilg_dr_name"], "王芳");
    assert!(recs[0].get("setl_id").is_none() && recs[0].get("fixmedins_code").is_none());
    assert_eq!(institution(&bytes), "H32090000001");
    // The rejects show what the check saw: the filled fields, empty where nothing was found.
    let rejects = std::fs::read_to_string(run.join("rejects/fee.csv")).unwrap();
    assert!(
        rejects.contains("F3") && rejects.contains("F4"),
        "{rejects}"
    );
}

#[test]
fn a_fill_from_a_dataset_that_does_not_exist_is_refused_at_its_line() {
    let w = dictionaries_workspace(&FILLS.replace("from = \"dept\"", "from = \"depts\""));
    let out = w.run(&["check"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains(
            "`bilg_dept_name` is filled from dataset `depts`, which yibao.toml does not declare"
        ) && out.stderr.contains("did you mean `dept`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("yibao.toml:"), "{}", out.stderr);
    let w =
        dictionaries_workspace(&FILLS.replace("take = \"hosp_dept_name\"", "take = \"dept_name\""));
    let out = w.run(&["check"]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("is filled from `dept`, which does not map `dept_name`"),
        "{}",
        out.stderr
    );
    let w = dictionaries_workspace("[datasets.fill]\nmed_type = { by = \"setl_id\" }\n");
    let out = w.run(&["check"]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("`med_type` is filled from nothing it can use"),
        "{}",
        out.stderr
    );
}
