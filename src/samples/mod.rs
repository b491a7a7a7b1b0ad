//! `yibao samples generate`: deterministic, realistic legacy data at any size — a workspace with
//! a coordination area's settlements and fee details as a legacy HIS exports them (GBK CSV,
//! Chinese headers, title lines, CRLF), with defects injected at known rates and every injected
//! defect written to a ground-truth file. Same seed, same bytes.

mod catalog;
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
        &["fee.required.bilg_dept_codg", "read.normalised"],
    ), // '--'
    defect("setl.bad_certno", 0.01, &["setl.certno.check-digit"]), // wrong check digit
    defect(
        "setl.lower_case_diag",
        0.02,
        &["setl.dise_no.national-code"],
    ), // k40.900x003
    defect(
        "setl.dscg_before_adm",
        0.003,
        &["setl.dates.order", "setl.stay.min-one-day"],
    ),
    defect("setl.symptom_main_diag", 0.005, &["setl.dise_no.principal"]), // R18.x00 as principal
    defect(
        "setl.sex_diag_conflict",
        0.003,
        &["setl.dise_no.female-only"],
    ), // N80.900 on a man
    defect("setl.unbalanced", 0.004, &["setl.amount.detail-sum"]), // total != sum of its lines
    defect("fee.duplicate_line", 0.001, &["fee.unique.feedetl_sn"]), // the same line twice
    defect("fee.orphan_line", 0.001, &["fee.setl_id.reference"]),  // a line of no settlement
    defect("fee.unmapped_item", 0.0, &["fee.medins_list_codg.mapped"]), // no approved mapping
];

struct Writer {
    path: PathBuf,
    out: BufWriter<File>,
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
            out: BufWriter::with_capacity(1 << 20, file),
            line: String::with_capacity(512),
            bytes: 0,
        })
    }

    /// Write `self.line` + CRLF in GBK, as legacy Windows systems export.
    fn flush_line(&mut self) -> Result<(), GenerateError> {
        self.line.push_str("\r\n");
        let (bytes, _, _) = encoding_rs::GBK.encode(&self.line);
        self.out.write_all(&bytes).map_err(|source| GenerateError {
            path: self.path.clone(),
            source,
        })?;
        self.bytes += bytes.len() as u64;
        self.line.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<u64, GenerateError> {
        self.out.flush().map_err(|source| GenerateError {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.bytes)
    }
}

const SURNAMES: &[&str] = &[
    "张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴", "徐", "孙", "朱", "马", "胡",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
];
const DIAGNOSES: &[&str] = &[
    "K92.210",
    "I10.x00x032",
    "E11.900",
    "J18.900",
    "K40.900x003",
    "N19.x00x002",
    "M20.100x002",
    "I63.900",
    "J44.100",
];
const DEPTS: &[&str] = &["A03", "A04", "A07", "A08", "A10", "A11", "A12"];

/// Resident ID with a GB 11643 check character (area 320902 盐城亭湖区).
fn certno(rng: &mut Rng, birth: (i32, u32, u32), good: bool) -> String {
    let body = format!(
        "320902{:04}{:02}{:02}{:03}",
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
    std::fs::create_dir_all(&data).map_err(|source| GenerateError {
        path: data.clone(),
        source,
    })?;
    let mut truth = Writer::create(opts.out.join("truth.csv"))?;
    truth.line.push_str("dataset,row,defect,rules");
    truth.flush_line()?;
    let mut counts = vec![0u64; DEFECTS.len()];
    fn note(
        truth: &mut Writer,
        counts: &mut [u64],
        dataset: &str,
        row: u64,
        kind: usize,
    ) -> Result<(), GenerateError> {
        counts[kind] += 1;
        let d = &DEFECTS[kind];
        let _ = write!(
            truth.line,
            "{dataset},{row},{},{}",
            d.name,
            d.rules.join(";")
        );
        truth.flush_line()
    }
    let mut setl = Writer::create(data.join("settlements.csv"))?;
    let mut fee = Writer::create(data.join("fee_details.csv"))?;
    setl.line.push_str("盐城市医保结算清单导出");
    setl.flush_line()?;
    setl.line.push_str("结算ID,就诊ID,人员编号,姓名,性别,出生日期,证件号码,定点机构编码,医疗类别,入院时间,出院时间,结算时间,主诊断编码,医疗费总额,基金支付总额,个人支付金额");
    setl.flush_line()?;
    fee.line.push_str("费用明细流水号,就诊ID,结算ID,人员编号,费用发生时间,医院项目编码,医院项目名称,数量,单价,明细项目费用总额,开单科室编码,开单医生编码,定点机构编码");
    fee.flush_line()?;
    let mut r = Rng::stream(opts.seed, "workspace");
    let (mut fee_rows, mut setl_rows) = (0u64, 0u64);
    // Line numbers as a text editor shows them: settlements have a title line above the header.
    let (mut setl_line, mut fee_line) = (2u64, 1u64);
    let mut s = 0u64;
    while fee_rows < opts.rows {
        s += 1;
        setl_rows += 1;
        setl_line += 1;
        let setl_id = format!("A320900{:010}", s);
        let mdtrt_id = format!("S320900{:010}", s);
        let psn_no = format!("32090000{:08}", r.below(5_000_000));
        let inst = format!("H32090{:06}", 1 + r.below(40));
        let birth = (
            r.range(1930, 2020) as i32,
            r.range(1, 12) as u32,
            r.range(1, 28) as u32,
        );
        let good_cert = !r.chance(DEFECTS[5].rate);
        if !good_cert {
            note(&mut truth, &mut counts, "settlements", setl_line, 5)?;
        }
        let cert = certno(&mut r, birth, good_cert);
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
            note(&mut truth, &mut counts, "settlements", setl_line, 7)?;
        }
        let setl_time = format!("2024-{month:02}-{:02} 17:30:00", day + stay);
        let mut diag = (*r.pick(DIAGNOSES)).to_string();
        let mut gend = None;
        if r.chance(DEFECTS[8].rate) {
            diag = "R18.x00".to_string();
            note(&mut truth, &mut counts, "settlements", setl_line, 8)?;
        } else if r.chance(DEFECTS[9].rate) {
            diag = "N80.900".to_string();
            gend = Some("1");
            note(&mut truth, &mut counts, "settlements", setl_line, 9)?;
        }
        if r.chance(DEFECTS[6].rate) {
            diag = diag.to_lowercase();
            note(&mut truth, &mut counts, "settlements", setl_line, 6)?;
        }
        let lines = 1 + r.below(19);
        let orphan = r.chance(DEFECTS[12].rate);
        let mut total_cents = 0i64;
        for k in 0..lines + u64::from(orphan) {
            if fee_rows >= opts.rows {
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
            let mut code = item.local_code.to_string();
            if r.chance(DEFECTS[2].rate) {
                code.push_str("  ");
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
            if UNMAPPED.contains(&item.local_code) {
                noted.push(13);
            }
            // An orphan line names a settlement that does not exist and is in no total.
            let line_setl = if is_orphan {
                noted.push(12);
                format!("A320900X{s:09}")
            } else {
                total_cents += amount;
                setl_id.clone()
            };
            let dr = format!("D3209{:08}", r.below(100_000));
            let _ = write!(
                fee.line,
                "{mdtrt_id}{k:03},{mdtrt_id},{line_setl},{psn_no},{time},{code},{name},{cnt},{}.{:02},{}.{:02},{dept},{dr},{inst}",
                price / 100,
                price % 100,
                amount / 100,
                amount % 100
            );
            for &i in &noted {
                note(&mut truth, &mut counts, "fee_details", fee_line, i)?;
            }
            let text = fee.line.clone();
            fee.flush_line()?;
            // A duplicated line: the same text again, counted in the total as the HIS did.
            if !is_orphan && fee_rows < opts.rows && r.chance(DEFECTS[11].rate) {
                fee_rows += 1;
                fee_line += 1;
                total_cents += amount;
                fee.line.push_str(&text);
                fee.flush_line()?;
                noted.push(11);
                for &i in &noted {
                    note(&mut truth, &mut counts, "fee_details", fee_line, i)?;
                }
            }
        }
        let mut medfee = total_cents;
        if r.chance(DEFECTS[10].rate) {
            medfee += 100 * r.range(1, 9);
            note(&mut truth, &mut counts, "settlements", setl_line, 10)?;
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
    }
    let bytes = setl.finish()? + fee.finish()? + truth.finish()?;
    write_config(&opts.out)?;
    write_crosswalks(&opts.out)?;
    write_national(&opts.out)?;
    Ok(Summary {
        out: opts.out.clone(),
        settlements: setl_rows,
        fee_details: fee_rows,
        defects: DEFECTS
            .iter()
            .zip(counts)
            .map(|(d, c)| (d.name.to_string(), c))
            .collect(),
        bytes,
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
fn write_national(out: &Path) -> Result<(), GenerateError> {
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
"主诊断编码" = "dise_no"
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
"开单医生编码" = "bilg_dr_codg"
"定点机构编码" = "fixmedins_code"

[datasets.codes]
medins_list_codg = "catalog"
"#;
