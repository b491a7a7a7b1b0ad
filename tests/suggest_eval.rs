//! How good `map suggest` is: legacy-style local items derived from national rows (each knows
//! its true code), searched against the index, top-1 and top-5 accuracy per family. Real lists
//! for diagnoses and procedures (../shared/national-codes, skipped when absent), the sample
//! tables for drugs, consumables and services, and a generated full-size drug table.
//! Figures are printed (`cargo test --test suggest_eval -- --nocapture`) and in docs/SUGGEST.md.

#![allow(clippy::print_stderr, clippy::unwrap_used)]

mod common;

use common::{repo_file, shared_file};
use yibao::codes::table::read_table;
use yibao::codes::Family;
use yibao::mapping::gather::Local;
use yibao::mapping::suggest::clinical::{derive_kinds, Kind};
use yibao::mapping::suggest::eval::{
    derive, evaluate, store_row, synthetic_drugs, Accuracy, Case, Row,
};
use yibao::mapping::suggest::index::Index;
use yibao::mapping::suggest::normalise::fold;
use yibao::mapping::suggest::synonyms::Synonyms;

fn rows_of(family: Family, path: &std::path::Path) -> Vec<Row> {
    read_table(family, &[path.to_path_buf()])
        .unwrap()
        .rows
        .into_iter()
        .filter(|r| !r.retired)
        .map(|r| (r.code, r.name, r.attrs))
        .collect()
}

fn measure(label: &str, family: Family, rows: &[Row], per_row: usize, limit: usize) -> Accuracy {
    let index = Index::build(family, &rows.iter().map(store_row).collect::<Vec<_>>());
    // Through the stored bytes, as the command uses it.
    let index = Index::from_bytes(&index.to_bytes()).unwrap();
    let cases = derive(family, rows, per_row, limit, 7);
    let acc = evaluate(label, &index, &cases);
    eprintln!("{acc}");
    for m in acc.misses.iter().take(8) {
        eprintln!("  {} -> truth {} / best {}", m.0, m.1, m.2);
    }
    acc
}

fn assert_at_least(acc: &Accuracy, top1: f64, top5: f64) {
    assert!(
        acc.top1_rate() >= top1 && acc.top5_rate() >= top5,
        "{acc} below the floor top-1 {top1}, top-5 {top5}"
    );
}

#[test]
fn drugs_from_the_sample_tables() {
    let rows = rows_of(
        Family::Drug,
        &repo_file("samples/national/drug_20240701.xlsx"),
    );
    let acc = measure(
        "drug (samples, 82 codes)",
        Family::Drug,
        &rows,
        10,
        usize::MAX,
    );
    assert_at_least(&acc, 0.90, 0.98);
}

#[test]
fn drugs_from_a_full_size_generated_table() {
    let rows = synthetic_drugs(200_000);
    let acc = measure(
        "drug (generated, 200,000 codes)",
        Family::Drug,
        &rows,
        1,
        2000,
    );
    assert_at_least(&acc, 0.90, 0.98);
}

#[test]
fn consumables_from_the_sample_table() {
    let rows = rows_of(
        Family::Consumable,
        &repo_file("samples/national/consumable.xlsx"),
    );
    let acc = measure(
        "consumable (samples, 40 codes)",
        Family::Consumable,
        &rows,
        10,
        usize::MAX,
    );
    assert_at_least(&acc, 0.90, 0.98);
}

#[test]
fn services_from_the_sample_table() {
    let rows = rows_of(
        Family::Service,
        &repo_file("samples/national/service_gbk.csv"),
    );
    let acc = measure(
        "service (samples, 38 codes)",
        Family::Service,
        &rows,
        10,
        usize::MAX,
    );
    assert_at_least(&acc, 0.90, 0.98);
}

#[test]
fn diagnoses_from_the_real_list() {
    let Some(path) = shared_file("national-codes/diagnoses/icd10-yibao-2.0-chs-drg-1.1.tsv") else {
        return;
    };
    let rows = rows_of(Family::Diagnosis, &path);
    let acc = measure(
        "diagnosis (医保版2.0, 33,304 codes)",
        Family::Diagnosis,
        &rows,
        1,
        3000,
    );
    // Measured 99.0% / 99.9% (2026-12-03).
    assert_at_least(&acc, 0.98, 0.99);
}

#[test]
fn procedures_from_the_real_list() {
    let Some(path) = shared_file("national-codes/procedures/icd9cm3-yibao-2.0-chs-drg-1.1.tsv")
    else {
        return;
    };
    let rows = rows_of(Family::Procedure, &path);
    let acc = measure(
        "procedure (医保版2.0, 13,686 codes)",
        Family::Procedure,
        &rows,
        1,
        3000,
    );
    // Measured 99.3% / 99.9% (2026-12-03).
    assert_at_least(&acc, 0.98, 0.99);
}

/// The real legacy-to-national crosswalks of ../shared: rows whose record code differs from the
/// grouper's code, suggested from the legacy code alone (no name). A hard, honest figure: the
/// legacy code's stem finds the family of codes, not which extension replaced it.
fn legacy_codes(family: Family, list: &str, crosswalk: &str) -> Option<Accuracy> {
    let list = shared_file(list)?;
    let cw = shared_file(crosswalk)?;
    let rows = rows_of(family, &list);
    let index = Index::build(family, &rows.iter().map(store_row).collect::<Vec<_>>());
    let text = std::fs::read_to_string(cw).unwrap();
    let cases: Vec<Case> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .filter(|(s, t)| s != t && index.entry_of(t).is_some())
        .map(|(s, t)| Case {
            local: Local {
                code: s.to_string(),
                ..Default::default()
            },
            truth: t.to_string(),
        })
        .collect();
    let acc = evaluate(
        &format!("{family} legacy codes (real crosswalk rows)"),
        &index,
        &cases,
    );
    eprintln!("{acc}");
    for m in acc.misses.iter().take(5) {
        eprintln!("  {} -> truth {} / best {}", m.0, m.1, m.2);
    }
    Some(acc)
}

#[test]
fn diagnoses_from_legacy_codes_of_the_real_crosswalk() {
    let Some(acc) = legacy_codes(
        Family::Diagnosis,
        "national-codes/diagnoses/icd10-yibao-2.0-chs-drg-1.1.tsv",
        "national-codes/crosswalks/diagnoses-record-to-grouper-chs-drg-1.1.tsv",
    ) else {
        return;
    };
    // Measured 30.5% / 47.9% (4,388 rows).
    assert_at_least(&acc, 0.29, 0.46);
}

#[test]
fn procedures_from_legacy_codes_of_the_real_crosswalk() {
    let Some(acc) = legacy_codes(
        Family::Procedure,
        "national-codes/procedures/icd9cm3-yibao-2.0-chs-drg-1.1.tsv",
        "national-codes/crosswalks/procedures-record-to-grouper-chs-drg-1.1.tsv",
    ) else {
        return;
    };
    // Measured 1.1% / 4.6% (560 rows): these rows mostly move to another category.
    assert_at_least(&acc, 0.01, 0.04);
}

/// Issue 19: the ways clinicians and hospital catalogs write names, one kind at a time, made
/// from the real lists by the rules of `clinical.rs` (their own tables, not the matcher's).
/// Returns (kind, accuracy) per kind and the whole.
fn clinical(family: Family, rows: &[Row], per_kind: usize) -> (Vec<(Kind, Accuracy)>, Accuracy) {
    let index = Index::build(family, &rows.iter().map(store_row).collect::<Vec<_>>());
    let mut per = Vec::new();
    let mut all: Vec<Case> = Vec::new();
    for (kind, cases) in derive_kinds(family, rows, per_kind, 19) {
        let acc = evaluate(&format!("{family} / {}", kind.label()), &index, &cases);
        eprintln!("{acc}");
        if kind == Kind::Abbreviation {
            // Which cases the built-in base has a row for, and which it does not (the figure
            // that says what the base does not know).
            let base = Synonyms::builtin();
            let (known, unknown): (Vec<Case>, Vec<Case>) = cases
                .iter()
                .cloned()
                .partition(|c| !base.rewrite(family, &fold(&c.local.name), 4).is_empty());
            eprintln!("  {}", evaluate("  with a row in the base", &index, &known));
            let held_out = evaluate("  without a row in the base", &index, &unknown);
            eprintln!("  {held_out}");
            for m in held_out.misses.iter().take(6) {
                eprintln!("    {} -> truth {} / best {}", m.0, m.1, m.2);
            }
        }
        for m in acc.misses.iter().take(6) {
            eprintln!("  {} -> truth {} / best {}", m.0, m.1, m.2);
        }
        all.extend(cases);
        per.push((kind, acc));
    }
    let total = evaluate(&format!("{family} / all kinds"), &index, &all);
    eprintln!("{total}");
    (per, total)
}

fn assert_kinds(per: &[(Kind, Accuracy)], total: &Accuracy, top1: f64, top5: f64, kind1: f64) {
    for (kind, acc) in per {
        assert!(
            acc.top1_rate() >= kind1,
            "{kind:?}: {acc} below the floor top-1 {kind1}"
        );
    }
    assert_at_least(total, top1, top5);
}

#[test]
fn i19_6_diagnoses_as_clinicians_write_them() {
    let Some(path) = shared_file("national-codes/diagnoses/icd10-yibao-2.0-chs-drg-1.1.tsv") else {
        return;
    };
    let rows = rows_of(Family::Diagnosis, &path);
    let (per, total) = clinical(Family::Diagnosis, &rows, 200);
    // Issue 19's targets. Measured 2026-12-03: 1,400 cases, top-1 99.5%, top-5 99.9%; the lowest
    // kind (width, space, punctuation) 98.0%.
    assert_kinds(&per, &total, 0.95, 0.99, 0.90);
}

#[test]
fn i19_6_procedures_as_clinicians_write_them() {
    let Some(path) = shared_file("national-codes/procedures/icd9cm3-yibao-2.0-chs-drg-1.1.tsv")
    else {
        return;
    };
    let rows = rows_of(Family::Procedure, &path);
    let (per, total) = clinical(Family::Procedure, &rows, 200);
    // Issue 19's targets. Measured 2026-12-03: 1,208 cases, top-1 99.4%, top-5 100.0%; the
    // lowest kind (homophone typo) 98.5%.
    assert_kinds(&per, &total, 0.95, 0.99, 0.90);
}

#[test]
fn i19_6_drugs_as_clinicians_write_them() {
    let Some(path) = shared_file("national-codes/drugs/drug-codes-medimodel.tsv") else {
        return;
    };
    let rows = rows_of(Family::Drug, &path);
    let (per, total) = clinical(Family::Drug, &rows, 200);
    // Measured 2026-12-03: 601 cases, top-1 97.2%, top-5 98.0%; the lowest kind (homophone
    // typo) 94.7%. Names only (this list has no spec, form column or maker).
    assert_kinds(&per, &total, 0.95, 0.97, 0.90);
}
