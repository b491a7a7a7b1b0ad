//! The demo workspace (`samples/demo/`, `yibao init DIR --sample`, `samples generate --demo`):
//! two coordination areas exporting their legacy data differently — 盐城市 as GBK CSV files,
//! 苏州市 as .xlsx workbooks with legacy diagnosis and procedure codes — with the hospitals'
//! catalogs of drugs, services and consumables, partly filled crosswalks for all five families,
//! the national tables the data needs (imported on first use, as yibao.toml declares), and defects
//! at counts the ground truth (`truth.csv`) and `EXPECTED.md` write down. Same bytes every time.

use std::fmt::Write as _;
use std::path::Path;

use super::catalog::ITEMS;
use super::rng::Rng;
use super::{
    mkdir, write_area, write_xlsx, AreaSpec, DatasetNames, Format, GenerateError, Summary, Truth,
    Writer, DEFECTS, DIAGNOSES, UNMAPPED,
};

/// Fee-detail rows of 盐城市 (CSV) and 苏州市 (xlsx).
pub const ROWS: (u64, u64) = (3_000, 2_000);

/// Index in [`DEFECTS`] of a legacy principal diagnosis the crosswalk leaves unmapped.
pub(crate) const UNMAPPED_DIAGNOSIS: usize = 14;
const OPRN_END_BEFORE_BEGIN: usize = 15;
const OPRN_UNMAPPED: usize = 16;
const CAT_DUPLICATE: usize = 17;
const CAT_NEGATIVE_PRICE: usize = 18;
const CAT_END_BEFORE_BEGIN: usize = 19;
const CAT_UNMAPPED: usize = 20;

/// 苏州市's HIS writes 国家临床版-style legacy diagnosis codes, in the order of [`DIAGNOSES`].
const LEGACY_DIAGNOSES: &[&str] = &[
    "K92.204", "I10.x05", "E11.901", "J18.902", "K40.901", "N18.001", "M20.101", "I63.901",
    "J44.101",
];

/// The one legacy diagnosis 苏州市's crosswalk has no row for.
const UNMAPPED_LEGACY_DIAGNOSIS: &str = "M20.101";

/// 苏州市's legacy procedure codes and the 医保版 2.0 codes (with names) they map onto.
const PROCEDURES: &[(&str, &str, &str)] = &[
    ("47.01", "47.0100", "腹腔镜下阑尾切除术"),
    ("47.09", "47.0901", "阑尾切除术"),
    ("51.23", "51.2300", "腹腔镜下胆囊切除术"),
    ("53.00", "53.0001", "单侧腹股沟疝修补术"),
    ("45.23", "45.2302", "电子结肠镜检查"),
    ("36.06", "36.0601", "冠状动脉药物涂层支架置入术"),
];

/// The legacy procedure 苏州市's crosswalk has no row for.
const UNMAPPED_PROCEDURE: &str = "45.23";

/// Names of the national diagnoses the demo uses.
const DIAGNOSIS_NAMES: &[(&str, &str)] = &[
    ("K92.210", "消化道出血"),
    ("I10.x00", "特发性（原发性）高血压"),
    ("E11.900", "2型糖尿病"),
    ("J18.900", "肺炎"),
    ("K40.900x003", "单侧腹股沟斜疝"),
    ("N18.500", "慢性肾脏病5期"),
    ("M20.100x002", "后天性（足母）外翻"),
    ("I63.900", "脑梗死"),
    ("J44.100", "慢性阻塞性肺病伴有急性加重"),
    ("R18.x00", "腹水"),
    ("N80.900", "子宫内膜异位症"),
];

/// Catalog items 苏州市's crosswalks leave unmapped (its catalogs list them; its fee lines bill them).
const SUZHOU_UNMAPPED: &[&str] = &[
    "A9400091IJ00",
    "A9400011TA00",
    "F0086",
    "F0003",
    "C0005",
    "C0002",
];

fn suzhou() -> AreaSpec {
    AreaSpec {
        code: "320500",
        title: "苏州市医保结算清单",
        cert_area: "320505",
        item_prefix: "SZ",
        unmapped: SUZHOU_UNMAPPED,
        diagnoses: LEGACY_DIAGNOSES,
        legacy_diagnoses: true,
        unmapped_diagnosis: Some(UNMAPPED_LEGACY_DIAGNOSIS),
        symptom: "R18.x00",
        female_only: "N80.900",
    }
}

/// Operations of 苏州市's settlements, written as one sheet.
pub(crate) struct Operations {
    r: Rng,
    out: Writer,
    line: u64,
    rows: u64,
}

impl Operations {
    fn new(path: &Path, seed: u64) -> Result<Operations, GenerateError> {
        let mut out = Writer::create_as(path.to_path_buf(), Format::Xlsx, "手术操作")?;
        out.line
            .push_str("结算ID,手术操作代码,手术操作名称,手术操作日期,手术开始时间,手术结束时间");
        out.flush_line()?;
        Ok(Operations {
            r: Rng::stream(seed, "operations-320500"),
            out,
            line: 1,
            rows: 0,
        })
    }

    /// About one settlement in four had an operation, the day after admission.
    pub(crate) fn settlement(
        &mut self,
        setl_id: &str,
        _diagnosis: usize,
        adm: &str,
        truth: &mut Truth<'_>,
    ) -> Result<(), GenerateError> {
        if !self.r.chance(0.25) {
            return Ok(());
        }
        self.line += 1;
        self.rows += 1;
        let (legacy, _, name) = *self.r.pick(PROCEDURES);
        let day = &adm[..10];
        let hour = self.r.range(8, 14);
        let (mut begin, end) = (
            format!("{day} {hour:02}:00:00"),
            format!("{day} {:02}:30:00", hour + 2),
        );
        if self.r.chance(0.03) {
            begin = format!("{day} {:02}:00:00", hour + 3);
            truth.note("sz_operations", self.line, OPRN_END_BEFORE_BEGIN)?;
        }
        if legacy == UNMAPPED_PROCEDURE {
            truth.note("sz_operations", self.line, OPRN_UNMAPPED)?;
        }
        let _ = write!(
            self.out.line,
            "{setl_id},{legacy},{name},{day},{begin},{end}"
        );
        self.out.flush_line()
    }
}

/// Write the demo workspace into `out`.
pub fn demo(out: &Path) -> Result<Summary, GenerateError> {
    let seed = 1;
    for dir in [
        "data/320900",
        "data/320500",
        "national",
        "mappings/320900",
        "mappings/320500",
    ] {
        mkdir(&out.join(dir))?;
    }
    let mut truth_out = Writer::create(out.join("truth.csv"))?;
    truth_out.line.push_str("dataset,row,defect,rules");
    truth_out.flush_line()?;
    let mut counts = vec![0u64; DEFECTS.len()];
    let mut truth = Truth {
        out: &mut truth_out,
        counts: &mut counts,
    };
    let mut bytes = 0;
    let (mut settlements, mut fee_details) = (0, 0);

    let yc = AreaSpec::yancheng();
    let dir = out.join("data/320900");
    let sizes = write_area(
        &yc,
        ROWS.0,
        &mut Rng::stream(seed, "320900"),
        (
            Writer::create(dir.join("settlements.csv"))?,
            Writer::create(dir.join("fee_details.csv"))?,
        ),
        DatasetNames {
            settlements: "yc_settlements",
            fee_details: "yc_fee_details",
        },
        &mut truth,
        None,
    )?;
    (settlements, fee_details, bytes) = (
        settlements + sizes.settlements,
        fee_details + sizes.fee_details,
        bytes + sizes.bytes,
    );
    for (family, _, prefix) in CATALOGS {
        let mut w = Writer::create(dir.join(format!("{family}_catalog.csv")))?;
        catalog_rows(
            &yc,
            family,
            prefix,
            seed,
            &format!("yc_{family}_catalog"),
            &mut truth,
            &mut w.line_sink(),
        )?;
        bytes += w.finish()?;
    }

    let sz = suzhou();
    let dir = out.join("data/320500");
    let mut ops = Operations::new(&dir.join("operations.xlsx"), seed)?;
    let sizes = write_area(
        &sz,
        ROWS.1,
        &mut Rng::stream(seed, "320500"),
        (
            Writer::create_as(dir.join("settlements.xlsx"), Format::Xlsx, "结算清单")?,
            Writer::create_as(dir.join("fee_details.xlsx"), Format::Xlsx, "费用明细")?,
        ),
        DatasetNames {
            settlements: "sz_settlements",
            fee_details: "sz_fee_details",
        },
        &mut truth,
        Some(&mut ops),
    )?;
    (settlements, fee_details, bytes) = (
        settlements + sizes.settlements,
        fee_details + sizes.fee_details,
        bytes + sizes.bytes,
    );
    bytes += ops.out.finish()?;
    let mut sheets = Vec::new();
    for (family, sheet, prefix) in CATALOGS {
        let mut lines = Vec::new();
        catalog_rows(
            &sz,
            family,
            prefix,
            seed,
            &format!("sz_{family}_catalog"),
            &mut truth,
            &mut lines,
        )?;
        sheets.push((sheet, lines));
    }
    bytes += write_xlsx(&dir.join("catalogs.xlsx"), &sheets)?;

    write_crosswalks(out, &yc, UNMAPPED)?;
    write_crosswalks(out, &sz, SUZHOU_UNMAPPED)?;
    write_legacy_crosswalks(out)?;
    super::write_national(out)?;
    write_clinical_tables(out)?;
    write_text(&out.join("yibao.toml"), CONFIG)?;
    write_text(&out.join(".gitignore"), ".yibao/\nout/\n")?;
    bytes += truth_out.finish()?;
    Ok(Summary {
        out: out.to_path_buf(),
        settlements,
        fee_details,
        defects: DEFECTS
            .iter()
            .zip(counts)
            .map(|(d, c)| (d.name.to_string(), c))
            .collect(),
        bytes,
    })
}

/// The three hospital catalogs: family, sheet name in 苏州市's workbook, local-code prefixes.
const CATALOGS: [(&str, &str, [char; 2]); 3] = [
    ("drug", "药品目录", ['A', 'Z']),
    ("service", "医疗服务项目目录", ['F', 'F']),
    ("consumable", "医用耗材目录", ['C', 'C']),
];

/// Something catalog lines are pushed to: a CSV writer's lines or a sheet's.
trait LineSink {
    fn push_line(&mut self, line: String) -> Result<(), GenerateError>;
}

impl LineSink for Vec<String> {
    fn push_line(&mut self, line: String) -> Result<(), GenerateError> {
        self.push(line);
        Ok(())
    }
}

/// A CSV writer seen as a line sink.
struct CsvLines<'a>(&'a mut Writer);

impl LineSink for CsvLines<'_> {
    fn push_line(&mut self, line: String) -> Result<(), GenerateError> {
        self.0.line = line;
        self.0.flush_line()
    }
}

impl Writer {
    fn line_sink(&mut self) -> CsvLines<'_> {
        CsvLines(self)
    }
}

/// One catalog: every item of the family, with defects at fixed places: one item listed twice,
/// one with a negative price, one whose validity ends before it begins; unmapped items noted.
fn catalog_rows(
    area: &AreaSpec,
    family: &str,
    prefixes: [char; 2],
    seed: u64,
    dataset: &str,
    truth: &mut Truth<'_>,
    out: &mut dyn LineSink,
) -> Result<(), GenerateError> {
    let drug = family == "drug";
    let mut r = Rng::stream(seed, &format!("catalog-{}-{family}", area.code));
    let header = if drug {
        "医院项目编码,医院项目名称,规格,单价,开始日期,结束日期,批准文号"
    } else {
        "医院项目编码,医院项目名称,规格,单价,开始日期,结束日期"
    };
    out.push_line(header.to_string())?;
    let items: Vec<_> = ITEMS
        .iter()
        .filter(|i| i.local_code.starts_with(prefixes))
        .collect();
    let twice = r.below(items.len() as u64) as usize;
    let negative = r.below(items.len() as u64) as usize;
    let backwards = r.below(items.len() as u64) as usize;
    let mut line = 1u64;
    for (n, item) in items.iter().enumerate() {
        let copies = if n == twice { 2 } else { 1 };
        for copy in 0..copies {
            line += 1;
            let mut notes = Vec::new();
            let mut price = item.price_cents;
            if n == negative && copy == 0 {
                price = -price;
                notes.push(CAT_NEGATIVE_PRICE);
            }
            let end = if n == backwards && copy == 0 {
                notes.push(CAT_END_BEFORE_BEGIN);
                "2023-12-31"
            } else {
                "2099-12-31"
            };
            if copy == 1 {
                notes.push(CAT_DUPLICATE);
            }
            if area.unmapped.contains(&item.local_code) {
                notes.push(CAT_UNMAPPED);
            }
            let mut text = format!(
                "{}{},{},{},{}{}.{:02},2024-01-01,{end}",
                area.item_prefix,
                item.local_code,
                item.name,
                item.spec,
                if price < 0 { "-" } else { "" },
                price.abs() / 100,
                price.abs() % 100
            );
            if drug {
                // Issuers: the national regulator (20, 19), the former ministry (10), provinces.
                let issuer = r.pick(&["20", "19", "10", "32", "44"]);
                let _ = write!(text, ",国药准字H{issuer}{:06}", r.below(1_000_000));
            }
            out.push_line(text)?;
            for k in notes {
                truth.note(dataset, line, k)?;
            }
        }
    }
    Ok(())
}

fn write_text(path: &Path, text: &str) -> Result<(), GenerateError> {
    std::fs::write(path, text).map_err(|source| GenerateError {
        path: path.to_path_buf(),
        source,
    })
}

const CROSSWALK_HEADER: &str = "local_code,local_name,national_code,national_name,relation,condition,valid_from,valid_to,status,reviewer,reviewed_at,note\n";

/// An area's drug, service and consumable crosswalks: every item but `unmapped` approved; in
/// 苏州市 two of the unmapped have a pending suggestion a reviewer has not decided yet.
fn write_crosswalks(out: &Path, area: &AreaSpec, unmapped: &[&str]) -> Result<(), GenerateError> {
    for (family, _, prefixes) in CATALOGS {
        let mut text = String::from(CROSSWALK_HEADER);
        for item in ITEMS.iter().filter(|i| i.local_code.starts_with(prefixes)) {
            let status = if !unmapped.contains(&item.local_code) {
                "approved,demo,2024-06-30"
            } else if area.item_prefix.is_empty() || family == "service" {
                continue;
            } else {
                "pending,,"
            };
            let _ = writeln!(
                text,
                "{}{},{},{},{},1:1,,,,{status},",
                area.item_prefix, item.local_code, item.name, item.national, item.name
            );
        }
        write_text(
            &out.join(format!("mappings/{}/{family}.csv", area.code)),
            &text,
        )?;
    }
    Ok(())
}

/// 苏州市's diagnosis and procedure crosswalks: legacy codes onto 医保版 2.0, one of each left out.
fn write_legacy_crosswalks(out: &Path) -> Result<(), GenerateError> {
    let mut text = String::from(CROSSWALK_HEADER);
    for (legacy, national) in LEGACY_DIAGNOSES.iter().zip(DIAGNOSES) {
        if *legacy == UNMAPPED_LEGACY_DIAGNOSIS {
            continue;
        }
        let name = DIAGNOSIS_NAMES
            .iter()
            .find(|(c, _)| c == national)
            .map_or("", |(_, n)| n);
        let _ = writeln!(
            text,
            "{legacy},{name},{national},{name},1:1,,,,approved,demo,2024-06-30,"
        );
    }
    write_text(&out.join("mappings/320500/diagnosis.csv"), &text)?;
    let mut text = String::from(CROSSWALK_HEADER);
    for (legacy, national, name) in PROCEDURES {
        if *legacy == UNMAPPED_PROCEDURE {
            continue;
        }
        let _ = writeln!(
            text,
            "{legacy},{name},{national},{name},1:1,,,,approved,demo,2024-06-30,"
        );
    }
    write_text(&out.join("mappings/320500/procedure.csv"), &text)
}

/// The diagnosis and procedure codes the demo uses, as rows of the published 医保版 2.0 lists
/// (names as published; see ../shared/national-codes/PROVENANCE.md for the full lists).
fn write_clinical_tables(out: &Path) -> Result<(), GenerateError> {
    let mut text = String::from("诊断代码,诊断名称\n");
    for (code, name) in DIAGNOSIS_NAMES {
        let _ = writeln!(text, "{code},{name}");
    }
    write_text(&out.join("national/diagnosis.csv"), &text)?;
    let mut text = String::from("手术操作代码,手术操作名称\n");
    for (_, code, name) in PROCEDURES {
        let _ = writeln!(text, "{code},{name}");
    }
    write_text(&out.join("national/procedure.csv"), &text)
}

const CONFIG: &str = include_str!("demo.toml");
