//! yibao.toml as a user writes it: `yibao init DIR` must give a workspace that loads and reads
//! its first dataset; every mistake in yibao.toml must exit 2 with a diagnostic naming yibao.toml
//! and the line (and "did you mean" for misspellings). Messages are asserted word for word,
//! since docs/WORKSPACE.md quotes them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Run, Workdir};
use serde_json::json;
use yibao::codes::Family;
use yibao::workspace::{Area, DatasetKind, Encoding, Format, SqliteSource, Workspace};

/// stderr with miette's wrapping and box drawing undone.
fn flat(run: &Run) -> String {
    run.stderr
        .replace(['│', '×', '╭', '╰', '─', '┬', '·', '▲'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when `needle` is in `haystack`, white space aside (miette wraps lines anywhere, even
/// after a `/`).
fn has(haystack: &str, needle: &str) -> bool {
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    squeeze(haystack).contains(&squeeze(needle))
}

/// Write yibao.toml, run a command that loads it, and return the flattened diagnostic.
fn mistakes(toml: &str) -> String {
    let w = Workdir::new();
    w.write("yibao.toml", toml);
    let run = w.run(&["profile", "anything"]);
    run.expect_code(2);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    flat(&run)
}

/// One mistake: its `yibao.toml:LINE: message` and its help line.
fn assert_one(toml: &str, line: usize, message: &str, help: Option<&str>) {
    let err = mistakes(toml);
    assert!(has(&err, "1 mistake in yibao.toml"), "{err}");
    let located = format!("yibao.toml:{line}: {message}");
    assert!(has(&err, &located), "wanted `{located}` in:\n{err}");
    if let Some(help) = help {
        assert!(
            has(&err, &format!("help: {help}")),
            "wanted help `{help}` in:\n{err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// yibao init
// ---------------------------------------------------------------------------------------------

#[test]
fn init_creates_a_workspace_that_loads() {
    let w = Workdir::new();
    let run = w.run(&["init", "ws"]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("created workspace ws\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("next: yibao --workspace ws profile settlements"),
        "{}",
        run.stdout
    );
    let root = w.path().join("ws");
    for sub in ["data", "mappings", "quality-rules", "out"] {
        assert!(root.join(sub).is_dir(), "{sub}/");
    }
    assert_eq!(
        std::fs::read_to_string(root.join(".gitignore")).unwrap(),
        ".yibao/\nout/\n"
    );

    let ws = Workspace::load(&root).unwrap();
    assert_eq!(ws.name, "my migration");
    assert_eq!(ws.out, root.join("out"));
    assert_eq!(
        ws.areas,
        [Area {
            code: "320900".into(),
            name: "盐城市".into()
        }]
    );
    assert_eq!(
        ws.code_sets,
        BTreeMap::from([
            (Family::Diagnosis, "2.0".to_string()),
            (Family::Procedure, "2.0".to_string())
        ])
    );
    assert_eq!(ws.packs, ["national"]);
    assert_eq!(
        (ws.batch.max_records, ws.batch.max_bytes),
        (10_000, 8_388_608)
    );
    assert_eq!(
        (ws.thresholds.dirty_rate, ws.thresholds.coverage),
        (Some(0.15), Some(0.95))
    );
    assert_eq!(ws.datasets.len(), 1);
    let d = &ws.datasets[0];
    assert_eq!(
        (d.name.as_str(), d.kind, d.area.as_deref(), d.path.as_str()),
        (
            "settlements",
            DatasetKind::Settlement,
            Some("320900"),
            "data/settlements*.csv"
        )
    );
    assert_eq!(d.encoding, None, "\"auto\" means detected");
    assert_eq!(d.key, ["setl_id"]);
    assert_eq!(
        d.columns,
        BTreeMap::from(
            [
                ("结算ID", "setl_id"),
                ("就诊ID", "mdtrt_id"),
                ("医疗费总额", "medfee_sumamt")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        )
    );
}

#[test]
fn the_first_dataset_of_a_new_workspace_profiles() {
    let w = Workdir::new();
    w.run(&["init", "ws"]).expect_code(0);
    // What the template's next-step hint says to run, before any data: the glob matches nothing.
    let run = w.run(&["--workspace", "ws", "profile", "settlements"]);
    run.expect_code(2);
    let err = flat(&run);
    let line = yibao::workspace::template::YIBAO_TOML
        .lines()
        .position(|l| l == "path = \"data/settlements*.csv\"")
        .unwrap()
        + 1;
    assert!(
        has(
            &err,
            &format!("ws/yibao.toml:{line}: dataset `settlements`: `data/settlements*.csv` matches no file")
        ),
        "{err}"
    );

    // A GBK export dropped into data/ is read, detected and mapped.
    let (gbk, _, _) = encoding_rs::GBK
        .encode("结算ID,就诊ID,医疗费总额\r\nS0001,M001,70.00\r\nS0002,M002,37.10\r\n");
    w.write("ws/data/settlements_2024.csv", gbk);
    let run = w.run(&["--workspace", "ws", "--json", "profile", "settlements"]);
    run.expect_code(0);
    let p = run.json();
    assert_eq!(p["rows"], 2);
    assert_eq!(p["files"][0]["path"], "ws/data/settlements_2024.csv");
    assert_eq!(p["files"][0]["encoding"]["encoding"], "gbk");
    let names: Vec<&str> = p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["setl_id", "mdtrt_id", "medfee_sumamt"]);
    assert_eq!(p["columns"][2]["inferred_type"], "decimal");
}

#[test]
fn init_refuses_an_existing_workspace() {
    let w = Workdir::new();
    w.run(&["init", "ws"]).expect_code(0);
    let before = std::fs::read(w.path().join("ws/yibao.toml")).unwrap();
    let run = w.run(&["init", "ws"]);
    run.expect_code(2);
    assert!(
        flat(&run)
            .contains("ws already holds a workspace (yibao.toml exists); nothing was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(w.path().join("ws/yibao.toml")).unwrap(),
        before
    );
}

#[test]
fn no_yibao_toml_is_a_clear_library_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = Workspace::load(dir.path()).unwrap_err();
    assert_eq!(e.errors.len(), 1);
    assert_eq!(
        e.errors[0].message,
        format!("no yibao.toml in {}", dir.path().display())
    );
    assert_eq!(
        e.errors[0].help.as_deref(),
        Some(
            format!(
                "create a workspace with `yibao init {}` or pass --workspace DIR",
                dir.path().display()
            )
            .as_str()
        )
    );
}

// ---------------------------------------------------------------------------------------------
// every key, validated
// ---------------------------------------------------------------------------------------------

#[test]
fn a_full_yibao_toml_validates_into_typed_values() {
    let text = r#"
[workspace]
out = "reports"

[[areas]]
code = "320900"
name = "盐城市"

[[areas]]
code = "320100"
name = "南京市"

[[datasets]]
name = "fees"
area = "320900"
kind = "fee-detail"
path = "data/fee_*.txt"
format = "csv"
encoding = "GB18030"
delimiter = "tab"
header_row = 3
key = ["feedetl_sn"]

[datasets.columns]
"明细流水号" = "feedetl_sn"
"费用发生时间" = "fee_ocur_time"
"本地标志" = "x_local_flag"

[[datasets]]
name = "dump"
area = "320100"
kind = "drug-catalog"
path = "data/his.db"
query = "SELECT * FROM drugs"

[[datasets]]
name = "book"
area = "320100"
kind = "diagnosis"
path = "data/diag.xlsx"
sheet = "诊断"
encoding = "auto"
delimiter = "|"
"#;
    let root = Path::new("/ws");
    let ws = Workspace::parse(root, &root.join("yibao.toml"), text.to_string()).unwrap();
    assert_eq!(
        ws.name, "ws",
        "the folder name when [workspace] name is absent"
    );
    assert_eq!(ws.out, root.join("reports"));
    assert_eq!(
        (ws.batch.max_records, ws.batch.max_bytes),
        (10_000, 8 * 1024 * 1024),
        "defaults"
    );
    assert_eq!(
        (ws.thresholds.dirty_rate, ws.thresholds.coverage),
        (None, None)
    );
    assert!(ws.packs.is_empty() && ws.code_sets.is_empty());
    let fees = ws.dataset("fees").unwrap();
    assert_eq!(
        (fees.format, fees.encoding, fees.delimiter, fees.header_row),
        (
            Some(Format::Csv),
            Some(Encoding::Gb18030),
            Some(b'\t'),
            Some(3)
        )
    );
    assert_eq!(
        fees.columns["本地标志"], "x_local_flag",
        "local extras start with x_"
    );
    let dump = ws.dataset("dump").unwrap();
    assert_eq!(
        dump.sqlite,
        Some(SqliteSource::Query("SELECT * FROM drugs".into()))
    );
    assert_eq!(dump.kind, DatasetKind::DrugCatalog);
    let book = ws.dataset("book").unwrap();
    assert_eq!(
        (
            book.sheet.as_deref(),
            book.encoding,
            book.delimiter,
            book.format
        ),
        (Some("诊断"), None, Some(b'|'), None)
    );
    // The validated workspace serialises for scripts (kinds and formats by their yibao.toml names).
    let j = serde_json::to_value(&ws).unwrap();
    assert_eq!(j["datasets"][0]["kind"], "fee-detail");
    assert_eq!(j["datasets"][0]["format"], "csv");
    assert_eq!(
        j["datasets"][1]["sqlite"],
        json!({"query": "SELECT * FROM drugs"})
    );
}

// ---------------------------------------------------------------------------------------------
// mistakes, one at a time
// ---------------------------------------------------------------------------------------------

const DS: &str = "[[datasets]]\nname = \"fees\"\nkind = \"fee-detail\"\n";

#[test]
fn unknown_key_pth_suggests_path() {
    assert_one(
        &format!("{DS}pth = \"data/*.csv\"\n"),
        4,
        "unknown field `pth`, expected one of `name`, `area`, `kind`, `path`",
        Some("did you mean `path`?"),
    );
}

#[test]
fn unknown_dataset_kind_suggests_the_closest() {
    assert_one(
        "[[datasets]]\nname = \"fees\"\nkind = \"fee-detial\"\npath = \"data/*.csv\"\n",
        3,
        "unknown dataset kind `fee-detial`",
        Some("did you mean `fee-detail`?"),
    );
    assert_one(
        "[[datasets]]\nname = \"fees\"\nkind = \"claims\"\npath = \"data/*.csv\"\n",
        3,
        "unknown dataset kind `claims`",
        Some("kinds: settlement, fee-detail, diagnosis, operation, drug-catalog, service-catalog, consumable-catalog, institution"),
    );
}

#[test]
fn unknown_national_field_suggests_the_closest() {
    assert_one(
        &format!("{DS}path = \"data/*.csv\"\n\n[datasets.columns]\n\"费用发生时间\" = \"fee_ocur_tim\"\n"),
        7,
        "`fee_ocur_tim` is not a field of a fee-detail dataset",
        Some("did you mean `fee_ocur_time`?"),
    );
    // A field of another kind is not a field of this one.
    assert_one(
        &format!("{DS}path = \"data/*.csv\"\n\n[datasets.columns]\n\"主诊断\" = \"maindiag_flag\"\n"),
        7,
        "`maindiag_flag` is not a field of a fee-detail dataset",
        Some("national field names of a fee-detail dataset are listed in docs/WORKSPACE.md; local extras start with x_"),
    );
}

#[test]
fn bad_area_code() {
    assert_one(
        "[[areas]]\ncode = \"32090\"\nname = \"盐城市\"\n",
        2,
        "area code `32090` is not a 医保区划 code",
        Some("an area code is the 6-digit administrative division code, e.g. 320900 for 盐城市"),
    );
    assert_one("[[areas]]\ncode = \"320900\"\nname = \"盐城市\"\n\n[[areas]]\ncode = \"320900\"\nname = \"盐城\"\n", 6, "area `320900` is listed twice", None);
}

#[test]
fn key_field_not_mapped() {
    assert_one(
        &format!("{DS}path = \"data/*.csv\"\nkey = [\"feedetl_sn\"]\n"),
        5,
        "key field `feedetl_sn` is not mapped from any column",
        Some("map a source column onto it under [datasets.columns]"),
    );
}

#[test]
fn toml_syntax_error() {
    assert_one(
        "[workspace]\nname = \"unterminated\n",
        2,
        "invalid basic string",
        None,
    );
    assert_one(
        "[workspace]\nname = \"a\"\nname = \"b\"\n",
        3,
        "duplicate key",
        None,
    );
}

#[test]
fn unknown_sections_and_keys_elsewhere() {
    assert_one(
        "[workspace]\nnmae = \"x\"\n",
        2,
        "unknown field `nmae`, expected `name` or `out`",
        Some("did you mean `name`?"),
    );
    assert_one(
        "[threshold]\ndirty_rate = 0.1\n",
        1,
        "unknown field `threshold`",
        Some("did you mean `thresholds`?"),
    );
    assert_one(
        "[rules]\npack = [\"national\"]\n",
        2,
        "unknown field `pack`, expected `packs`",
        Some("did you mean `packs`?"),
    );
}

#[test]
fn areas_of_datasets() {
    let two = "[[areas]]\ncode = \"320900\"\nname = \"盐城市\"\n\n[[areas]]\ncode = \"320100\"\nname = \"南京市\"\n\n";
    assert_one(
        &format!("{two}{DS}path = \"a.csv\"\n"),
        10,
        "dataset `fees` needs `area =`: the workspace has 2 areas",
        None,
    );
    assert_one(
        &format!("{two}[[datasets]]\nname = \"fees\"\narea = \"320200\"\nkind = \"fee-detail\"\npath = \"a.csv\"\n"),
        11,
        "area `320200` is not among [[areas]]",
        Some("areas: 320900, 320100"),
    );
    assert_one(
        &format!("{DS}area = \"320900\"\npath = \"a.csv\"\n"),
        4,
        "area `320900` is not among [[areas]]",
        Some("declare it in an [[areas]] table"),
    );
}

#[test]
fn dataset_options() {
    assert_one(
        &format!("{DS}path = \"a.csv\"\nformat = \"xlsxx\"\n"),
        5,
        "unknown format `xlsxx`",
        Some("did you mean `xlsx`?"),
    );
    assert_one(
        &format!("{DS}path = \"a.csv\"\nencoding = \"big5\"\n"),
        5,
        "unknown encoding `big5`",
        Some("encodings: utf-8, gbk, gb18030, auto"),
    );
    assert_one(
        &format!("{DS}path = \"a.csv\"\ndelimiter = \";;\"\n"),
        5,
        "a delimiter is one character, not `;;`",
        Some("use \",\", \"|\", \";\" or \"tab\""),
    );
    assert_one(
        &format!("{DS}path = \"a.csv\"\nheader_row = 0\n"),
        5,
        "header_row counts from 1",
        None,
    );
    assert_one(
        &format!("{DS}path = \"a.sqlite\"\n"),
        4,
        "a SQLite dataset needs `table = \"…\"` or `query = \"…\"`",
        None,
    );
    assert_one(
        &format!("{DS}path = \"a.db\"\n"),
        4,
        "a SQLite dataset needs `table = \"…\"` or `query = \"…\"`",
        None,
    );
    assert_one(
        "[[datasets]]\nname = \"my fees\"\nkind = \"fee-detail\"\npath = \"a.csv\"\n",
        2,
        "dataset name `my fees` must be letters, digits, `_` or `-`",
        Some("the name is used in file names of reports and batches"),
    );
    assert_one(
        &format!("{DS}path = \"a.csv\"\n\n[datasets.columns]\n\"结算ID\" = \"setl_id\"\n\"结算编号\" = \"setl_id\"\n"),
        8,
        "two columns are mapped onto `setl_id`",
        None,
    );
    assert_one(
        &format!("{DS}path = \"a.csv\"\nheader_row = \"3\"\n"),
        5,
        "invalid type: string \"3\", expected i64",
        None,
    );
}

/// Tables declared with their files are imported by the first command that needs them, once;
/// a missing file is named.
#[test]
fn code_sets_with_files_are_imported_on_first_use() {
    let w = Workdir::new();
    w.run(&["init", "ws", "--sample"]).expect_code(0);
    let first = w.run(&["--workspace", "ws", "map", "coverage"]);
    assert!(
        first
            .stderr
            .contains("imported drug version demo (12 codes) as yibao.toml declares"),
        "{}",
        first.stderr
    );
    let second = w.run(&["--workspace", "ws", "map", "coverage"]);
    assert!(!second.stderr.contains("imported"), "{}", second.stderr);

    let w = Workdir::new();
    w.write(
        "yibao.toml",
        "[[areas]]\ncode = \"320900\"\nname = \"盐城市\"\n[code_sets]\ndrug = { version = \"1\", files = [\"national/none.csv\"] }\n",
    );
    let run = w.run(&["map", "coverage"]);
    run.expect_code(2);
    assert!(has(&flat(&run), "none.csv: no such file"), "{}", run.stderr);
}

#[test]
fn code_sets_batch_and_thresholds() {
    assert_one(
        "[code_sets]\ndiagnosys = \"2.0\"\n",
        2,
        "unknown code family `diagnosys`",
        Some("did you mean `diagnosis`?"),
    );
    assert_one(
        "[code_sets]\ndrug = { version = \"1\", file = [\"a.csv\"] }\n",
        2,
        "unknown key `file` in a code set",
        Some("did you mean `files`?"),
    );
    assert_one(
        "[code_sets]\ndrug = { files = [\"a.csv\"] }\n",
        2,
        "a code set needs `version = \"…\"`",
        None,
    );
    assert_one(
        "[code_sets]\ndrug = 2024\n",
        2,
        "a code set is a version string or a table",
        None,
    );
    assert_one(
        "[batch]\nmax_records = 0\n",
        2,
        "must be at least 1, not 0",
        None,
    );
    assert_one(
        "[batch]\nmax_bytes = -5\n",
        2,
        "must be at least 1, not -5",
        None,
    );
    assert_one(
        "[thresholds]\ndirty_rate = 15\n",
        2,
        "a rate is between 0 and 1, not 15",
        Some("write 15% as 0.15"),
    );
    assert_one(
        "[thresholds]\ncoverage = -0.1\n",
        2,
        "a rate is between 0 and 1, not -0.1",
        Some("write 15% as 0.15"),
    );
}

#[test]
fn every_mistake_of_one_load_is_reported() {
    let err = mistakes(
        "[[areas]]\ncode = \"3209\"\nname = \"盐城市\"\n\n[[datasets]]\nname = \"fees\"\nkind = \"fee-detial\"\npath = \"a.csv\"\n\n[thresholds]\ndirty_rate = 2.0\n",
    );
    assert!(has(&err, "3 mistakes in yibao.toml"), "{err}");
    assert!(
        has(
            &err,
            "yibao.toml:2: area code `3209` is not a 医保区划 code"
        ),
        "{err}"
    );
    assert!(
        has(&err, "yibao.toml:7: unknown dataset kind `fee-detial`"),
        "{err}"
    );
    assert!(
        has(&err, "yibao.toml:11: a rate is between 0 and 1, not 2"),
        "{err}"
    );
}

#[test]
fn table_and_query_together_is_one_mistake() {
    assert_one(
        &format!("{DS}path = \"a.sqlite\"\ntable = \"t\"\nquery = \"SELECT 1\"\n"),
        6,
        "give `table` or `query`, not both",
        None,
    );
}

#[test]
fn a_repeated_dataset_name_points_at_the_name() {
    assert_one(
        &format!("{DS}path = \"a.csv\"\n\n{DS}path = \"b.csv\"\n"),
        7,
        "dataset name `fees` is used twice",
        Some("dataset names must be unique"),
    );
}

// ---------------------------------------------------------------------------------------------
// national fields and their types (docs/WORKSPACE.md lists them)
// ---------------------------------------------------------------------------------------------

#[test]
fn each_kind_has_its_national_fields() {
    let counts: Vec<(&str, usize)> = DatasetKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.fields().count()))
        .collect();
    assert_eq!(
        counts,
        [
            ("settlement", 125),
            ("fee-detail", 52),
            ("diagnosis", 12),
            ("operation", 18),
            ("drug-catalog", 20),
            ("service-catalog", 20),
            ("consumable-catalog", 20),
            ("institution", 10),
            ("department", 19),
            ("practitioner", 10),
        ]
    );
    assert!(DatasetKind::FeeDetail.allows("x_his_flag"));
    assert!(
        !DatasetKind::FeeDetail.allows("diag_code"),
        "a diagnosis field"
    );
    assert!(DatasetKind::Diagnosis.allows("diag_code"));
}

#[test]
fn field_types_follow_national_naming() {
    use yibao::codes::Kind;
    use yibao::workspace::{field_type, FieldType};
    for (field, ty) in [
        ("fee_ocur_time", FieldType::DateTime),
        ("adm_time", FieldType::DateTime),
        ("setl_time", FieldType::DateTime),
        ("oprn_oprt_begntime", FieldType::DateTime),
        ("brdy", FieldType::Date),
        ("setl_end_date", FieldType::Date),
        ("begndate", FieldType::Date),
        ("medfee_sumamt", FieldType::Amount),
        ("det_item_fee_sumamt", FieldType::Amount),
        ("cash_payamt", FieldType::Amount),
        ("cnt", FieldType::Number),
        ("pric", FieldType::Number),
        ("diag_code", FieldType::Code(Kind::Diagnosis)),
        ("dise_codg", FieldType::Code(Kind::Diagnosis)),
        ("oprn_oprt_code", FieldType::Code(Kind::Procedure)),
        ("fixmedins_code", FieldType::Code(Kind::Institution)),
        ("certno", FieldType::Code(Kind::ResidentId)),
        ("med_list_codg", FieldType::CatalogCode),
        ("medins_list_codg", FieldType::Text),
        ("psn_name", FieldType::Text),
    ] {
        assert_eq!(field_type(field), ty, "{field}");
    }
}

#[test]
fn end_times_blood_volume_and_cash_are_typed() {
    use yibao::workspace::{field_type, FieldType};
    assert_eq!(field_type("oprn_oprt_endtime"), FieldType::DateTime);
    assert_eq!(field_type("anst_endtime"), FieldType::DateTime);
    assert_eq!(field_type("bld_amt"), FieldType::Number);
    assert_eq!(field_type("psn_cashpay"), FieldType::Amount);
}

/// Issue 16 item 10: a misspelled kind is one mistake; the key and code fields mapped under
/// [datasets.columns] are not reported as "not mapped" besides.
#[test]
fn i16_10_misspelled_kind_is_the_only_mistake() {
    assert_one(
        "[[datasets]]\nname = \"fees\"\nkind = \"fee-detial\"\npath = \"a.csv\"\nkey = [\"feedetl_sn\"]\n[datasets.columns]\n\"流水号\" = \"feedetl_sn\"\n\"项目编码\" = \"medins_list_codg\"\n[datasets.codes]\nmedins_list_codg = \"catalog\"\n",
        3,
        "unknown dataset kind `fee-detial`",
        Some("did you mean `fee-detail`?"),
    );
    // A key really missing is still said.
    let err = mistakes(
        "[[datasets]]\nname = \"fees\"\nkind = \"fee-detial\"\npath = \"a.csv\"\nkey = [\"feedetl_sn\"]\n",
    );
    assert!(has(&err, "2 mistakes in yibao.toml"), "{err}");
    assert!(
        has(
            &err,
            "yibao.toml:5: key field `feedetl_sn` is not mapped from any column"
        ),
        "{err}"
    );
}

/// Issue 16 item 11: the workspace folder is taken literally in a dataset's glob (a folder
/// named `医保[2024]` is not a character class), and an entry the glob reaches but cannot read
/// refuses the dataset by name instead of being left out.
#[cfg(unix)]
#[test]
fn i16_11_glob_escapes_the_root_and_names_unreadable_entries() {
    let w = Workdir::new();
    let root = w.path().join("医保[2024]");
    w.write(
        "医保[2024]/yibao.toml",
        "[[datasets]]\nname = \"fees\"\nkind = \"fee-detail\"\npath = \"data/*.csv\"\n[datasets.columns]\n\"流水号\" = \"feedetl_sn\"\n",
    );
    w.write("医保[2024]/data/a.csv", "流水号\n1\n2\n");
    w.write("医保[2024]/data/b.csv", "流水号\n3\n");
    let ws = Workspace::load(&root).unwrap();
    let files = yibao::source::dataset::resolve(&ws, &ws.datasets[0]).unwrap();
    assert_eq!(
        files,
        vec![root.join("data/a.csv"), root.join("data/b.csv")]
    );
    let run = w.run(&["--workspace", "医保[2024]", "--json", "profile", "fees"]);
    run.expect_code(0);
    assert_eq!(run.json()["rows"], 3, "{}", run.stdout);

    std::os::unix::fs::symlink("nowhere.csv", root.join("data/gone.csv")).unwrap();
    let err = yibao::source::dataset::resolve(&ws, &ws.datasets[0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:4: dataset `fees`: `data/*.csv` reaches 1 entry that cannot be read: {} (No such file or directory (os error 2))",
            root.join("yibao.toml").display(),
            root.join("data/gone.csv").display()
        )
    );
    let run = w.run(&["--workspace", "医保[2024]", "check"]);
    run.expect_code(2);
    assert!(
        has(&flat(&run), "reaches 1 entry that cannot be read"),
        "{}",
        run.stderr
    );
}
