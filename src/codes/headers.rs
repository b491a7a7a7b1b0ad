//! The published column headers of each family's national table, and how a header row is found.
//!
//! Headers are matched after [`normalise`] (spaces, line breaks and full-width brackets removed)
//! against the lists below, in order of preference. The lists come from the published tables and
//! the import templates recorded in `docs/NATIONAL-TABLES.md`; English `code`/`name` headers are
//! accepted too, for the TSV extracts in `../shared/national-codes/`.

use super::Family;

/// Column positions of a located header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// The code column.
    pub code: usize,
    /// The name column.
    pub name: usize,
    /// The next name column the header row has, read where the first is empty in a row (a
    /// drug table whose 注册名称 is missing where its 药品通用名 is not).
    pub fallback_name: Option<usize>,
    /// A status column (停用/有效...), when the table has one: its position and the values
    /// that mark a code retired under its header.
    pub status: Option<(usize, &'static [&'static str])>,
}

/// Headers that identify the code column, most specific first.
pub fn code_headers(family: Family) -> &'static [&'static str] {
    match family {
        Family::Diagnosis => &[
            "诊断代码",
            "疾病诊断代码",
            "医保疾病诊断代码",
            "疾病代码",
            "诊断编码",
            "疾病编码",
            "主要编码",
            "代码",
            "code",
        ],
        Family::Procedure => &[
            "手术操作代码",
            "医保手术操作代码",
            "手术操作编码",
            "手术代码",
            "手术编码",
            "代码",
            "code",
        ],
        Family::Service => &[
            "医疗服务项目代码",
            "国家医疗服务项目代码",
            "医疗服务项目编码",
            "项目代码",
            "项目编码",
            "服务项目代码",
            "医保目录编码",
            "代码",
            "code",
        ],
        Family::Drug => &[
            "药品代码",
            "国家药品代码",
            "中药饮片代码",
            "医保药品代码",
            "药品编码",
            "医保药品编码",
            "医保目录编码",
            "代码",
            "code",
        ],
        Family::Consumable => &[
            "耗材代码",
            "医保耗材代码",
            "医用耗材代码",
            "医保医用耗材代码",
            "医保耗材分类代码",
            "耗材编码",
            "医保耗材编码",
            "耗材分类代码",
            "代码",
            "code",
        ],
    }
}

/// Headers that identify the name column, most specific first.
pub fn name_headers(family: Family) -> &'static [&'static str] {
    match family {
        Family::Diagnosis => &["诊断名称", "疾病诊断名称", "疾病名称", "名称", "name"],
        Family::Procedure => &["手术操作名称", "手术名称", "名称", "name"],
        Family::Service => &[
            "医疗服务项目名称",
            "国家医疗服务项目名称",
            "项目名称",
            "服务项目名称",
            "名称",
            "name",
        ],
        Family::Drug => &[
            "注册名称",
            "中药饮片名称",
            "药品名称",
            "通用名",
            "药品通用名",
            "通用名称",
            "名称",
            "name",
        ],
        Family::Consumable => &[
            "医保通用名",
            "耗材名称",
            "通用名",
            "单件产品名称",
            "名称",
            "name",
        ],
    }
}

/// Headers of a status column, with the values that mark a code retired under that header
/// (a `是` under 是否停用 retires a code; under 有效标志 it is `否` or `0` that does).
const STATUS_HEADERS: &[(&str, &[&str])] = &[
    ("状态", WORD_RETIRED),
    ("使用状态", WORD_RETIRED),
    ("status", WORD_RETIRED),
    ("是否停用", &["是", "1", "y", "停用"]),
    ("停用标志", &["是", "1", "y", "停用"]),
    ("有效标志", &["否", "0", "n", "无效"]),
];

/// Status words that mark a code retired.
const WORD_RETIRED: &[&str] = &[
    "停用",
    "已停用",
    "作废",
    "已作废",
    "失效",
    "无效",
    "删除",
    "retired",
];

/// Headers as they are compared: no spaces or line breaks, half-width brackets, lower-case ASCII.
pub fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The columns a header row holds for a family, with the headers that identified them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Column positions.
    pub columns: Columns,
    /// The header of the code column.
    pub code_header: &'static str,
    /// The header of the name column.
    pub name_header: &'static str,
    /// The header of the fallback name column, when there is one.
    pub fallback_header: Option<&'static str>,
}

/// Find the family's code and name columns in a normalised header row.
pub fn locate(family: Family, names: &[String]) -> Option<Located> {
    let find = |wanted: &'static [&'static str]| {
        wanted
            .iter()
            .find_map(|w| names.iter().position(|n| n == w).map(|i| (i, *w)))
    };
    let (code, code_header) = find(code_headers(family))?;
    let (name, name_header) = find(name_headers(family))?;
    if code == name {
        return None;
    }
    let fallback = name_headers(family)
        .iter()
        .skip_while(|h| **h != name_header)
        .skip(1)
        .find_map(|w| {
            names
                .iter()
                .position(|n| n == w)
                .filter(|i| *i != code && *i != name)
                .map(|i| (i, *w))
        });
    let status = names.iter().enumerate().find_map(|(i, n)| {
        STATUS_HEADERS
            .iter()
            .find(|(h, _)| h == n)
            .map(|(_, retired)| (i, *retired))
    });
    Some(Located {
        columns: Columns {
            code,
            name,
            fallback_name: fallback.map(|(i, _)| i),
            status,
        },
        code_header,
        name_header,
        fallback_header: fallback.map(|(_, h)| h),
    })
}

/// True when a raw header names a code column of any family.
pub fn is_any_code_header(header: &str) -> bool {
    let n = normalise(header);
    Family::ALL
        .iter()
        .any(|f| code_headers(*f).contains(&n.as_str()))
}

/// True when a status value marks the code as retired under its column's header.
pub fn means_retired(retired_values: &[&str], value: &str) -> bool {
    retired_values.contains(&normalise(value).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| normalise(c)).collect()
    }

    #[test]
    fn finds_drug_columns_by_name_not_position() {
        let names = row(&["序号", "药品代码", "注册名称", "剂型", "规格", "药品本位码"]);
        let l = locate(Family::Drug, &names).unwrap();
        let cols = l.columns;
        assert_eq!((cols.code, cols.name, cols.status), (1, 2, None));
        assert_eq!((l.code_header, l.name_header), ("药品代码", "注册名称"));
        assert_eq!((cols.fallback_name, l.fallback_header), (None, None));
    }

    /// The fallback is the next name header, in the family's order of preference, that the
    /// row has, wherever it stands in the row.
    #[test]
    fn the_next_name_column_is_the_fallback() {
        let names = row(&["医保药品编码", "注册名称", "产品名称", "剂型", "药品通用名"]);
        let l = locate(Family::Drug, &names).unwrap();
        assert_eq!((l.columns.name, l.columns.fallback_name), (1, Some(4)));
        assert_eq!(l.fallback_header, Some("药品通用名"));
        let names = row(&["药品代码", "名称", "注册名称"]);
        let l = locate(Family::Drug, &names).unwrap();
        assert_eq!(
            (l.name_header, l.columns.fallback_name),
            ("注册名称", Some(1))
        );
        let names = row(&["耗材代码", "医保通用名", "耗材企业"]);
        assert_eq!(
            locate(Family::Consumable, &names)
                .unwrap()
                .columns
                .fallback_name,
            None
        );
    }

    #[test]
    fn headers_with_spaces_and_breaks_match() {
        let names = row(&["诊断 代码", "诊断\n名称", " 状态 "]);
        let cols = locate(Family::Diagnosis, &names).unwrap().columns;
        assert_eq!((cols.code, cols.name), (0, 1));
        assert_eq!(cols.status.map(|(i, _)| i), Some(2));
    }

    #[test]
    fn a_title_row_is_not_a_header() {
        assert!(locate(Family::Drug, &row(&["国家医保药品分类与代码总表", "", ""])).is_none());
    }

    #[test]
    fn retired_values_depend_on_the_header() {
        let status = |h: &str| {
            locate(Family::Drug, &row(&["药品代码", "注册名称", h]))
                .unwrap()
                .columns
                .status
                .unwrap()
                .1
        };
        assert!(means_retired(status("状态"), " 停用"));
        assert!(means_retired(status("状态"), "作废"));
        assert!(!means_retired(status("状态"), "有效"));
        assert!(!means_retired(status("状态"), ""));
        assert!(means_retired(status("是否停用"), "是"));
        assert!(!means_retired(status("有效标志"), "是"));
        assert!(means_retired(status("有效标志"), "0"));
    }
}
