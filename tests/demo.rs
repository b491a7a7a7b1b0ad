//! The demo workspace (`samples/demo/`): it is exactly what `yibao samples generate --demo`
//! writes (so the generator and the demo cannot drift apart), its ground truth matches what
//! `yibao check` finds on every dataset, and the README's main command prints the figures that
//! `samples/demo/EXPECTED.md` writes down.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::Workdir;
use serde_json::Value;

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/demo")
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// Files of samples/demo written by hand, not by the generator.
const HANDWRITTEN: &[&str] = &["EXPECTED.md"];

#[test]
fn the_demo_is_what_the_generator_writes() {
    let w = Workdir::new();
    w.run(&["samples", "generate", "--demo", "--out", "gen"])
        .expect_code(0);
    let generated = w.path().join("gen");
    let demo = demo_dir();
    let mut shipped = files(&demo);
    // Outputs of a run in the repository's own copy are ignored by git, and so here.
    shipped.retain(|p| {
        !p.starts_with("out")
            && !p.starts_with(".yibao")
            && !HANDWRITTEN.iter().any(|h| p == Path::new(h))
    });
    assert_eq!(files(&generated), shipped, "samples/demo has other files than the generator writes: regenerate it with `yibao samples generate --demo --out samples/demo`");
    for f in &shipped {
        assert!(
            std::fs::read(generated.join(f)).unwrap() == std::fs::read(demo.join(f)).unwrap(),
            "{} differs from what the generator writes: regenerate samples/demo",
            f.display()
        );
    }
}

#[test]
fn init_sample_copies_the_demo() {
    let w = Workdir::new();
    w.run(&["init", "ws", "--sample"]).expect_code(0);
    for f in [
        "yibao.toml",
        "data/320900/settlements.csv",
        "data/320500/fee_details.xlsx",
    ] {
        assert_eq!(
            std::fs::read(w.path().join("ws").join(f)).unwrap(),
            std::fs::read(demo_dir().join(f)).unwrap(),
            "{f}"
        );
    }
    // A second init into the same folder refuses and changes nothing.
    w.run(&["init", "ws", "--sample"]).expect_code(2);
}

/// A dataset's figures as EXPECTED.md writes them.
#[derive(Debug, PartialEq)]
struct Figures {
    records: u64,
    dirty: u64,
    rate: String,
}

/// The rows of EXPECTED.md's figures table: `| name | area | kind | records | dirty | rate |`.
fn expected() -> BTreeMap<String, Figures> {
    let text = std::fs::read_to_string(demo_dir().join("EXPECTED.md")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 8
            || !(cells[1].starts_with("yc_")
                || cells[1].starts_with("sz_")
                || cells[1] == "**overall**")
        {
            continue;
        }
        let num = |s: &str| s.trim_matches('*').replace(',', "").parse::<u64>().unwrap();
        out.insert(
            cells[1].trim_matches('*').to_string(),
            Figures {
                records: num(cells[4]),
                dirty: num(cells[5]),
                rate: cells[6].trim_matches('*').to_string(),
            },
        );
    }
    out
}

fn pct_of(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

/// The demo copied into a fresh folder, as a user's `init --sample` would.
fn fresh_demo() -> Workdir {
    let w = Workdir::new();
    w.run(&["init", "demo", "--sample"]).expect_code(0);
    w
}

/// The line of EXPECTED.md that starts with `prefix`.
fn expected_line(prefix: &str) -> String {
    let text = std::fs::read_to_string(demo_dir().join("EXPECTED.md")).unwrap();
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("EXPECTED.md has no `{prefix}` line"))
        .to_string()
}

/// The README's main command, `yibao run --workspace samples/demo`, on a fresh copy: it prints
/// EXPECTED.md's dirty-data rate, coverage and batches; its report.json holds EXPECTED.md's
/// figures for every dataset and the ground truth's failures for every rule; a second run emits
/// nothing.
#[test]
fn the_main_command_prints_what_expected_md_says() {
    let w = fresh_demo();
    let out = w.run(&["run", "--workspace", "demo"]);
    out.expect_code(0);
    let want = expected();
    assert_eq!(
        want.len(),
        12,
        "EXPECTED.md lists 11 datasets and the overall line"
    );
    let o = &want["overall"];
    let overall = format!(
        "overall: {} records, {} dirty, dirty-data rate {}",
        o.records, o.dirty, o.rate
    );
    assert!(
        out.stdout.contains(&overall),
        "wanted `{overall}` in:\n{}",
        out.stdout
    );
    let coverage = expected_line("Coverage overall:");
    let pct = coverage.rsplit('(').next().unwrap().trim_end_matches(')');
    let printed = format!("mapping coverage: {pct} of distinct local codes");
    assert!(
        out.stdout.contains(&printed),
        "wanted `{printed}` in:\n{}",
        out.stdout
    );
    // `Batches: 14 files, 4,828 clean records` -> `batches: 14 written with 4,828 clean records`
    let line = expected_line("Batches:");
    let mut words = line.split_whitespace().skip(1);
    let (files, records) = (words.next().unwrap(), words.nth(1).unwrap());
    let printed = format!("batches: {files} written with {records} clean records");
    assert!(
        out.stdout.contains(&printed),
        "wanted `{printed}` in:\n{}",
        out.stdout
    );

    let report_path = std::fs::read_dir(w.path().join("demo/out"))
        .unwrap()
        .map(|e| e.unwrap().path().join("report.json"))
        .find(|p| p.exists())
        .unwrap();
    let report: Value = serde_json::from_slice(&std::fs::read(report_path).unwrap()).unwrap();
    let truth = common::truth(&w.path().join("demo/truth.csv"));
    let datasets = report["datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), 11);
    for d in datasets {
        let name = d["name"].as_str().unwrap();
        let failed: BTreeMap<String, u64> = d["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["failed"].as_u64().unwrap() > 0)
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_string(),
                    r["failed"].as_u64().unwrap(),
                )
            })
            .collect();
        let wanted: BTreeMap<String, u64> = truth
            .get(name)
            .map(|t| {
                t.iter()
                    .map(|(r, rows)| (r.clone(), rows.len() as u64))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            failed, wanted,
            "{name}: rule failures differ from truth.csv"
        );
        let e = &want[name];
        assert_eq!(
            (
                d["records"].as_u64().unwrap(),
                d["dirty"].as_u64().unwrap(),
                pct_of(d["rate"].as_f64().unwrap())
            ),
            (e.records, e.dirty, e.rate.clone()),
            "{name}: figures differ from EXPECTED.md"
        );
    }
    assert_eq!(
        (
            report["overall"]["records"].as_u64().unwrap(),
            report["overall"]["dirty"].as_u64().unwrap(),
            pct_of(report["overall"]["rate"].as_f64().unwrap())
        ),
        (o.records, o.dirty, o.rate.clone())
    );

    let again = w.run(&["run", "--workspace", "demo"]);
    again.expect_code(0);
    assert!(
        again.stdout.contains("batches: none written"),
        "{}",
        again.stdout
    );

    // The report of a relative --workspace lands in that workspace's out/, nowhere else.
    let report = w.run(&["report", "--workspace", "demo"]);
    report.expect_code(0);
    let path = report
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report path in {}", report.stdout));
    assert!(path.starts_with("demo/out/"), "{path}");
    assert!(w.path().join(path).is_file(), "{path}");
    assert!(!w.path().join("demo/demo").exists());
}

#[test]
fn coverage_of_the_demo_is_as_expected_md_says() {
    let w = fresh_demo();
    let out = w.run(&["--workspace", "demo", "--json", "map", "coverage"]);
    let v: Value = out.json();
    let text = std::fs::read_to_string(demo_dir().join("EXPECTED.md")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("Coverage overall:"))
        .expect("EXPECTED.md has a `Coverage overall:` line");
    let got = format!(
        "Coverage overall: {}/{} distinct local codes mapped ({:.1}%)",
        v["codes_mapped"],
        v["codes"],
        v["coverage"].as_f64().unwrap() * 100.0
    );
    assert_eq!(line, got);
}
