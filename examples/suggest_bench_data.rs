//! Data for bench/suggest.sh: a full-size drug table in the published layout (realistic names,
//! from `yibao::mapping::suggest::eval::synthetic_drugs`) and a workspace whose drug catalog
//! holds ITEMS legacy-style local items derived from it, with the true code of each.
//!
//! usage: cargo run --release --example suggest_bench_data -- OUT-DIR ROWS ITEMS

#![allow(clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::PathBuf;

use yibao::codes::Family;
use yibao::mapping::suggest::eval::{derive, synthetic_drugs};

const HEADERS: [&str; 12] = [
    "药品代码",
    "注册名称",
    "剂型",
    "规格",
    "包装材质",
    "最小包装数量",
    "最小制剂单位",
    "最小包装单位",
    "药品企业",
    "批准文号",
    "药品本位码",
    "甲乙类",
];

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, out, rows, items] = args.as_slice() else {
        return Err("usage: suggest_bench_data OUT-DIR ROWS ITEMS".into());
    };
    let out = PathBuf::from(out);
    let (n, items): (usize, usize) = (rows.parse()?, items.parse()?);
    std::fs::create_dir_all(out.join("ws"))?;
    let table = synthetic_drugs(n);

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(format!("总表（{n}）"))?;
    sheet.merge_range(
        0,
        0,
        0,
        11,
        "国家医保药品分类与代码（基准库）",
        &rust_xlsxwriter::Format::new(),
    )?;
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(1, c as u16, *h)?;
    }
    for (i, (code, name, attrs)) in table.iter().enumerate() {
        let r = i as u32 + 2;
        sheet.write_string(r, 0, code)?;
        sheet.write_string(r, 1, name)?;
        for (c, h) in HEADERS.iter().enumerate().skip(2) {
            let v = attrs
                .iter()
                .find(|(k, _)| k == h)
                .map(|(_, v)| v.as_str())
                .unwrap_or("乙类");
            sheet.write_string(r, c as u16, v)?;
        }
    }
    book.save(out.join(format!("drugs-{n}.xlsx")))?;

    let cases = derive(Family::Drug, &table, 1, items, 11);
    let mut catalog = String::from("编码,名称,规格,剂型,厂家,批准文号,本位码\n");
    let mut truth = String::from("local_code,national_code\n");
    for c in &cases {
        let l = &c.local;
        let cell = |v: &Option<String>| csv_cell(v.as_deref().unwrap_or(""));
        let _ = writeln!(
            catalog,
            "{},{},{},{},{},{},{}",
            l.code,
            csv_cell(&l.name),
            cell(&l.spec),
            cell(&l.form),
            cell(&l.manufacturer),
            cell(&l.approval_no),
            cell(&l.std_code)
        );
        let _ = writeln!(truth, "{},{}", l.code, c.truth);
    }
    std::fs::write(out.join("ws/catalog.csv"), catalog)?;
    std::fs::write(out.join("truth.csv"), truth)?;
    std::fs::write(
        out.join("ws/yibao.toml"),
        r#"[[areas]]
code = "320900"
name = "盐城市"

[[datasets]]
name = "drugs"
kind = "drug-catalog"
area = "320900"
path = "catalog.csv"
[datasets.columns]
"编码" = "fixmedins_hilist_id"
"名称" = "fixmedins_hilist_name"
"规格" = "spec"
"剂型" = "dosform"
"厂家" = "manufacturer"
"批准文号" = "aprvno"
"本位码" = "drug_std_code"
"#,
    )?;
    eprintln!(
        "wrote {} ({n} rows) and {} local items",
        out.join(format!("drugs-{n}.xlsx")).display(),
        cases.len()
    );
    Ok(())
}
