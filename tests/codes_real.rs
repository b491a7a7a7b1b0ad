//! Every real code in `../shared/` through the family parsers: the national lists must parse
//! well-formed, the defects of a real DRG problem-case file must be flagged or rejected with the
//! right reason, and the crosswalks' record-side codes are counted by outcome. The figures are
//! hard-coded from the files (see docs/CODE-STRUCTURES.md) so a parser change that moves one
//! code fails here. When `../shared/` is absent (a bare checkout) each test says so and passes.

// Tests may unwrap, and the breakdowns are printed on purpose (`cargo test -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yibao::codes::{detect, Detection, Family, Kind, Malformed, Parsed};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");

fn shared(rel: &str) -> Option<PathBuf> {
    let path = Path::new(SHARED).join(rel);
    if path.exists() {
        Some(path)
    } else {
        println!("skipping: {} is not there", path.display());
        None
    }
}

/// The rows of a TSV file with a header row, as header -> column index and cells.
fn tsv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split('\t')
        .map(String::from)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

/// Every `*.tsv` of a directory under `shared/`, sorted.
fn tsv_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .collect();
    files.sort();
    files
}

/// Parse every code of a national list; all must be well-formed. Returns the count per form.
fn national(dir: &str, family: Family) -> Option<BTreeMap<&'static str, usize>> {
    let dir = shared(dir)?;
    let mut forms = BTreeMap::new();
    for file in tsv_files(&dir) {
        let (header, rows) = tsv(&file);
        let code = column(&header, "code");
        for row in rows {
            match family.parse(&row[code]) {
                Ok(p) if p.is_well_formed() => *forms.entry(p.form).or_insert(0) += 1,
                other => panic!("{}: {} -> {other:?}", file.display(), row[code]),
            }
            // No other kind claims a national code.
            match detect(&row[code]) {
                Detection::Unique { parsed } if parsed.kind == family.kind() => {}
                other => panic!("{} detected as {:?}", row[code], other.kinds()),
            }
        }
    }
    println!("{family}: {forms:#?}");
    Some(forms)
}

#[test]
fn national_diagnosis_list_parses_well_formed() {
    let Some(forms) = national("national-codes/diagnoses", Family::Diagnosis) else {
        return;
    };
    assert_eq!(forms.values().sum::<usize>(), 33_304);
    let expected = [
        ("11-char (扩展码)", 11_101),
        ("11-char (扩展码) + asterisk", 564),
        ("7-char (细目)", 21_025),
        ("7-char (细目) + asterisk", 614),
    ];
    assert_eq!(forms.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn national_procedure_list_parses_well_formed() {
    let Some(forms) = national("national-codes/procedures", Family::Procedure) else {
        return;
    };
    assert_eq!(forms.values().sum::<usize>(), 13_686);
    let expected = [
        ("11-char (1-digit 医保版细目 + 4-digit 扩展码)", 2),
        ("11-char (扩展码)", 4_566),
        ("7-char", 8_907),
        ("8-char (中医 17.9)", 211),
    ];
    assert_eq!(forms.into_iter().collect::<Vec<_>>(), expected);
}

/// The outcome of one cell, as a category name a count can be kept under.
fn category(result: &Result<Parsed, Malformed>) -> String {
    match result {
        Ok(p) if p.is_well_formed() => "clean".to_string(),
        Ok(p) => {
            let codes: Vec<&str> = p.flags.iter().map(|f| f.code).collect();
            format!("flagged: {}", codes.join("+"))
        }
        Err(m) => {
            let r = m.reason.as_str();
            let why = [
                ("Excel float", "Excel float"),
                ("short form", "short form"),
                ("non-standard suffix", "non-standard suffix"),
                ("morphology", "morphology code glued on"),
                ("without the `+` and `*`", "asterisk glued on"),
                ("closing `*`", "asterisk without `*`"),
                ("carries a 细目", "asterisk with 细目"),
                ("扩展码 on the short base", "extension on short base"),
                ("3 characters after the dot", "7-char code missing a digit"),
                ("bare 类目", "bare category"),
                ("`.` after the 类目 is missing", "dot missing"),
                ("细目 must be 2 digits", "incomplete 细目"),
                ("does not have the shape", "not the family's shape"),
            ]
            .iter()
            .find(|(needle, _)| r.contains(needle))
            .map_or("other", |(_, name)| name);
            format!("rejected: {why}")
        }
    }
}

#[test]
fn drg_problem_cases_are_flagged_or_rejected_with_the_right_reason() {
    let Some(path) = shared("reference/drg_problem_cases_deidentified.tsv") else {
        return;
    };
    let (header, rows) = tsv(&path);
    assert_eq!(header.len(), 34);
    let mut seen: BTreeMap<(Family, String), usize> = BTreeMap::new();
    for row in &rows {
        assert_eq!(row.len(), 34);
        for (i, h) in header.iter().enumerate() {
            let family = if h.contains("诊断") {
                Family::Diagnosis
            } else if h.contains("手术") {
                Family::Procedure
            } else {
                continue;
            };
            let cell = row[i].as_str();
            if cell.is_empty() {
                continue;
            }
            let result = family.parse(cell);
            check_reason(cell, &result);
            *seen.entry((family, category(&result))).or_insert(0) += 1;
        }
    }
    println!("{seen:#?}");
    let expected: Vec<((Family, String), usize)> = vec![
        ((Family::Diagnosis, "clean".into()), 1_465),
        ((Family::Diagnosis, "flagged: lower-case".into()), 205),
        ((Family::Procedure, "clean".into()), 649),
        ((Family::Procedure, "flagged: lower-case".into()), 2),
        ((Family::Procedure, "rejected: Excel float".into()), 537),
        ((Family::Procedure, "rejected: short form".into()), 98),
    ];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
}

/// The reason is the right one for the defect the cell visibly has.
fn check_reason(cell: &str, result: &Result<Parsed, Malformed>) {
    let has_lower = cell
        .chars()
        .enumerate()
        .any(|(i, c)| c.is_ascii_lowercase() && !(c == 'x' && i > 0));
    let numeric_tail = cell.split_once('.').is_some_and(|(_, f)| f.len() > 5);
    match result {
        Ok(p) => {
            assert_eq!(
                p.flags.iter().any(|f| f.code == "lower-case"),
                has_lower,
                "{cell}"
            );
            assert_eq!(p.canonical, p.canonical.trim());
        }
        Err(m)
            if numeric_tail
                || cell.contains('E')
                || cell.starts_with(|c: char| c.is_ascii_digit()) && cell.find('.') == Some(1) =>
        {
            assert!(m.reason.starts_with("Excel float"), "{cell}: {}", m.reason);
            let suggestion = m.suggestion.as_deref().unwrap();
            let value: f64 = cell.parse().unwrap();
            let back: f64 = suggestion.parse().unwrap();
            assert!((value - back).abs() < 5e-5, "{cell} -> {suggestion}");
            assert!(Family::Procedure
                .parse(suggestion)
                .is_ok_and(|p| p.is_well_formed()));
        }
        Err(m) => {
            assert!(m.reason.contains("short form"), "{cell}: {}", m.reason);
            assert_eq!(m.suggestion.as_deref(), Some(format!("{cell}00").as_str()));
        }
    }
}

#[test]
fn drg_problem_cases_known_pairs() {
    for (cell, suggestion) in [
        ("93.351699999999994", "93.3517"),
        ("3.3100999999999998", "03.3101"),
        ("44.140099999999897", "44.1401"),
        ("9.01E-2", "00.0901"),
        ("17.911000000000001", "17.91100"),
    ] {
        let m = Family::Procedure.parse(cell).unwrap_err();
        assert!(m.reason.starts_with("Excel float"));
        assert_eq!(m.suggestion.as_deref(), Some(suggestion), "{cell}");
    }
    let p = Family::Procedure.parse("17.912a0").unwrap();
    assert_eq!(p.canonical, "17.912A0");
    assert_eq!(p.flags[0].code, "lower-case");
    let p = Family::Diagnosis.parse("k40.900x003").unwrap();
    assert_eq!(p.canonical, "K40.900x003");
    let m = Family::Procedure.parse("99.92").unwrap_err();
    assert!(m.reason.contains("short form"));
}

/// Parse one crosswalk column; returns the count per category.
fn crosswalk(rel: &str, col: &str, family: Family) -> Option<BTreeMap<String, usize>> {
    let path = shared(rel)?;
    let (header, rows) = tsv(&path);
    let c = column(&header, col);
    let mut seen = BTreeMap::new();
    for row in rows {
        *seen.entry(category(&family.parse(&row[c]))).or_insert(0) += 1;
    }
    println!("{rel} {col}: {seen:#?}");
    Some(seen)
}

#[test]
fn crosswalk_record_codes_by_outcome() {
    let diag = "national-codes/crosswalks/diagnoses-record-to-grouper-chs-drg-1.1.tsv";
    let proc = "national-codes/crosswalks/procedures-record-to-grouper-chs-drg-1.1.tsv";
    let Some(d) = crosswalk(diag, "source_code", Family::Diagnosis) else {
        return;
    };
    let expected: Vec<(String, usize)> = vec![
        ("clean".into(), 35_572),
        ("rejected: asterisk glued on".into(), 2),
        ("rejected: asterisk with 细目".into(), 1),
        ("rejected: asterisk without `*`".into(), 2),
        ("rejected: morphology code glued on".into(), 14),
    ];
    assert_eq!(d.into_iter().collect::<Vec<_>>(), expected);
    let Some(p) = crosswalk(proc, "source_code", Family::Procedure) else {
        return;
    };
    let expected: Vec<(String, usize)> = vec![
        ("clean".into(), 13_652),
        ("rejected: extension on short base".into(), 2),
    ];
    assert_eq!(p.into_iter().collect::<Vec<_>>(), expected);
    // The grouper side is the national list's vocabulary: all of it parses.
    for (rel, family) in [(diag, Family::Diagnosis), (proc, Family::Procedure)] {
        let t = crosswalk(rel, "target_code", family).unwrap();
        assert_eq!(t.keys().collect::<Vec<_>>(), ["clean"], "{rel}");
    }
}

#[test]
fn local_chronic_disease_codes_are_told_apart() {
    let Some(path) = shared("reference/local_chronic_disease_list.tsv") else {
        return;
    };
    let (header, rows) = tsv(&path);
    let c = column(&header, "疾病编码");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for row in rows {
        let result = Family::Diagnosis.parse(&row[c]);
        let name = match &result {
            Err(m) if m.reason.contains("门诊慢特病") => {
                "rejected: local 门诊慢特病 code".to_string()
            }
            other => category(other),
        };
        *seen.entry(name).or_insert(0) += 1;
    }
    println!("local chronic-disease list: {seen:#?}");
    // 31 local codes (Z001 恶性肿瘤放化疗 …) are told apart from ICD; the rest of the list mixes
    // real codes with categories (`E10`), ranges (`C00-C75`) and dot-less codes (`M00201`).
    let expected: Vec<(String, usize)> = vec![
        ("clean".into(), 30),
        ("flagged: upper-case-x".into(), 1),
        ("rejected: bare category".into(), 13),
        ("rejected: dot missing".into(), 2),
        ("rejected: incomplete 细目".into(), 1),
        ("rejected: local 门诊慢特病 code".into(), 31),
        ("rejected: not the family's shape".into(), 4),
    ];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
}

/// Each example code of the domain docs is detected as exactly its kind.
#[test]
fn detection_is_unique_for_the_example_codes() {
    let cases = [
        ("A01.000", Kind::Diagnosis),
        ("A00.000x001", Kind::Diagnosis),
        ("R18.x00", Kind::Diagnosis),
        ("I10.x00x032", Kind::Diagnosis),
        ("K72.900x003+G94.3*", Kind::Diagnosis),
        ("A01.002+G01*", Kind::Diagnosis),
        ("k40.900x003", Kind::Diagnosis),
        ("00.0100", Kind::Procedure),
        ("56.0x03", Kind::Procedure),
        ("85.5300x001", Kind::Procedure),
        ("56.0x00x006", Kind::Procedure),
        ("17.91100", Kind::Procedure),
        ("17.912A0", Kind::Procedure),
        ("86.700x0013", Kind::Procedure),
        ("001102000010000", Kind::Service),
        ("001102000010000-110200001", Kind::Service),
        ("XA01ABD075A002010100483", Kind::Drug),
        ("XJ01CAA040A001010102699", Kind::Drug),
        ("C0301010010000100001", Kind::Consumable),
        ("H43010001001", Kind::Institution),
        ("P33052200672", Kind::Pharmacy),
        ("D371072007682", Kind::Doctor),
        ("N371003004401", Kind::Nurse),
        ("320900", Kind::AdminArea),
        ("11010519491231002X", Kind::ResidentId),
        ("440524188001010014", Kind::ResidentId),
        ("91350200776049653A", Kind::CreditCode),
        ("913502000728319549", Kind::CreditCode),
        ("91440101MA5CJQ4N59", Kind::CreditCode),
        ("86900483000019", Kind::DrugStandardCode),
        ("国药准字H20067255", Kind::ApprovalNumber),
        ("国药准字HJ20171237", Kind::ApprovalNumber),
        ("国械注准20213030647", Kind::DeviceRegistration),
    ];
    for (code, kind) in cases {
        match detect(code) {
            Detection::Unique { parsed } => assert_eq!(parsed.kind, kind, "{code}"),
            other => panic!("{code}: {other:?}"),
        }
    }
}

/// A defective code names only the kinds it resembles.
#[test]
fn detection_of_defective_codes_names_only_their_kind() {
    let cases = [
        ("Z014", Kind::Diagnosis),
        ("93.351699999999994", Kind::Procedure),
        ("57.94", Kind::Procedure),
        ("60011020000100000000", Kind::Service),
        ("X-J01CA-A040-A006", Kind::Drug),
        ("XB06ACL388B0", Kind::Drug),
        ("XJ01CAA04501010113", Kind::Drug),
        ("C03010100100001", Kind::Consumable),
        ("D37107200768", Kind::Doctor),
        ("990100", Kind::AdminArea),
        ("86904495000166；86904495000173", Kind::DrugStandardCode),
        ("86900483000018", Kind::DrugStandardCode),
        ("H20067255", Kind::ApprovalNumber),
    ];
    for (code, kind) in cases {
        match detect(code) {
            Detection::Malformed { reasons } => {
                let kinds: Vec<Kind> = reasons.iter().map(|m| m.kind).collect();
                assert_eq!(kinds, [kind], "{code}: {reasons:?}");
            }
            other => panic!("{code}: {other:?}"),
        }
    }
    // A bad check character on an ID leaves the credit-code reading, which fails too.
    match detect("91350203M0001QAY9B") {
        Detection::Malformed { reasons } => {
            assert_eq!(
                reasons.iter().map(|m| m.kind).collect::<Vec<_>>(),
                [Kind::CreditCode]
            );
        }
        other => panic!("{other:?}"),
    }
}

/// An all-digit 18-character string passing both check characters is both an ID and a credit code.
#[test]
fn digits_passing_both_checks_are_ambiguous() {
    match detect("110105197001010054") {
        Detection::Ambiguous { candidates } => {
            let kinds: Vec<Kind> = candidates.iter().map(|p| p.kind).collect();
            assert_eq!(kinds, [Kind::ResidentId, Kind::CreditCode]);
        }
        other => panic!("{other:?}"),
    }
    // The first valid ID of legacy-data.md fails the GB 32100 check: unique.
    assert!(matches!(
        detect("440524188001010014"),
        Detection::Unique { .. }
    ));
}

/// Parse every code of one column of a real list as `family`: the count per form, how many
/// codes `detect` gives to some other kind or to several (with the kinds), and the codes that do
/// not parse well formed (with why), in file order.
fn real_list(
    rel: &str,
    col: &str,
    family: Family,
) -> Option<(
    BTreeMap<&'static str, usize>,
    BTreeMap<String, usize>,
    Vec<(String, String)>,
)> {
    let path = shared(rel)?;
    let (header, rows) = tsv(&path);
    let c = column(&header, col);
    let mut forms = BTreeMap::new();
    let mut detected = BTreeMap::new();
    let mut bad = Vec::new();
    for row in rows {
        let code = row.get(c).map(|s| s.trim()).unwrap_or("");
        if code.is_empty() {
            continue;
        }
        match family.parse(code) {
            Ok(p) if p.is_well_formed() => *forms.entry(p.form).or_insert(0) += 1,
            other => bad.push((code.to_string(), format!("{other:?}"))),
        }
        let d = detect(code);
        let kinds = match &d {
            Detection::Unique { parsed } if parsed.kind == family.kind() => continue,
            other => format!("{:?}", other.kinds()),
        };
        *detected.entry(kinds).or_insert(0) += 1;
    }
    println!(
        "{rel}: {forms:#?}\ndetected otherwise: {detected:#?}\n{} not well formed: {:#?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
    Some((forms, detected, bad))
}

/// Issue 18: the real catalog lists of `../shared/national-codes/` (PROVENANCE.md) parse as their
/// family, every code well formed, and detection gives each to its family alone: no false
/// malformed on real drug, service or consumable codes.
#[test]
fn real_drug_service_and_consumable_lists_parse_well_formed() {
    let lists: [(&str, &str, Family, &[(&str, usize)]); 4] = [
        (
            "national-codes/drugs/drug-codes-medimodel.tsv",
            "药品代码",
            Family::Drug,
            &[("20-char 中成药", 8_263), ("23-char 西药", 5_475)],
        ),
        (
            "national-codes/drugs/drug-codes-with-details-nhsa-pdf-caofeng926.tsv",
            "医保药品编码",
            Family::Drug,
            &[("20-char 中成药", 7_115), ("23-char 西药", 3_755)],
        ),
        (
            "national-codes/services/service-codes-15digit-medimodel.tsv",
            "项目编码",
            Family::Service,
            &[("15-digit", 3_109)],
        ),
        (
            "national-codes/consumables/consumable-codes-sample-nhsa-caofeng926.tsv",
            "耗材代码",
            Family::Consumable,
            &[("20-char", 661)],
        ),
    ];
    for (rel, col, family, expected) in lists {
        let Some((forms, detected, bad)) = real_list(rel, col, family) else {
            continue;
        };
        assert_eq!(bad, Vec::<(String, String)>::new(), "{rel}");
        assert_eq!(detected, BTreeMap::new(), "{rel}: detected as another kind");
        let expected: Vec<(&str, usize)> = expected.to_vec();
        assert_eq!(forms.into_iter().collect::<Vec<_>>(), expected, "{rel}");
    }
}

/// Issue 18: `codes import` reads the real catalog lists as published. The NHSA-PDF drug list
/// has no 注册名称 in 3,167 rows: their name comes from 药品通用名, and the summary says so; the
/// consumable extract has no 医保通用名 in 572 rows: those codes load without a name, counted,
/// and a `name-agrees` rule leaves them alone (a name column empty in every row is still refused).
#[test]
fn real_catalog_lists_import_as_published() {
    let (Some(drugs), Some(consumables)) = (
        shared("national-codes/drugs/drug-codes-with-details-nhsa-pdf-caofeng926.tsv"),
        shared("national-codes/consumables/consumable-codes-sample-nhsa-caofeng926.tsv"),
    ) else {
        return;
    };
    let w = common::Workdir::new();
    let import = |family: &str, version: &str, path: &Path, json: bool| {
        w.import_codes_from(family, version, path, json)
    };
    let import_json = |family: &str, version: &str, path: &Path| {
        let out = import(family, version, path, true);
        out.expect_code(0);
        out.json()
    };
    let d = import_json("drug", "pdf", &drugs);
    assert_eq!(d["codes"], 10_870);
    let f = &d["files"][0];
    assert_eq!(
        (&f["name_column"], &f["fallback_name_column"]),
        (&"注册名称".into(), &"药品通用名".into())
    );
    assert_eq!(
        (&f["named_by_fallback"], &f["without_name"]),
        (&3_167.into(), &0.into())
    );
    let c = import_json("consumable", "sample", &consumables);
    assert_eq!(c["codes"], 661);
    assert_eq!(c["files"][0]["without_name"], 572);
    let out = import("consumable", "again", &consumables, false);
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("572 codes have no name (column 医保通用名 empty)"),
        "{}",
        out.stdout
    );

    // A name-agrees rule over the name-less codes: no failure for want of a national name.
    w.write(
        "yibao.toml",
        "[[datasets]]\nname = \"fees\"\nkind = \"fee-detail\"\npath = \"data/fees.csv\"\nkey = [\"feedetl_sn\"]\n\n\
         [datasets.columns]\nfeedetl_sn = \"feedetl_sn\"\nmed_list_codg = \"med_list_codg\"\n\
         medins_list_name = \"medins_list_name\"\n",
    );
    w.write(
        "data/fees.csv",
        "feedetl_sn,med_list_codg,medins_list_name\n\
         F1,C0101030030100100841,气道导丝\n\
         F2,C0101010011303807555,完全不同的东西\n",
    );
    w.write(
        "quality-rules/names.toml",
        r#"[pack]
name = "names"
version = "1"

[[rule]]
id = "names.agree"
title = "名称不符"
dimension = "accuracy"
severity = "error"
datasets = ["fee-detail"]
kind = "name-agrees"
field = "med_list_codg"
name_field = "medins_list_name"
family = "consumable"
codes = [{ code = "C1", name = "气道导丝" }]
pass = [{ med_list_codg = "C1", medins_list_name = "气道导丝" }]
fail = [{ med_list_codg = "C1", medins_list_name = "完全不同" }]
"#,
    );
    let out = w.run(&["--json", "check", "--pack", "names"]);
    out.expect_code(0);
    let report = out.json();
    let rule = &report["datasets"][0]["rules"][0];
    // F1's code has no national name: not judged; F2's national name (气管支气管支架（覆膜）)
    // shares nothing with the local one.
    assert_eq!(rule["failed"], 1, "{rule:#}");
    assert_eq!(rule["samples"][0]["row"], 3);

    // Names missing in every row: the wrong column or family, refused with nothing loaded.
    let blank = w.write(
        "blank.csv",
        "耗材代码,医保通用名\nC0101030030100100841,\nC0101010011303807555,\n",
    );
    let out = import("consumable", "blank", &blank, false);
    out.expect_code(2);
    assert!(
        out.stderr.contains("the name column is empty in every row"),
        "{}",
        out.stderr
    );
}

/// The 15-digit national service code holds the 9-digit 全国医疗服务价格项目规范 code at digits
/// 3–11 (`00` + 9 + 2 拓展 + 2 加收): held against the Shaanxi 2021 price list, 2,978 of the 3,056
/// national (`00…`) codes of the real list have theirs there, and `parse` names that segment
/// as the price-spec code, verified (docs/CODE-STRUCTURES.md).
#[test]
fn a_service_code_holds_its_price_spec_code() {
    let (Some(codes), Some(prices)) = (
        shared("national-codes/services/service-codes-15digit-medimodel.tsv"),
        shared("national-codes/services/shaanxi-service-price-items-2021.tsv"),
    ) else {
        return;
    };
    let (h, rows) = tsv(&prices);
    let c = column(&h, "编码");
    let spec: std::collections::BTreeSet<String> = rows.iter().map(|r| r[c].clone()).collect();
    let (h, rows) = tsv(&codes);
    let c = column(&h, "项目编码");
    let national: Vec<&String> = rows
        .iter()
        .map(|r| &r[c])
        .filter(|code| code.starts_with("00"))
        .collect();
    let linked = national
        .iter()
        .filter(|code| {
            let p = Family::Service.parse(code).unwrap();
            assert_eq!(p.segments[1].text, code[2..11], "{code}");
            assert_eq!(p.segments[1].certainty, yibao::codes::Certainty::Verified);
            spec.contains(&code[2..11])
        })
        .count();
    assert_eq!((national.len(), linked), (3_056, 2_978));
}

/// Issue 18 item 3: the Shaanxi 2021 price list is not a code table; `codes import` says what it
/// is instead of only which headers it looked for.
#[test]
fn a_provincial_price_list_is_named_as_one() {
    let Some(prices) = shared("national-codes/services/shaanxi-service-price-items-2021.tsv")
    else {
        return;
    };
    let w = common::Workdir::new();
    let out = w.import_codes_from("service", "sx2021", &prices, false);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("this is a price list (编码, 计价单位, 最高限价)")
            && out.stderr.contains("9-digit 全国医疗服务价格项目规范"),
        "{}",
        out.stderr
    );
}
