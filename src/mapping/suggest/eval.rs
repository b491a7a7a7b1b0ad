//! Measuring suggestions: legacy-style local items derived from national rows, each knowing its
//! true code, searched against the index, counted as top-1 and top-5 hits. Also a synthetic
//! full-size drug table with realistic names (real generic names, salts, forms, specs and
//! manufacturers combined), for the evaluation and the timing benchmark.
//!
//! Derivations are deterministic (SplitMix64 from a seed): the same seed gives the same cases.

use rayon::prelude::*;
use serde::Serialize;

use super::index::Index;
use super::normalise::name_parts;
use super::search::{Query, Scratch};
use crate::codes::Family;
use crate::mapping::gather::Local;
use crate::samples::rng::Rng;

/// A national row: code, name and the other columns by header.
pub type Row = (String, String, Vec<(String, String)>);

/// A row as the store gives it to [`Index::build`].
pub fn store_row(r: &Row) -> (String, String, Option<String>) {
    let map: serde_json::Map<String, serde_json::Value> =
        r.2.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
    (
        r.0.clone(),
        r.1.clone(),
        Some(serde_json::Value::Object(map).to_string()),
    )
}

/// A derived local item and the national code it stands for.
#[derive(Debug, Clone)]
pub struct Case {
    /// The local item.
    pub local: Local,
    /// Its true national code.
    pub truth: String,
}

/// Accuracy on one family.
#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    /// What was measured.
    pub label: String,
    /// Cases.
    pub cases: usize,
    /// True code ranked first.
    pub top1: usize,
    /// True code among the first five.
    pub top5: usize,
    /// A few misses, for people: (local name, truth, best candidate).
    pub misses: Vec<(String, String, String)>,
}

impl Accuracy {
    /// top-1 share.
    pub fn top1_rate(&self) -> f64 {
        self.top1 as f64 / self.cases.max(1) as f64
    }
    /// top-5 share.
    pub fn top5_rate(&self) -> f64 {
        self.top5 as f64 / self.cases.max(1) as f64
    }
}

impl std::fmt::Display for Accuracy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} cases, top-1 {:.1}%, top-5 {:.1}%",
            self.label,
            self.cases,
            self.top1_rate() * 100.0,
            self.top5_rate() * 100.0
        )
    }
}

/// Search every case and count hits. A candidate counts as the truth when its code is the true
/// code, or when the national table holds it with exactly the same name, spec, form and maker
/// (duplicates no reviewer could tell apart either).
pub fn evaluate(label: &str, index: &Index, cases: &[Case]) -> Accuracy {
    let key = |i: u32| {
        let e = &index.entries[i as usize];
        (
            e.name.clone(),
            e.spec_text.clone(),
            e.form.clone(),
            e.maker.clone(),
        )
    };
    let results: Vec<(usize, Option<String>)> = cases
        .par_iter()
        .map_init(Scratch::default, |scratch, case| {
            let q = Query::new(index.family, &case.local);
            let found = index.search(&q, 5, &|_| false, scratch);
            let truth_key = index.entry_of(&case.truth).map(key);
            let rank = found.iter().position(|c| {
                c.code.eq_ignore_ascii_case(&case.truth)
                    || (truth_key.is_some() && index.entry_of(&c.code).map(key) == truth_key)
            });
            let best = found
                .first()
                .map(|c| format!("{} {} ({})", c.code, c.name, c.evidence));
            (rank.map_or(99, |r| r), best)
        })
        .collect();
    let mut acc = Accuracy {
        label: label.to_string(),
        cases: cases.len(),
        top1: 0,
        top5: 0,
        misses: Vec::new(),
    };
    for (case, (rank, best)) in cases.iter().zip(results) {
        if rank == 0 {
            acc.top1 += 1;
        }
        if rank < 5 {
            acc.top5 += 1;
        }
        if rank > 0 && acc.misses.len() < 15 {
            let where_ = if rank < 5 {
                format!("rank {}", rank + 1)
            } else {
                "missed".to_string()
            };
            acc.misses.push((
                format!("({where_}) {} | {}", case.local.code, describe(&case.local)),
                case.truth.clone(),
                best.unwrap_or_default(),
            ));
        }
    }
    acc
}

fn describe(l: &Local) -> String {
    format!(
        "{} / {} / {} / {} / {}",
        l.name,
        l.spec.as_deref().unwrap_or(""),
        l.form.as_deref().unwrap_or(""),
        l.manufacturer.as_deref().unwrap_or(""),
        l.approval_no.as_deref().unwrap_or("")
    )
}

fn get<'a>(r: &'a Row, keys: &[&str]) -> &'a str {
    keys.iter()
        .find_map(|k| r.2.iter().find(|(h, v)| h == k && !v.is_empty()))
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Full-width digits and letters, as some old systems store them.
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// Brackets as another system writes them.
fn rebracket(s: &str, rng: &mut Rng) -> String {
    let (o, c) = *rng.pick(&[("（", "）"), ("【", "】"), ("[", "]"), ("(", ")")]);
    s.replace(['(', '（', '【', '['], o)
        .replace([')', '）', '】', ']'], c)
}

/// Spaces between some characters.
fn spaced(s: &str, rng: &mut Rng) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && rng.chance(0.15) {
            out.push(if rng.chance(0.5) { ' ' } else { '\u{3000}' });
        }
        out.push(c);
    }
    out
}

/// A spec rewritten the way a legacy catalog might: `0.25g` with 24 → `250mg*24片`, `0.25 g x
/// 24`, `0.25g×24粒/盒`.
fn legacy_spec(spec: &str, count: &str, unit: &str, rng: &mut Rng) -> String {
    let mut s = spec.to_string();
    if let Some(g) = s.strip_suffix('g').and_then(|v| v.parse::<f64>().ok()) {
        if !s.ends_with("mg") && rng.chance(0.4) {
            let mg = g * 1000.0;
            s = if mg.fract() == 0.0 {
                format!("{}mg", mg as i64)
            } else {
                format!("{mg}mg")
            };
        }
    } else if let Some(mg) = s.strip_suffix("mg").and_then(|v| v.parse::<f64>().ok()) {
        if mg >= 100.0 && rng.chance(0.4) {
            s = format!("{}g", mg / 1000.0);
        }
    }
    if !count.is_empty() && count != "1" {
        let unit = if unit.is_empty() { "片" } else { unit };
        s = match rng.below(4) {
            0 => format!("{s}*{count}{unit}"),
            1 => format!("{s}×{count}{unit}/盒"),
            2 => {
                let at = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
                format!("{} {} x {count}", &s[..at], &s[at..])
            }
            _ => format!("{s}*{count}"),
        };
    }
    if rng.chance(0.2) {
        s = full_width(&s);
    }
    s
}

/// A manufacturer as a legacy catalog abbreviates it.
fn legacy_maker(maker: &str, rng: &mut Rng) -> String {
    let mut m = maker.to_string();
    for w in ["股份有限公司", "有限责任公司", "有限公司"] {
        if rng.chance(0.7) {
            m = m.replace(w, "");
        }
    }
    if rng.chance(0.3) {
        m = m.replace("集团", "");
    }
    if rng.chance(0.2) {
        m = m.replace("股份", "");
    }
    if m.is_empty() {
        maker.to_string()
    } else {
        m
    }
}

/// A drug name as a legacy catalog writes it: salt dropped, form written another way, spec or
/// a tag appended, full-width or spaced characters.
fn legacy_drug_name(name: &str, spec: &str, rng: &mut Rng) -> String {
    let parts = name_parts(name, true);
    let mut n = name.to_string();
    if let Some(salt) = &parts.salt {
        if rng.chance(0.4) && n.chars().count() > salt.chars().count() + 2 {
            n = n.replacen(salt.as_str(), "", 1);
        }
    }
    if rng.chance(0.3) {
        for (from, to) in [
            ("片", "片剂"),
            ("胶囊", "胶囊剂"),
            ("注射液", "注射剂"),
            ("颗粒", "颗粒剂"),
        ] {
            if n.ends_with(from) {
                n = format!("{}{to}", &n[..n.len() - from.len()]);
                break;
            }
        }
    }
    if !spec.is_empty() && rng.chance(0.25) {
        n = if rng.chance(0.5) {
            format!("{n}{spec}")
        } else {
            format!("{n}({spec})")
        };
    }
    if rng.chance(0.15) {
        let tags = ["(基药)", "【集采】", "（进口）", "(OTC)"];
        let tag = *rng.pick(&tags);
        n.push_str(tag);
    }
    if rng.chance(0.2) {
        n = full_width(&n);
    }
    if rng.chance(0.2) {
        n = spaced(&n, rng);
    }
    n
}

/// A general name (consumable, service, diagnosis, procedure) as a legacy catalog writes it.
fn legacy_name(name: &str, rng: &mut Rng) -> String {
    let mut n = name.to_string();
    if rng.chance(0.4) {
        n = rebracket(&n, rng);
    }
    if rng.chance(0.3) {
        n = n.replace('，', ",").replace('、', " ");
    }
    if rng.chance(0.15) {
        n = n.replace("，未特指", "").replace("未特指的", "");
    }
    if rng.chance(0.1) && n.chars().count() > 6 {
        n = n.replacen("一次性使用", "一次性", 1);
    }
    if rng.chance(0.15) && n.chars().count() >= 5 {
        // A character lost on entry.
        let drop = rng.below(n.chars().count() as u64) as usize;
        n = n
            .chars()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, c)| c)
            .collect();
    }
    if rng.chance(0.2) {
        n = full_width(&n);
    }
    if rng.chance(0.2) {
        n = spaced(&n, rng);
    }
    if n.trim().is_empty() {
        name.to_string()
    } else {
        n
    }
}

/// A legacy form of an ICD code: `J18.900` → `j18.9`, `J18.900`, `J18.90`; `37.8300` → `37.83`.
fn legacy_icd_code(code: &str, rng: &mut Rng) -> String {
    let base = code.split(['x', '+']).next().unwrap_or(code);
    if base.len() != code.len() {
        return code.to_string();
    }
    let trimmed = base.trim_end_matches('0').trim_end_matches('.');
    let c = match rng.below(3) {
        0 => trimmed.to_string(),
        1 => base.to_string(),
        _ => trimmed.to_ascii_lowercase(),
    };
    if c.ends_with(".x") || c.ends_with(".X") {
        c[..c.len() - 2].to_string()
    } else {
        c
    }
}

/// `per_row` legacy items derived from each of the rows (all of them, or `limit` picked evenly).
pub fn derive(family: Family, rows: &[Row], per_row: usize, limit: usize, seed: u64) -> Vec<Case> {
    let mut rng = Rng::stream(seed, family.as_str());
    let step = (rows.len() / limit.max(1)).max(1);
    let mut out = Vec::new();
    for (n, r) in rows.iter().step_by(step).take(limit).enumerate() {
        for v in 0..per_row {
            let (code, name) = (&r.0, &r.1);
            let mut l = Local {
                code: format!("L{n:06}-{v}"),
                records: 1,
                ..Default::default()
            };
            match family {
                Family::Drug => {
                    let spec = get(r, &["规格", "实际规格", "注册规格"]);
                    let count = get(r, &["最小包装数量"]);
                    let unit = get(r, &["最小制剂单位"]);
                    l.name = legacy_drug_name(name, spec, &mut rng);
                    if rng.chance(0.97) {
                        l.spec = Some(legacy_spec(spec, count, unit, &mut rng));
                    }
                    if rng.chance(0.5) {
                        let f = get(r, &["剂型", "实际剂型", "注册剂型"]);
                        let forms = ["片剂", "片", "素片"];
                        let form = *rng.pick(&forms);
                        l.form = Some(f.replace("片剂", form));
                    }
                    if rng.chance(0.98) {
                        l.manufacturer =
                            Some(legacy_maker(get(r, &["药品企业", "生产企业"]), &mut rng));
                    }
                    if rng.chance(0.3) {
                        let a = get(r, &["批准文号"]);
                        l.approval_no = Some(if rng.chance(0.3) {
                            a.replace("国药准字", "国药准字 ")
                        } else {
                            a.to_string()
                        });
                    }
                    if rng.chance(0.15) {
                        l.std_code = Some(get(r, &["药品本位码"]).to_string());
                    }
                }
                Family::Consumable => {
                    l.name = legacy_name(name, &mut rng);
                    let spec = get(r, &["规格（特征、参数）"]);
                    if rng.chance(0.95) {
                        let s = spec.replace('；', ";").replace('、', ",");
                        l.spec = Some(if rng.chance(0.2) { full_width(&s) } else { s });
                    }
                    if rng.chance(0.95) {
                        l.manufacturer = Some(legacy_maker(get(r, &["耗材企业"]), &mut rng));
                    }
                    if rng.chance(0.2) {
                        l.approval_no = Some(get(r, &["注册备案号"]).to_string());
                    }
                }
                Family::Service => {
                    l.name = legacy_name(name, &mut rng);
                    let unit = get(r, &["计价单位"]);
                    if !unit.is_empty() {
                        l.unit = Some(unit.to_string());
                    }
                }
                Family::Diagnosis | Family::Procedure => {
                    l.name = legacy_name(name, &mut rng);
                    if rng.chance(0.3) {
                        l.code = legacy_icd_code(code, &mut rng);
                    }
                }
            }
            out.push(Case {
                local: l,
                truth: code.clone(),
            });
        }
    }
    out
}

/// Generic names with the salt a national table writes them with.
const STEMS: &[(&str, &str)] = &[
    ("阿莫西林", ""),
    ("头孢呋辛", "钠"),
    ("头孢曲松", "钠"),
    ("头孢克肟", ""),
    ("阿奇霉素", ""),
    ("克拉霉素", ""),
    ("左氧氟沙星", "盐酸"),
    ("莫西沙星", "盐酸"),
    ("环丙沙星", "盐酸"),
    ("甲硝唑", ""),
    ("奥美拉唑", ""),
    ("兰索拉唑", ""),
    ("泮托拉唑", "钠"),
    ("雷贝拉唑", "钠"),
    ("埃索美拉唑", "镁"),
    ("法莫替丁", ""),
    ("二甲双胍", "盐酸"),
    ("格列美脲", ""),
    ("格列齐特", ""),
    ("阿卡波糖", ""),
    ("西格列汀", "磷酸"),
    ("吡格列酮", "盐酸"),
    ("氨氯地平", "苯磺酸"),
    ("硝苯地平", ""),
    ("非洛地平", ""),
    ("厄贝沙坦", ""),
    ("缬沙坦", ""),
    ("氯沙坦", "钾"),
    ("替米沙坦", ""),
    ("坎地沙坦酯", ""),
    ("美托洛尔", "酒石酸"),
    ("比索洛尔", "富马酸"),
    ("卡维地洛", ""),
    ("阿托伐他汀", "钙"),
    ("瑞舒伐他汀", "钙"),
    ("辛伐他汀", ""),
    ("普伐他汀", "钠"),
    ("氯吡格雷", "硫酸氢"),
    ("阿司匹林", ""),
    ("华法林", "钠"),
    ("利伐沙班", ""),
    ("达比加群酯", "甲磺酸"),
    ("布洛芬", ""),
    ("对乙酰氨基酚", ""),
    ("塞来昔布", ""),
    ("双氯芬酸", "钠"),
    ("曲马多", "盐酸"),
    ("氨溴索", "盐酸"),
    ("孟鲁司特", "钠"),
    ("氯雷他定", ""),
    ("西替利嗪", "盐酸"),
    ("左西替利嗪", "盐酸"),
    ("地塞米松", "醋酸"),
    ("泼尼松", "醋酸"),
    ("甲泼尼龙", ""),
    ("舍曲林", "盐酸"),
    ("帕罗西汀", "盐酸"),
    ("艾司西酞普兰", "草酸"),
    ("文拉法辛", "盐酸"),
    ("奥氮平", ""),
    ("喹硫平", "富马酸"),
    ("利培酮", ""),
    ("阿立哌唑", ""),
    ("丙戊酸", "钠"),
    ("左乙拉西坦", ""),
    ("卡马西平", ""),
    ("加巴喷丁", ""),
    ("普瑞巴林", ""),
    ("多奈哌齐", "盐酸"),
    ("美金刚", "盐酸"),
    ("坦索罗辛", "盐酸"),
    ("非那雄胺", ""),
    ("螺内酯", ""),
    ("呋塞米", ""),
    ("氢氯噻嗪", ""),
    ("吲达帕胺", ""),
    ("别嘌醇", ""),
    ("非布司他", ""),
    ("秋水仙碱", ""),
    ("甲钴胺", ""),
    ("维生素B6", ""),
    ("叶酸", ""),
    ("碳酸钙", ""),
    ("阿法骨化醇", ""),
    ("骨化三醇", ""),
    ("左甲状腺素", "钠"),
    ("甲巯咪唑", ""),
    ("丙硫氧嘧啶", ""),
    ("阿昔洛韦", ""),
    ("伐昔洛韦", "盐酸"),
    ("奥司他韦", "磷酸"),
    ("恩替卡韦", ""),
    ("替诺福韦", "富马酸"),
    ("氟康唑", ""),
    ("伊曲康唑", ""),
    ("特比萘芬", "盐酸"),
    ("蒙脱石", ""),
    ("多潘立酮", ""),
    ("莫沙必利", "枸橼酸"),
    ("曲美布汀", "马来酸"),
    ("匹维溴铵", ""),
    ("熊去氧胆酸", ""),
    ("水飞蓟宾", ""),
    ("谷胱甘肽", ""),
    ("硫普罗宁", ""),
    ("法舒地尔", "盐酸"),
    ("依达拉奉", ""),
    ("银杏叶提取物", ""),
    ("单硝酸异山梨酯", ""),
    ("硝酸甘油", ""),
    ("曲美他嗪", "盐酸"),
    ("伊伐布雷定", "盐酸"),
    ("胺碘酮", "盐酸"),
    ("地高辛", ""),
    ("多巴胺", "盐酸"),
    ("肾上腺素", "盐酸"),
    ("利多卡因", "盐酸"),
    ("布比卡因", "盐酸"),
    ("罗哌卡因", "盐酸"),
    ("丙泊酚", ""),
    ("咪达唑仑", "盐酸"),
    ("右美托咪定", "盐酸"),
    ("舒芬太尼", "枸橼酸"),
    ("瑞芬太尼", "盐酸"),
    ("昂丹司琼", "盐酸"),
    ("托烷司琼", "盐酸"),
    ("甲氧氯普胺", "盐酸"),
    ("氨甲环酸", ""),
    ("酚磺乙胺", ""),
    ("肝素", "钠"),
    ("依诺肝素", "钠"),
    ("低分子肝素", "钙"),
    ("胰岛素", ""),
    ("门冬胰岛素", ""),
    ("甘精胰岛素", ""),
    ("利拉鲁肽", ""),
    ("奥曲肽", "醋酸"),
    ("生长抑素", ""),
    ("乌司他丁", ""),
    ("万古霉素", "盐酸"),
    ("美罗培南", ""),
    ("亚胺培南西司他丁", "钠"),
    ("哌拉西林他唑巴坦", "钠"),
    ("头孢哌酮舒巴坦", "钠"),
    ("利奈唑胺", ""),
    ("替加环素", ""),
    ("伏立康唑", ""),
    ("卡泊芬净", "醋酸"),
    ("更昔洛韦", "钠"),
    ("阿糖胞苷", ""),
    ("奥沙利铂", ""),
    ("顺铂", ""),
    ("紫杉醇", ""),
    ("多西他赛", ""),
    ("吉西他滨", "盐酸"),
    ("卡培他滨", ""),
    ("来曲唑", ""),
    ("阿那曲唑", ""),
    ("他莫昔芬", "枸橼酸"),
    ("伊马替尼", "甲磺酸"),
];

/// (form word as named, 剂型 column, unit, pack counts, specs) by kind of stem.
type Form = (
    &'static str,
    &'static str,
    &'static str,
    &'static [u32],
    &'static [&'static str],
);

const FORMS: &[Form] = &[
    (
        "片",
        "片剂",
        "片",
        &[7, 12, 24, 48],
        &["5mg", "10mg", "20mg", "0.1g", "0.25g", "0.5g"],
    ),
    (
        "胶囊",
        "胶囊剂",
        "粒",
        &[10, 12, 24, 36],
        &["0.1g", "0.125g", "0.25g", "0.5g"],
    ),
    (
        "注射液",
        "注射剂",
        "支",
        &[1, 5, 10],
        &["1ml:10mg", "2ml:20mg", "5ml:0.1g", "10ml:0.5g"],
    ),
    (
        "缓释片",
        "缓释片",
        "片",
        &[7, 14, 28],
        &["30mg", "60mg", "0.5g"],
    ),
    (
        "颗粒",
        "颗粒剂",
        "袋",
        &[6, 10, 12],
        &["0.1g", "0.25g", "1g"],
    ),
];

const MAKER_A: &[&str] = &[
    "华", "海", "恒", "康", "齐", "鲁", "扬", "正", "天", "信", "联", "新", "普", "科", "瑞", "石",
    "东",
];
const MAKER_B: &[&str] = &["北", "正", "瑞", "力", "宁", "源", "泰", "达", "和", "元"];
const PLACES: &[&str] = &[
    "北京", "上海", "江苏", "浙江", "山东", "河北", "广东", "四川", "湖北", "吉林",
];
const SUFFIXES: &[&str] = &[
    "制药有限公司",
    "药业股份有限公司",
    "制药厂",
    "医药集团有限公司",
    "药业有限公司",
];

/// A drug table of `n` rows in the published 2025 column set, with realistic names: each row is
/// a generic name with its salt, one of its forms, a spec, a pack count and one of 170
/// manufacturers, no two rows alike. Codes follow the 23-character 西药 layout and are unique.
pub fn synthetic_drugs(n: usize) -> Vec<Row> {
    let makers: Vec<(String, String)> = MAKER_A
        .iter()
        .flat_map(|a| MAKER_B.iter().map(move |b| format!("{a}{b}")))
        .enumerate()
        .map(|(i, core)| {
            let place = PLACES[i % PLACES.len()];
            let suffix = SUFFIXES[(i / PLACES.len()) % SUFFIXES.len()];
            (
                format!("{place}{core}{suffix}"),
                format!("{:05}", 10000 + i * 37),
            )
        })
        .collect();
    let mut rows = Vec::with_capacity(n);
    let mut i = 0usize;
    // Products: stem × 3 forms × its specs × counts, each made by several makers.
    'outer: for m in 0.. {
        for (s, (stem, salt)) in STEMS.iter().enumerate() {
            let form = &FORMS[(s + m / makers.len()) % FORMS.len()];
            let maker = &makers[(m + s * 7) % makers.len()];
            let spec = form.4[(m / 3 + s) % form.4.len()];
            let count = form.3[(m / 5 + s) % form.3.len()];
            let (name, form_col) = if salt.is_empty() {
                (format!("{stem}{}", form.0), form.1)
            } else if salt.ends_with('酸') || *salt == "硫酸氢" {
                (format!("{salt}{stem}{}", form.0), form.1)
            } else {
                (format!("{stem}{salt}{}", form.0), form.1)
            };
            let code = format!(
                "X{}{}{:03}{}{:04}{:05}",
                [
                    "A01AB", "A02BC", "A10BA", "B01AC", "C08CA", "C10AA", "J01CA", "J01DD",
                    "N02BE", "R03BA"
                ][s % 10],
                &"ABCDEFGHJKLMNPQRSTWXYZ"[(m / 1000) % 22..(m / 1000) % 22 + 1],
                s,
                ["A001", "A002", "B001", "B002", "C001"][(s + m / makers.len()) % FORMS.len()],
                m % 10000,
                i % 100000
            );
            let body = format!("869{}{:05}", &maker.1[..5], i % 100000);
            rows.push((
                code,
                name,
                vec![
                    ("剂型".to_string(), form_col.to_string()),
                    ("规格".to_string(), spec.to_string()),
                    ("包装材质".to_string(), "铝塑".to_string()),
                    ("最小包装数量".to_string(), count.to_string()),
                    ("最小制剂单位".to_string(), form.2.to_string()),
                    ("最小包装单位".to_string(), "盒".to_string()),
                    ("药品企业".to_string(), maker.0.clone()),
                    (
                        "批准文号".to_string(),
                        format!("国药准字H{:08}", 20000000 + i),
                    ),
                    ("药品本位码".to_string(), format!("{body}{}", gs1(&body))),
                ],
            ));
            i += 1;
            if i >= n {
                break 'outer;
            }
        }
    }
    rows
}

fn gs1(body: &str) -> u32 {
    let total: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, d)| d.to_digit(10).unwrap_or(0) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - total % 10) % 10
}
