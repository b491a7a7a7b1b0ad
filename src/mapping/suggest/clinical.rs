//! An evaluation set of the ways clinicians and hospital catalogs write diagnoses, procedures and
//! drugs (issue 19): each legacy item is made from a real national row by one rule of one kind
//! and knows its true code. The rules are written the way a clinician writes, from their own
//! tables (abbreviations, traditional characters, homophone typos), never by inverting the
//! matcher's fold or its knowledge base: the traditional characters here are a hand table, not
//! OpenCC; the abbreviation list holds pairs the built-in base lacks as well (`哮喘`, `急阑`,
//! `AS`), so the figure shows what the base does not know.

use std::collections::HashSet;

use super::eval::{Case, Row};
use super::normalise::squash;
use crate::codes::Family;
use crate::mapping::gather::Local;
use crate::samples::rng::Rng;

/// The kinds of difference measured, in the order reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Clinical abbreviations and colloquial names (`冠心病`, `COPD`, `安定`).
    Abbreviation,
    /// A leading qualifier moved after a comma, dash or into brackets (`肺炎，细菌性`).
    QualifierMoved,
    /// A generic qualifier dropped (`…，其他的`, `未特指的…`).
    GenericDropped,
    /// A clinical qualifier added (`左侧`, `待查`, `急性发作`).
    ClinicalAdded,
    /// One homophone typo from a pinyin keyboard (`颈锥` for `颈椎`).
    Homophone,
    /// Written in traditional characters.
    Traditional,
    /// Width, spaces, punctuation.
    Noise,
    /// Drugs: the dosage form written the old way (`针剂`, `冲剂`, `胶丸`, `片剂`).
    FormWord,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 8] = [
        Kind::Abbreviation,
        Kind::QualifierMoved,
        Kind::GenericDropped,
        Kind::ClinicalAdded,
        Kind::Homophone,
        Kind::Traditional,
        Kind::Noise,
        Kind::FormWord,
    ];

    /// For the report.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Abbreviation => "abbreviations and colloquial names",
            Kind::QualifierMoved => "qualifier moved after a comma or dash",
            Kind::GenericDropped => "generic qualifier dropped",
            Kind::ClinicalAdded => "clinical qualifier added",
            Kind::Homophone => "one homophone typo",
            Kind::Traditional => "traditional characters",
            Kind::Noise => "width, space, punctuation noise",
            Kind::FormWord => "dosage form written the old way",
        }
    }
}

/// National wording → how clinicians write it. Diagnoses.
const DIAGNOSIS_SHORT: &[(&str, &[&str])] = &[
    ("冠状动脉粥样硬化性心脏病", &["冠心病"]),
    ("心力衰竭", &["心衰"]),
    ("心房颤动", &["房颤"]),
    ("心房扑动", &["房扑"]),
    ("心肌梗死", &["心梗", "心肌梗塞"]),
    ("脑梗死", &["脑梗", "脑梗塞"]),
    ("脑出血", &["脑溢血"]),
    ("急性上呼吸道感染", &["上感"]),
    ("慢性阻塞性肺病", &["慢阻肺", "COPD", "copd"]),
    ("慢性支气管炎", &["慢支", "老慢支"]),
    ("急性支气管炎", &["急支"]),
    ("支气管哮喘", &["哮喘"]),
    ("甲状腺功能亢进症", &["甲亢"]),
    ("甲状腺功能减退症", &["甲减"]),
    (
        "2型糖尿病",
        &["T2DM", "Ⅱ型糖尿病", "二型糖尿病", "II型糖尿病"],
    ),
    ("1型糖尿病", &["T1DM", "Ⅰ型糖尿病", "一型糖尿病"]),
    ("系统性红斑狼疮", &["SLE"]),
    ("非霍奇金淋巴瘤", &["NHL"]),
    ("类风湿性关节炎", &["类风关", "RA"]),
    ("强直性脊柱炎", &["强脊", "AS"]),
    ("肺源性心脏病", &["肺心病"]),
    ("风湿性心脏病", &["风心病"]),
    ("慢性乙型病毒性肝炎", &["慢乙肝"]),
    ("乙型病毒性肝炎", &["乙肝"]),
    ("丙型病毒性肝炎", &["丙肝"]),
    ("肾病综合征", &["肾综", "肾病综合症"]),
    ("慢性肾衰竭", &["慢性肾衰", "慢肾衰"]),
    ("高脂血症", &["高血脂"]),
    ("蛛网膜下腔出血", &["SAH", "蛛血"]),
    ("弥散性血管内凝血", &["DIC"]),
    ("急性呼吸窘迫综合征", &["ARDS"]),
    ("深静脉血栓形成", &["DVT"]),
    ("异位妊娠", &["宫外孕"]),
    ("人类免疫缺陷病毒病", &["艾滋病", "HIV病"]),
    ("细菌性痢疾", &["菌痢"]),
    ("阿尔茨海默病", &["老年痴呆"]),
    ("精神分裂症", &["精分"]),
    ("溃疡性结肠炎", &["UC"]),
    ("缺铁性贫血", &["缺铁贫"]),
    ("急性阑尾炎", &["急阑"]),
    ("期前收缩", &["早搏"]),
    ("腰椎间盘突出", &["腰突"]),
    ("肺恶性肿瘤", &["肺癌"]),
    ("胃恶性肿瘤", &["胃癌"]),
    ("肝恶性肿瘤", &["肝癌"]),
    ("食管恶性肿瘤", &["食管癌", "食道癌"]),
    ("乳腺恶性肿瘤", &["乳腺癌"]),
    ("结肠恶性肿瘤", &["结肠癌"]),
    ("直肠恶性肿瘤", &["直肠癌"]),
    ("膀胱恶性肿瘤", &["膀胱癌"]),
    ("前列腺恶性肿瘤", &["前列腺癌"]),
    ("甲状腺恶性肿瘤", &["甲状腺癌"]),
    ("胰腺恶性肿瘤", &["胰腺癌"]),
    ("鼻咽恶性肿瘤", &["鼻咽癌"]),
    ("综合征", &["综合症"]),
];

/// Procedures.
const PROCEDURE_SHORT: &[(&str, &[&str])] = &[
    ("经皮冠状动脉", &["PCI"]),
    ("冠状动脉旁路移植", &["冠脉搭桥", "CABG"]),
    ("内镜逆行胰胆管造影", &["ERCP"]),
    ("阑尾切除术", &["阑切"]),
    ("剖宫产", &["剖腹产"]),
    ("人工流产", &["人流"]),
    ("血液透析", &["血透"]),
    ("腹膜透析", &["腹透"]),
    ("气管切开术", &["气切"]),
    ("经外周静脉穿刺中心静脉置管", &["PICC"]),
    ("骨髓穿刺术", &["骨穿"]),
    ("腰椎穿刺术", &["腰穿"]),
    ("胸腔穿刺", &["胸穿"]),
    ("腹腔穿刺", &["腹穿"]),
    ("磁共振", &["核磁", "MRI"]),
    ("结肠镜检查", &["肠镜"]),
    ("腹腔镜", &["腔镜"]),
    ("内窥镜", &["内镜"]),
    ("黏膜", &["粘膜"]),
];

/// Drugs: former and ward names.
const DRUG_SHORT: &[(&str, &[&str])] = &[
    ("甲硝唑", &["灭滴灵"]),
    ("地西泮", &["安定"]),
    ("呋塞米", &["速尿"]),
    ("对乙酰氨基酚", &["扑热息痛", "APAP"]),
    ("利巴韦林", &["病毒唑"]),
    ("诺氟沙星", &["氟哌酸"]),
    ("甲氧氯普胺", &["胃复安"]),
    ("普萘洛尔", &["心得安"]),
    ("硝酸异山梨酯", &["消心痛"]),
    ("硝苯地平", &["心痛定"]),
    ("维生素C", &["VC", "Vc"]),
    ("维生素B6", &["VB6"]),
    ("维生素B1", &["VB1"]),
    ("氯化钾", &["KCl"]),
    ("阿司匹林", &["ASA"]),
    ("氯化钠注射液", &["NS"]),
    ("葡萄糖注射液", &["GS"]),
    ("甲氨蝶呤", &["MTX"]),
    ("氟尿嘧啶", &["5-FU"]),
    ("地塞米松", &["DXM"]),
];

/// Leading qualifiers a catalog moves behind the name.
const LEADING: &[&str] = &[
    "腹腔镜下",
    "胸腔镜下",
    "内镜下",
    "经皮",
    "经尿道",
    "亚急性",
    "急性",
    "慢性",
    "复发性",
    "先天性",
    "继发性",
    "原发性",
    "获得性",
    "细菌性",
    "病毒性",
    "真菌性",
    "化脓性",
    "多发性",
    "陈旧性",
    "创伤性",
    "病理性",
    "1型",
    "2型",
    "单侧",
    "双侧",
    "部分",
];

/// Simplified → traditional, one character at a time (a hand table of the characters medical
/// names use, as a Hong Kong or Taiwan catalog writes them; characters with two traditional
/// forms are left out).
const TRADITIONAL: &str =
    "医醫药藥疗療肿腫脏臟肠腸肾腎脑腦颈頸头頭颅顱腭顎齿齒龈齦气氣压壓脉脈静靜动動门門间間\
关關节節软軟组組织織细細恶惡变變异異损損伤傷创創疡瘍疮瘡溃潰疖癤痈癰结結综綜发發热熱痉痙挛攣瘫癱\
痪瘓痫癇癫癲聋聾哑啞视視网網层層体體状狀态態胆膽宫宮输輸带帶疱皰风風湿濕类類无無机機械械术術镜鏡\
内內经經开開闭閉钉釘针針线線缝縫扩擴张張贫貧营營养養维維纤纖弹彈质質钙鈣钾鉀钠鈉铁鐵锌鋅铜銅镁鎂\
导導传傳滞滯过過应應际際单單双雙侧側对對称稱从從继繼亚亞儿兒妇婦产產盘盤婴嬰龄齡岁歲残殘级級严嚴\
轻輕见見为為与與并並处處区區围圍远遠脱脫虫蟲疟瘧链鏈杆桿钩鉤肤膚癣癬荨蕁泪淚睑瞼窦竇听聽觉覺语語\
忆憶认認碍礙忧憂虑慮紧緊梦夢饮飲烟煙剂劑胶膠颗顆喷噴雾霧贴貼汤湯盐鹽环環华華兰蘭尔爾罗羅齐齊奥奧\
韦韋鲁魯诺諾泼潑氢氫龙龍乌烏叶葉黄黃连連参參归歸荞蕎钝鈍锐銳";

/// Correct character → what a pinyin keyboard gives for the same sound.
const HOMOPHONES: &[(char, char)] = &[
    ('椎', '锥'),
    ('脓', '浓'),
    ('疱', '泡'),
    ('疹', '诊'),
    ('痉', '径'),
    ('挛', '峦'),
    ('溃', '馈'),
    ('疡', '扬'),
    ('糜', '靡'),
    ('萎', '委'),
    ('癫', '颠'),
    ('痫', '娴'),
    ('癜', '淀'),
    ('荨', '寻'),
    ('挫', '锉'),
    ('阑', '兰'),
    ('胆', '担'),
    ('脾', '皮'),
    ('肾', '慎'),
    ('腺', '线'),
    ('瘘', '漏'),
    ('髋', '宽'),
    ('腕', '碗'),
    ('胫', '径'),
    ('腓', '菲'),
    ('桡', '饶'),
    ('肋', '勒'),
    ('颅', '卢'),
    ('颌', '合'),
    ('痔', '志'),
    ('疝', '山'),
    ('栓', '拴'),
    ('梗', '埂'),
    ('癣', '选'),
    ('疣', '尤'),
    ('疮', '创'),
    ('蛛', '珠'),
    ('膜', '模'),
    ('腔', '枪'),
    ('褥', '辱'),
    ('酮', '同'),
    ('瘤', '留'),
    ('痂', '加'),
    ('肛', '缸'),
    ('髂', '恰'),
    ('胱', '光'),
    ('睾', '高'),
    ('炎', '严'),
    ('骼', '格'),
    ('臼', '旧'),
];

fn traditional(s: &str) -> String {
    let table: Vec<char> = TRADITIONAL.chars().filter(|c| !c.is_whitespace()).collect();
    s.chars()
        .map(|c| {
            table
                .chunks(2)
                .find(|p| p.len() == 2 && p[0] == c)
                .map_or(c, |p| p[1])
        })
        .collect()
}

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

/// One rule of `kind` applied to a national name, or `None` when the rule does not apply.
fn apply(kind: Kind, family: Family, name: &str, rng: &mut Rng) -> Option<String> {
    let chars: Vec<char> = name.chars().collect();
    match kind {
        Kind::Abbreviation => {
            let table = match family {
                Family::Diagnosis => DIAGNOSIS_SHORT,
                Family::Procedure => PROCEDURE_SHORT,
                _ => DRUG_SHORT,
            };
            let (long, shorts) = table.iter().find(|(long, _)| name.contains(long))?;
            let short: &str = rng.pick::<&str>(shorts);
            Some(name.replacen(long, short, 1))
        }
        Kind::QualifierMoved => {
            let q = LEADING
                .iter()
                .find(|q| name.starts_with(**q) && chars.len() >= q.chars().count() + 2)?;
            let rest = &name[q.len()..];
            Some(match rng.below(3) {
                0 => format!("{rest}，{q}"),
                1 => format!("{rest}-{q}"),
                _ => format!("{rest}({q})"),
            })
        }
        Kind::GenericDropped => {
            for w in [
                "，其他和未特指的",
                "，其他特指的",
                "，其他的",
                "，未特指",
                "，其他",
            ] {
                if let Some(r) = name.strip_suffix(w) {
                    return Some(r.to_string());
                }
            }
            for w in ["未特指的", "其他的"] {
                if let Some(r) = name.strip_prefix(w).filter(|r| r.chars().count() >= 2) {
                    return Some(r.to_string());
                }
            }
            None
        }
        Kind::ClinicalAdded => Some(match family {
            Family::Procedure => match rng.below(3) {
                0 => format!("{}{name}", rng.pick(&["左侧", "右侧", "双侧"])),
                1 => format!("{name}(左)"),
                _ => format!("{name}（右侧）"),
            },
            _ => match rng.below(4) {
                0 => format!("{}{name}", rng.pick(&["左侧", "右侧", "双侧"])),
                1 => format!("{name}{}", rng.pick(&["待查", "（待查）", "?", "可能"])),
                2 if name.starts_with("慢性") => format!("{name}急性发作"),
                _ => format!("疑似{name}"),
            },
        }),
        Kind::Homophone => {
            let spots: Vec<(usize, char)> = chars
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    HOMOPHONES
                        .iter()
                        .find(|(from, _)| from == c)
                        .map(|(_, to)| (i, *to))
                })
                .collect();
            if spots.is_empty() {
                return None;
            }
            let (at, to) = *rng.pick(&spots);
            Some(
                chars
                    .iter()
                    .enumerate()
                    .map(|(i, c)| if i == at { to } else { *c })
                    .collect(),
            )
        }
        Kind::Traditional => {
            let t = traditional(name);
            (t != name).then_some(t)
        }
        Kind::Noise => {
            let mut n = name.replace('，', ",");
            if rng.chance(0.5) {
                n = n.replace(['（', '【'], "(").replace(['）', '】'], ")");
            } else {
                n = n.replace(['（', '('], "【").replace(['）', ')'], "】");
            }
            if rng.chance(0.5) {
                n = full_width(&n);
            }
            let mut out = String::new();
            for (i, c) in n.chars().enumerate() {
                if i > 0 && rng.chance(0.2) {
                    out.push(if rng.chance(0.5) { ' ' } else { '\u{3000}' });
                }
                out.push(c);
            }
            Some(out)
        }
        Kind::FormWord => {
            if family != Family::Drug {
                return None;
            }
            for (from, to) in [
                ("注射液", &["针剂", "水针", "注射剂"][..]),
                ("软胶囊", &["胶丸"][..]),
                ("颗粒", &["冲剂", "颗粒剂"][..]),
                ("胶囊", &["胶囊剂"][..]),
                ("片", &["片剂"][..]),
            ] {
                if let Some(r) = name.strip_suffix(from) {
                    return Some(format!("{r}{}", rng.pick(to)));
                }
            }
            None
        }
    }
}

/// The kinds measured for a family.
pub fn kinds(family: Family) -> Vec<Kind> {
    match family {
        Family::Drug => vec![
            Kind::Abbreviation,
            Kind::FormWord,
            Kind::Homophone,
            Kind::Traditional,
            Kind::Noise,
        ],
        _ => Kind::ALL
            .iter()
            .copied()
            .filter(|k| *k != Kind::FormWord)
            .collect(),
    }
}

/// Up to `per_kind` cases of each kind from `rows`, rows visited in a seeded order. A derived
/// name that is itself a national name (of another code) is skipped: no reviewer could call
/// that a miss.
pub fn derive_kinds(
    family: Family,
    rows: &[Row],
    per_kind: usize,
    seed: u64,
) -> Vec<(Kind, Vec<Case>)> {
    let names: HashSet<String> = rows.iter().map(|r| squash(&r.1)).collect();
    let mut out = Vec::new();
    for kind in kinds(family) {
        let mut rng = Rng::stream(seed, &format!("{family}-{kind:?}"));
        let mut order: Vec<usize> = (0..rows.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut cases = Vec::new();
        let mut seen = HashSet::new();
        for i in order {
            if cases.len() >= per_kind {
                break;
            }
            let (code, name) = (&rows[i].0, &rows[i].1);
            let Some(local) = apply(kind, family, name, &mut rng) else {
                continue;
            };
            let key = squash(&local);
            if key.is_empty() || key == squash(name) || names.contains(&key) || !seen.insert(key) {
                continue;
            }
            cases.push(Case {
                local: Local {
                    code: format!("K{}-{}", cases.len(), kind as u8),
                    name: local,
                    records: 1,
                    ..Default::default()
                },
                truth: code.clone(),
            });
        }
        out.push((kind, cases));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i19_6_rules_write_as_clinicians_do() {
        let mut rng = Rng::new(1);
        let d = Family::Diagnosis;
        assert_eq!(
            apply(Kind::Traditional, d, "颈椎间盘突出", &mut rng).as_deref(),
            Some("頸椎間盤突出")
        );
        assert_eq!(
            apply(Kind::GenericDropped, d, "细菌性痢疾，其他的", &mut rng).as_deref(),
            Some("细菌性痢疾")
        );
        let moved = apply(Kind::QualifierMoved, d, "细菌性肺炎", &mut rng).unwrap();
        assert!(moved.starts_with("肺炎"), "{moved}");
        let typo = apply(Kind::Homophone, d, "颈椎病", &mut rng).unwrap();
        assert_eq!(typo, "颈锥病");
        assert_eq!(
            apply(Kind::Abbreviation, d, "急性心力衰竭", &mut rng).as_deref(),
            Some("急性心衰")
        );
        assert_eq!(apply(Kind::Abbreviation, d, "霍乱", &mut rng), None);
    }
}
