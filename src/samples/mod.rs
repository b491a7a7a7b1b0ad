//! `yibao samples generate`: deterministic, realistic legacy data at any size — a workspace with
//! a coordination area's settlements and fee details as a legacy HIS exports them (GBK CSV,
//! Chinese headers, title lines, CRLF), with defects injected at known rates and every injected
//! defect written to a ground-truth file. Same seed, same bytes.

mod catalog;
pub mod demo;
pub mod rng;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use serde::Serialize;
use thiserror::Error;

use catalog::{Item, ITEMS};
use rng::Rng;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fee-detail rows (settlements are about a tenth of this).
    pub rows: u64,
    /// Seed of the random streams.
    pub seed: u64,
    /// Output folder (a workspace).
    pub out: PathBuf,
}

/// What was generated.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The workspace folder.
    pub out: PathBuf,
    /// Settlement records.
    pub settlements: u64,
    /// Fee-detail records.
    pub fee_details: u64,
    /// Injected defects by kind.
    pub defects: Vec<(String, u64)>,
    /// Bytes written.
    pub bytes: u64,
}

/// A failure writing the data.
#[derive(Debug, Error, Diagnostic)]
#[error("cannot write {path}")]
#[diagnostic(
    code(yibao::io::generate),
    help("check the folder exists, is writable, and the disk has space")
)]
pub struct GenerateError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// A defect the generator injects: its name, the share of records that get it, and the rules of
/// the built-in national pack that must catch it (`read.normalised` for what the reader
/// normalises; empty: nothing should).
#[derive(Debug, Clone, Copy)]
pub struct Defect {
    /// Name, `<dataset>.<what>`.
    pub name: &'static str,
    /// Share of records (0 for defects that come from the data itself).
    pub rate: f64,
    /// Rule ids that fail on a record with this defect.
    pub rules: &'static [&'static str],
}

const fn defect(name: &'static str, rate: f64, rules: &'static [&'static str]) -> Defect {
    Defect { name, rate, rules }
}

/// Defect kinds the generator injects. Indexes are used below: keep the order.
pub const DEFECTS: &[Defect] = &[
    defect("fee.amount_mismatch", 0.004, &["fee.amount.line-product"]), // amount != cnt * pric
    defect("fee.full_width_name", 0.01, &["read.normalised"]), // full-width brackets in the name
    defect("fee.trailing_space_code", 0.005, &["read.normalised"]), // 'A01  ' local codes
    defect("fee.legacy_date", 0.01, &["read.normalised"]),     // 1/8/2024 00:00:00 fee times
    defect(
        "fee.placeholder_dept",
        0.003,
        &[
            "fee.required.bilg_dept_codg",
            "fee.required.bilg_dept_name",
            "read.normalised",
        ],
    ), // '--' (and no department name)
    defect("setl.bad_certno", 0.01, &["setl.certno.check-digit"]), // wrong check digit
    defect(
        "setl.lower_case_diag",
        0.02,
        &["setl.dscg_maindiag_code.national-code"],
    ), // k40.900x003
    defect(
        "setl.dscg_before_adm",
        0.003,
        &["setl.dates.order", "setl.stay.min-one-day"],
    ),
    defect(
        "setl.symptom_main_diag",
        0.005,
        &["setl.dscg_maindiag_code.principal"],
    ), // R18.x00 as principal
    defect(
        "setl.sex_diag_conflict",
        0.003,
        &["setl.dscg_maindiag_code.female-only"],
    ), // N80.900 on a man
    defect("setl.unbalanced", 0.004, &["setl.amount.detail-sum"]), // total != sum of its lines
    defect("fee.duplicate_line", 0.001, &["fee.unique.feedetl_sn"]), // the same line twice
    defect(
        "fee.orphan_line",
        0.001,
        &["fee.setl_id.reference", "fee.required.med_type"],
    ), // a line of no settlement (so no medical type to fill)
    defect(
        "fee.unmapped_item",
        0.0,
        &["fee.medins_list_codg.mapped", "fee.required.med_list_codg"],
    ), // no approved mapping, so no national code
    // The demo's (samples/demo): from its data and crosswalks, at fixed places.
    defect(
        "setl.unmapped_diagnosis",
        0.0,
        &["setl.dscg_maindiag_code.national-code"],
    ), // a legacy code the crosswalk leaves out
    defect("oprn.end_before_begin", 0.03, &["oprn.times.order"]),
    defect(
        "oprn.unmapped_procedure",
        0.0,
        &["oprn.oprn_oprt_code.national-code"],
    ),
    defect("cat.duplicate_item", 0.0, &["cat.unique.id"]), // the same item listed twice
    defect("cat.negative_price", 0.0, &["cat.pric.range"]),
    defect("cat.end_before_begin", 0.0, &["cat.validity.order"]),
    defect(
        "cat.unmapped_item",
        0.0,
        &["cat.fixmedins_hilist_id.mapped"],
    ),
];

/// Where a legacy export's lines go: a GBK CSV file as a Windows HIS writes it, or one sheet of
/// an .xlsx workbook (the line split at its commas, every cell text, as such exports hold it).
enum Target {
    Csv(BufWriter<File>),
    Xlsx {
        sheet: &'static str,
        rows: Vec<String>,
    },
}

struct Writer {
    path: PathBuf,
    out: Target,
    line: String,
    bytes: u64,
}

impl Writer {
    fn create(path: PathBuf) -> Result<Writer, GenerateError> {
        let file = File::create(&path).map_err(|source| GenerateError {
            path: path.clone(),
            source,
        })?;
        Ok(Writer {
            path,
            out: Target::Csv(BufWriter::with_capacity(1 << 20, file)),
            line: String::with_capacity(512),
            bytes: 0,
        })
    }

    fn create_as(
        path: PathBuf,
        format: Format,
        sheet: &'static str,
    ) -> Result<Writer, GenerateError> {
        match format {
            Format::Csv => Writer::create(path),
            Format::Xlsx => Ok(Writer {
                path,
                out: Target::Xlsx {
                    sheet,
                    rows: Vec::new(),
                },
                line: String::with_capacity(512),
                bytes: 0,
            }),
        }
    }

    /// Write `self.line` + CRLF in GBK, as legacy Windows systems export (or keep it as a row).
    fn flush_line(&mut self) -> Result<(), GenerateError> {
        match &mut self.out {
            Target::Csv(out) => {
                self.line.push_str("\r\n");
                let (bytes, _, _) = encoding_rs::GBK.encode(&self.line);
                out.write_all(&bytes).map_err(|source| GenerateError {
                    path: self.path.clone(),
                    source,
                })?;
                self.bytes += bytes.len() as u64;
            }
            Target::Xlsx { rows, .. } => rows.push(self.line.clone()),
        }
        self.line.clear();
        Ok(())
    }

    fn finish(self) -> Result<u64, GenerateError> {
        match self.out {
            Target::Csv(mut out) => {
                out.flush().map_err(|source| GenerateError {
                    path: self.path.clone(),
                    source,
                })?;
                Ok(self.bytes)
            }
            Target::Xlsx { sheet, rows } => write_xlsx(&self.path, &[(sheet, rows)]),
        }
    }
}

/// Write a workbook of text cells, one sheet per `(name, lines)`, with a fixed creation time so
/// the same data gives the same bytes. Returns the file's size.
fn write_xlsx(path: &Path, sheets: &[(&str, Vec<String>)]) -> Result<u64, GenerateError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| GenerateError {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_ymd(2024, 12, 31).map_err(err)?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    for (name, lines) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(*name).map_err(err)?;
        for (r, line) in lines.iter().enumerate() {
            for (c, cell) in line.split(',').enumerate() {
                if !cell.is_empty() {
                    ws.write_string(r as u32, c as u16, cell).map_err(err)?;
                }
            }
        }
    }
    book.save(path).map_err(err)?;
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| GenerateError {
            path: path.to_path_buf(),
            source,
        })
}

/// The file format an area exports in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GBK CSV with CRLF line ends.
    Csv,
    /// An .xlsx workbook of text cells.
    Xlsx,
}

/// What varies between the coordination areas the generator writes.
pub(crate) struct AreaSpec {
    /// 6-digit area code.
    pub code: &'static str,
    /// The title line above the settlement header.
    pub title: &'static str,
    /// County code the generated resident IDs carry.
    pub cert_area: &'static str,
    /// Prefix of the hospital's local item codes.
    pub item_prefix: &'static str,
    /// Catalog items without an approved mapping.
    pub unmapped: &'static [&'static str],
    /// Principal diagnoses, as the HIS writes them (same length as [`DIAGNOSES`]).
    pub diagnoses: &'static [&'static str],
    /// True when those are legacy codes a crosswalk maps onto 医保版 2.0.
    pub legacy_diagnoses: bool,
    /// A legacy diagnosis the crosswalk leaves unmapped.
    pub unmapped_diagnosis: Option<&'static str>,
    /// The symptom code written as a principal diagnosis.
    pub symptom: &'static str,
    /// A female-only diagnosis written on a man.
    pub female_only: &'static str,
}

impl AreaSpec {
    /// 盐城市: the area of `samples generate`, national diagnosis codes already.
    pub(crate) fn yancheng() -> AreaSpec {
        AreaSpec {
            code: "320900",
            title: "盐城市医保结算清单导出",
            cert_area: "320902",
            item_prefix: "",
            unmapped: UNMAPPED,
            diagnoses: DIAGNOSES,
            legacy_diagnoses: false,
            unmapped_diagnosis: None,
            symptom: "R18.x00",
            female_only: "N80.900",
        }
    }
}

const SURNAMES: &[&str] = &[
    "张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴", "徐", "孙", "朱", "马", "胡",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
];
pub(crate) const DIAGNOSES: &[&str] = &[
    "K92.210",
    "I10.x00",
    "E11.900",
    "J18.900",
    "K40.900x003",
    "N18.500",
    "M20.100x002",
    "I63.900",
    "J44.100",
];
const DEPTS: &[&str] = &["A03", "A04", "A07", "A08", "A10", "A11", "A12"];

/// The names of [`DEPTS`] (科室代码, `../shared/reference/nhsa_dept_codes.tsv`), as a HIS writes
/// them beside the code.
fn dept_name(code: &str) -> &'static str {
    match code {
        "A03" => "内科",
        "A04" => "外科",
        "A07" => "儿科",
        "A08" => "小儿外科",
        "A10" => "眼科",
        "A11" => "耳鼻咽喉科",
        "A12" => "口腔科",
        _ => "",
    }
}

/// Doctors of an area: the draw `n` names one of [`DOCTORS`], with a name made from its number.
const DOCTORS: u64 = 60;

fn doctor(code: &str, n: u64) -> (String, String) {
    let i = (n % DOCTORS) as usize;
    (
        format!("D{}{:08}", &code[..4], 1 + i),
        format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len() + i) % GIVEN.len()]
        ),
    )
}

/// Resident ID with a GB 11643 check character, issued in `county` (e.g. 320902 盐城亭湖区).
fn certno(rng: &mut Rng, county: &str, birth: (i32, u32, u32), good: bool) -> String {
    let body = format!(
        "{county}{:04}{:02}{:02}{:03}",
        birth.0,
        birth.1,
        birth.2,
        rng.range(1, 999)
    );
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    let mut check = b"10X98765432"[(sum % 11) as usize] as char;
    if !good {
        check = if check == '0' { '1' } else { '0' };
    }
    format!("{body}{check}")
}

/// Generate a workspace of legacy data.
pub fn generate(opts: &Options) -> Result<Summary, GenerateError> {
    let data = opts.out.join("data");
    mkdir(&data)?;
    let mut truth = Writer::create(opts.out.join("truth.csv"))?;
    truth.line.push_str("dataset,row,defect,rules");
    truth.flush_line()?;
    let mut counts = vec![0u64; DEFECTS.len()];
    let area = AreaSpec::yancheng();
    let setl = Writer::create(data.join("settlements.csv"))?;
    let fee = Writer::create(data.join("fee_details.csv"))?;
    let mut r = Rng::stream(opts.seed, "workspace");
    let names = DatasetNames {
        settlements: "settlements",
        fee_details: "fee_details",
    };
    let sizes = write_area(
        &area,
        opts.rows,
        &mut r,
        (setl, fee),
        names,
        &mut Truth {
            out: &mut truth,
            counts: &mut counts,
        },
        None,
    )?;
    let bytes = sizes.bytes + truth.finish()?;
    write_config(&opts.out)?;
    write_crosswalks(&opts.out)?;
    write_national(&opts.out)?;
    Ok(Summary {
        out: opts.out.clone(),
        settlements: sizes.settlements,
        fee_details: sizes.fee_details,
        defects: DEFECTS
            .iter()
            .zip(counts)
            .map(|(d, c)| (d.name.to_string(), c))
            .collect(),
        bytes,
    })
}

fn mkdir(dir: &Path) -> Result<(), GenerateError> {
    std::fs::create_dir_all(dir).map_err(|source| GenerateError {
        path: dir.to_path_buf(),
        source,
    })
}

/// The ground-truth file and the count of each defect kind.
pub(crate) struct Truth<'a> {
    out: &'a mut Writer,
    counts: &'a mut [u64],
}

impl Truth<'_> {
    fn note(&mut self, dataset: &str, row: u64, kind: usize) -> Result<(), GenerateError> {
        self.counts[kind] += 1;
        let d = &DEFECTS[kind];
        let _ = write!(
            self.out.line,
            "{dataset},{row},{},{}",
            d.name,
            d.rules.join(";")
        );
        self.out.flush_line()
    }
}

/// The dataset names rows of an area are noted under in the ground truth.
#[derive(Clone, Copy)]
struct DatasetNames<'a> {
    settlements: &'a str,
    fee_details: &'a str,
}

/// What [`write_area`] wrote.
struct Sizes {
    settlements: u64,
    fee_details: u64,
    bytes: u64,
}

/// Settlements and their fee details for one area, with defects noted in the truth file. The
/// random stream is consumed in the same order for every area, so the one-area workspace of
/// `samples generate` keeps its bytes whatever the demo's second area does.
#[allow(clippy::too_many_arguments)]
fn write_area(
    area: &AreaSpec,
    rows: u64,
    r: &mut Rng,
    (mut setl, mut fee): (Writer, Writer),
    names: DatasetNames<'_>,
    truth: &mut Truth<'_>,
    mut operations: Option<&mut demo::Operations>,
) -> Result<Sizes, GenerateError> {
    let code = area.code;
    setl.line.push_str(area.title);
    setl.flush_line()?;
    setl.line.push_str("结算ID,就诊ID,人员编号,姓名,性别,出生日期,证件号码,定点机构编码,医疗类别,入院时间,出院时间,结算时间,主诊断编码,医疗费总额,基金支付总额,个人支付金额");
    setl.flush_line()?;
    fee.line.push_str("费用明细流水号,就诊ID,结算ID,人员编号,费用发生时间,医院项目编码,医院项目名称,数量,单价,明细项目费用总额,开单科室编码,开单科室名称,开单医生编码,开单医生姓名,定点机构编码");
    fee.flush_line()?;
    let (mut fee_rows, mut setl_rows) = (0u64, 0u64);
    // Line numbers as a text editor (or a spreadsheet) shows them: settlements have a title line
    // above the header.
    let (mut setl_line, mut fee_line) = (2u64, 1u64);
    let mut s = 0u64;
    while fee_rows < rows {
        s += 1;
        setl_rows += 1;
        setl_line += 1;
        let setl_id = format!("A{code}{:010}", s);
        let mdtrt_id = format!("S{code}{:010}", s);
        let psn_no = format!("{code}00{:08}", r.below(5_000_000));
        let inst = format!("H{}{:06}", &code[..5], 1 + r.below(40));
        let birth = (
            r.range(1930, 2020) as i32,
            r.range(1, 12) as u32,
            r.range(1, 28) as u32,
        );
        let good_cert = !r.chance(DEFECTS[5].rate);
        if !good_cert {
            truth.note(names.settlements, setl_line, 5)?;
        }
        let cert = certno(r, area.cert_area, birth, good_cert);
        let month = r.range(1, 12);
        let day = r.range(2, 20);
        let stay = r.range(1, 8);
        let adm = format!(
            "2024-{month:02}-{day:02} {:02}:{:02}:00",
            r.range(7, 20),
            r.range(0, 59)
        );
        let mut dscg = format!(
            "2024-{month:02}-{:02} {:02}:00:00",
            day + stay,
            r.range(8, 17)
        );
        if r.chance(DEFECTS[7].rate) {
            dscg = format!("2024-{month:02}-{:02} 09:00:00", day - 1);
            truth.note(names.settlements, setl_line, 7)?;
        }
        let setl_time = format!("2024-{month:02}-{:02} 17:30:00", day + stay);
        let pick = r.below(DIAGNOSES.len() as u64) as usize;
        let mut diag = area.diagnoses[pick].to_string();
        let mut gend = None;
        if r.chance(DEFECTS[8].rate) {
            diag = area.symptom.to_string();
            truth.note(names.settlements, setl_line, 8)?;
        } else if r.chance(DEFECTS[9].rate) {
            diag = area.female_only.to_string();
            gend = Some("1");
            truth.note(names.settlements, setl_line, 9)?;
        } else if area.unmapped_diagnosis == Some(diag.as_str()) {
            truth.note(names.settlements, setl_line, demo::UNMAPPED_DIAGNOSIS)?;
        }
        // Lower-casing a legacy code would also unmap it: that area keeps its case.
        if r.chance(DEFECTS[6].rate) && !area.legacy_diagnoses {
            diag = diag.to_lowercase();
            truth.note(names.settlements, setl_line, 6)?;
        }
        let lines = 1 + r.below(19);
        let orphan = r.chance(DEFECTS[12].rate);
        let mut total_cents = 0i64;
        for k in 0..lines + u64::from(orphan) {
            if fee_rows >= rows {
                break;
            }
            let is_orphan = k == lines;
            fee_rows += 1;
            fee_line += 1;
            let mut noted: Vec<usize> = Vec::new();
            let item: &Item = r.pick(ITEMS);
            let cnt = r.range(1, 10);
            let price = item.price_cents;
            let mut amount = cnt * price;
            if r.chance(DEFECTS[0].rate) {
                amount += 100 * r.range(1, 9);
                noted.push(0);
            }
            let mut name = item.name.to_string();
            if r.chance(DEFECTS[1].rate) {
                name = name.replace('(', "（").replace(')', "）");
                if !name.contains('（') {
                    name.push_str("（");
                    name.push_str(item.spec);
                    name.push('）');
                }
                noted.push(1);
            }
            let mut local = format!("{}{}", area.item_prefix, item.local_code);
            if r.chance(DEFECTS[2].rate) {
                local.push_str("  ");
                noted.push(2);
            }
            let mut time = format!(
                "2024-{month:02}-{:02} {:02}:{:02}:{:02}",
                day + (k as i64 % stay),
                r.range(8, 20),
                r.range(0, 59),
                r.range(0, 59)
            );
            if r.chance(DEFECTS[3].rate) {
                time = format!("{}/{}/2024 00:00:00", day + (k as i64 % stay), month);
                noted.push(3);
            }
            let mut dept = (*r.pick(DEPTS)).to_string();
            if r.chance(DEFECTS[4].rate) {
                dept = "--".to_string();
                noted.push(4);
            }
            if area.unmapped.contains(&item.local_code) {
                noted.push(13);
            }
            // An orphan line names a settlement that does not exist and is in no total.
            let line_setl = if is_orphan {
                noted.push(12);
                format!("A{code}X{s:09}")
            } else {
                total_cents += amount;
                setl_id.clone()
            };
            let (dr, dr_name) = doctor(code, r.below(100_000));
            let dept_name = dept_name(&dept);
            let _ = write!(
                fee.line,
                "{mdtrt_id}{k:03},{mdtrt_id},{line_setl},{psn_no},{time},{local},{name},{cnt},{}.{:02},{}.{:02},{dept},{dept_name},{dr},{dr_name},{inst}",
                price / 100,
                price % 100,
                amount / 100,
                amount % 100
            );
            for &i in &noted {
                truth.note(names.fee_details, fee_line, i)?;
            }
            let text = fee.line.clone();
            fee.flush_line()?;
            // A duplicated line: the same text again, counted in the total as the HIS did.
            if !is_orphan && fee_rows < rows && r.chance(DEFECTS[11].rate) {
                fee_rows += 1;
                fee_line += 1;
                total_cents += amount;
                fee.line.push_str(&text);
                fee.flush_line()?;
                noted.push(11);
                for &i in &noted {
                    truth.note(names.fee_details, fee_line, i)?;
                }
            }
        }
        let mut medfee = total_cents;
        if r.chance(DEFECTS[10].rate) {
            medfee += 100 * r.range(1, 9);
            truth.note(names.settlements, setl_line, 10)?;
        }
        let fund = medfee * r.range(50, 90) / 100;
        let psn = medfee - fund;
        let name = format!(
            "{}{}{}",
            r.pick(SURNAMES),
            r.pick(GIVEN),
            if r.chance(0.5) { *r.pick(GIVEN) } else { "" }
        );
        let random_gend = if r.chance(0.5) { "1" } else { "2" };
        let gend = gend.unwrap_or(random_gend);
        let _ = write!(
            setl.line,
            "{setl_id},{mdtrt_id},{psn_no},{name},{gend},{:04}-{:02}-{:02},{cert},{inst},21,{adm},{dscg},{setl_time},{diag},{},{},{}",
            birth.0,
            birth.1,
            birth.2,
            money(medfee),
            money(fund),
            money(psn)
        );
        setl.flush_line()?;
        if let Some(ops) = operations.as_deref_mut() {
            ops.settlement(&setl_id, pick, &adm, truth)?;
        }
    }
    Ok(Sizes {
        settlements: setl_rows,
        fee_details: fee_rows,
        bytes: setl.finish()? + fee.finish()?,
    })
}

/// Catalog items the generated crosswalks leave unmapped, so coverage has something to find.
pub const UNMAPPED: &[&str] = &["A9400091IJ00", "F0086", "C0005"];

/// The area's crosswalks: every catalog item but [`UNMAPPED`], approved.
fn write_crosswalks(out: &Path) -> Result<(), GenerateError> {
    let dir = out.join("mappings").join("320900");
    std::fs::create_dir_all(&dir).map_err(|source| GenerateError {
        path: dir.clone(),
        source,
    })?;
    for (family, prefix) in [
        ("drug", ['A', 'Z']),
        ("service", ['F', 'F']),
        ("consumable", ['C', 'C']),
    ] {
        let mut text = String::from("local_code,local_name,national_code,national_name,relation,condition,valid_from,valid_to,status,reviewer,reviewed_at,note\n");
        for item in ITEMS
            .iter()
            .filter(|i| i.local_code.starts_with(prefix) && !UNMAPPED.contains(&i.local_code))
        {
            let _ = writeln!(
                text,
                "{},{},{},{},1:1,,,,approved,generator,2024-01-01,",
                item.local_code, item.name, item.national, item.name
            );
        }
        let path = dir.join(format!("{family}.csv"));
        std::fs::write(&path, text).map_err(|source| GenerateError { path, source })?;
    }
    Ok(())
}

/// Small national tables holding every national code the catalog uses, in a published header
/// layout, so `codes import` of them makes the crosswalks load and `map suggest` find answers.
pub(crate) fn write_national(out: &Path) -> Result<(), GenerateError> {
    let dir = out.join("national");
    std::fs::create_dir_all(&dir).map_err(|source| GenerateError {
        path: dir.clone(),
        source,
    })?;
    for (family, prefix, header) in [
        ("drug", ['A', 'Z'], "药品代码,注册名称,规格"),
        ("service", ['F', 'F'], "项目代码,项目名称,规格"),
        ("consumable", ['C', 'C'], "耗材代码,名称,规格"),
    ] {
        let mut text = format!("{header}\n");
        for item in ITEMS.iter().filter(|i| i.local_code.starts_with(prefix)) {
            let _ = writeln!(text, "{},{},{}", item.national, item.name, item.spec);
        }
        let path = dir.join(format!("{family}.csv"));
        std::fs::write(&path, text).map_err(|source| GenerateError { path, source })?;
    }
    Ok(())
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The generated workspace's yibao.toml.
fn write_config(out: &Path) -> Result<(), GenerateError> {
    let path = out.join("yibao.toml");
    std::fs::write(&path, CONFIG).map_err(|source| GenerateError { path, source })
}

const CONFIG: &str = r#"# Generated by `yibao samples generate`: legacy exports of one coordination area.
[workspace]
name = "generated"

[[areas]]
code = "320900"
name = "盐城市"

[[datasets]]
name = "settlements"
kind = "settlement"
path = "data/settlements.csv"
encoding = "gbk"
key = ["setl_id"]

[datasets.columns]
"结算ID" = "setl_id"
"就诊ID" = "mdtrt_id"
"人员编号" = "psn_no"
"姓名" = "psn_name"
"性别" = "gend"
"出生日期" = "brdy"
"证件号码" = "certno"
"定点机构编码" = "fixmedins_code"
"医疗类别" = "med_type"
"入院时间" = "adm_time"
"出院时间" = "dscg_time"
"结算时间" = "setl_time"
"主诊断编码" = "dscg_maindiag_code"
"医疗费总额" = "medfee_sumamt"
"基金支付总额" = "fund_pay_sumamt"
"个人支付金额" = "psn_pay"

[[datasets]]
name = "fee_details"
kind = "fee-detail"
path = "data/fee_details.csv"
encoding = "gbk"
key = ["feedetl_sn"]

[datasets.columns]
"费用明细流水号" = "feedetl_sn"
"就诊ID" = "mdtrt_id"
"结算ID" = "setl_id"
"人员编号" = "psn_no"
"费用发生时间" = "fee_ocur_time"
"医院项目编码" = "medins_list_codg"
"医院项目名称" = "medins_list_name"
"数量" = "cnt"
"单价" = "pric"
"明细项目费用总额" = "det_item_fee_sumamt"
"开单科室编码" = "bilg_dept_codg"
"开单科室名称" = "bilg_dept_name"
"开单医生编码" = "bilg_dr_codg"
"开单医生姓名" = "bilg_dr_name"
"定点机构编码" = "fixmedins_code"

[datasets.codes]
medins_list_codg = "catalog"

# 2301 needs each line's 医疗类别; the export has it on the settlement only.
[datasets.fill]
med_type = { from = "settlements", by = "setl_id" }
"#;
