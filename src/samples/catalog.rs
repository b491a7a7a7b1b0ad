//! The items a generated hospital bills: local HIS codes and names as legacy catalogs hold them
//! (dosage-form suffixes, specs in the name), with the national code each maps to.

/// One billable item.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// The hospital's own code.
    pub local_code: &'static str,
    /// The hospital's name for it.
    pub name: &'static str,
    /// Its specification.
    pub spec: &'static str,
    /// Price in fen.
    pub price_cents: i64,
    /// The national code it maps to (the generated crosswalks' answer).
    pub national: &'static str,
}

macro_rules! items {
    ($(($code:literal, $name:literal, $spec:literal, $price:literal, $national:literal)),* $(,)?) => {
        &[$(Item { local_code: $code, name: $name, spec: $spec, price_cents: $price, national: $national }),*]
    };
}

/// The catalog.
pub const ITEMS: &[Item] = items![
    (
        "A9400006TA00",
        "阿莫西林胶囊",
        "0.25g*24粒",
        1250,
        "XJ01CAA040A001010102699"
    ),
    (
        "A9400011TA00",
        "地喹氯铵含片",
        "0.25mg*12片",
        860,
        "XA01ABD075A002010100483"
    ),
    (
        "A9400023IJ00",
        "注射用头孢曲松钠",
        "1g",
        1880,
        "XJ01DDT057B001010100378"
    ),
    (
        "A9400031SL00",
        "氯化钠注射液",
        "0.9%:250ml",
        350,
        "XB05BBL061B002020101231"
    ),
    (
        "A9400047TA00",
        "二甲双胍片",
        "0.5g*48片",
        1530,
        "XA10BAE003A001010102201"
    ),
    (
        "A9400052TA00",
        "硝苯地平控释片",
        "30mg*7片",
        3320,
        "XC08CAX065A014010100534"
    ),
    (
        "A9400068FZ00",
        "注射用奥美拉唑钠",
        "40mg",
        2650,
        "XA02BCA211B001010104328"
    ),
    (
        "A9400075HX00",
        "布地奈德吸入混悬液",
        "2ml:1mg*5支",
        6840,
        "XR03BAB070L040010100987"
    ),
    (
        "A9400083TA00",
        "阿托伐他汀钙片",
        "20mg*7片",
        2210,
        "XC10AAA200A001010101552"
    ),
    (
        "A9400091IJ00",
        "胰岛素注射液",
        "3ml:300单位",
        4580,
        "XA10ABY079B002010103307"
    ),
    (
        "Z9500012KL00",
        "连花清瘟颗粒",
        "6g*10袋",
        2580,
        "ZA01BAL0101020100001"
    ),
    (
        "Z9500027TA00",
        "复方丹参片",
        "0.32g*60片",
        1230,
        "ZC09AAF0230010100002"
    ),
    ("F0001", "普通门诊诊查费", "次", 1000, "001102000010000"),
    ("F0002", "住院诊查费", "日", 2000, "001102000030000"),
    ("F0011", "床位费(三人间)", "日", 3500, "001103000010000"),
    ("F0023", "静脉输液", "次", 800, "001204000010000"),
    ("F0031", "血常规检查", "次", 2000, "002501000010000"),
    ("F0042", "肝功能检测", "项", 500, "002503000020000"),
    ("F0057", "胸部CT平扫", "次", 20000, "002105000010000"),
    ("F0068", "心电图检查", "次", 2500, "002202000010000"),
    ("F0074", "一级护理", "日", 2800, "001106000010000"),
    ("F0086", "换药(中)", "次", 1500, "001203000020000"),
    (
        "C0001",
        "一次性使用输液器",
        "带针",
        300,
        "C1401030900000100001"
    ),
    (
        "C0002",
        "一次性使用无菌注射器",
        "5ml",
        60,
        "C1401030890000200002"
    ),
    (
        "C0003",
        "医用脱脂纱布",
        "8cm*10cm",
        120,
        "C0203010110000300003"
    ),
    (
        "C0004",
        "一次性使用导尿管",
        "双腔",
        1500,
        "C1402010300000400004"
    ),
    (
        "C0005",
        "医用外科口罩",
        "17.5cm*9.5cm",
        80,
        "C1403020440000500005"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{detect, Detection};

    #[test]
    fn national_codes_are_well_formed() {
        for item in ITEMS {
            match detect(item.national) {
                Detection::Unique { parsed } => {
                    assert!(parsed.is_well_formed(), "{}", item.national)
                }
                other => panic!("{}: {other:?}", item.national),
            }
        }
    }
}
