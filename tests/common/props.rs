//! Strategies for tests/properties.rs: valid codes built from the structures of
//! `shared/domain/code-families.md` (with check characters computed here, independently of
//! `codes::checkdigit`), code-like and arbitrary text, mutated TOML, crosswalk rows and bytes,
//! suggestion-index rows and the damage done to stored index bytes.

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::sample::Index as At;

use yibao::codes::{Family, Kind};
use yibao::mapping::crosswalk::{Clause, Condition, Mapping, Op, Relation, Status};

// ---- codes --------------------------------------------------------------------------------

const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// GB 32100's 31 characters (no I, O, S, V, Z).
pub const CREDIT_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

fn province() -> impl Strategy<Value = String> {
    prop::sample::select(&PROVINCES[..]).prop_map(str::to_string)
}

fn re(pattern: &'static str) -> BoxedStrategy<String> {
    proptest::string::string_regex(pattern)
        .expect("a valid regex")
        .boxed()
}

/// ISO 7064 MOD 11-2 over 17 digits (GB 11643).
fn mod11_2(body: &str) -> char {
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(w)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

fn value31(c: char) -> u32 {
    CREDIT_CHARSET.find(c).unwrap() as u32
}

/// GB 11714 over 8 characters: weights 3,7,9,10,5,8,4,2; 10 -> X, 11 -> 0.
fn gb11714(body: &str) -> char {
    let w = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(w)
        .map(|(c, w)| c.to_digit(36).unwrap() * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from_digit(c, 10).unwrap(),
    }
}

/// GB 32100 MOD 31 over 17 characters: weights 3^i mod 31.
fn mod31(body: &str) -> char {
    let mut w = 1u32;
    let mut sum = 0;
    for c in body.chars() {
        sum += value31(c) * w;
        w = w * 3 % 31;
    }
    CREDIT_CHARSET.as_bytes()[((31 - sum % 31) % 31) as usize] as char
}

/// GS1 mod 10 over the body; true when `code` ends in it.
pub fn gs1_ok(code: &str) -> bool {
    let (body, last) = code.split_at(code.len() - 1);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    last.as_bytes()[0] == b'0' + ((10 - sum % 10) % 10) as u8
}

fn gs1_complete(body: String) -> String {
    (b'0'..=b'9')
        .map(|d| format!("{body}{}", d as char))
        .find(|c| gs1_ok(c))
        .unwrap()
}

fn resident_id() -> impl Strategy<Value = String> {
    let day = (1900i32..2100, 1u32..=12, 1u32..=31)
        .prop_filter_map("a real day", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d));
    (province(), re("[0-9]{4}"), day, re("[0-9]{3}")).prop_map(|(p, a, d, s)| {
        let body = format!("{p}{a}{}{s}", d.format("%Y%m%d"));
        format!("{body}{}", mod11_2(&body))
    })
}

fn credit_code() -> impl Strategy<Value = String> {
    let c31 = || prop::sample::select(CREDIT_CHARSET.chars().collect::<Vec<_>>());
    (
        c31(),
        c31(),
        province(),
        re("[0-9]{4}"),
        prop::collection::vec(c31(), 8),
    )
        .prop_map(|(dept, ty, p, a, org)| {
            let org: String = org.into_iter().collect();
            let body = format!("{dept}{ty}{p}{a}{org}{}", gb11714(&org));
            format!("{body}{}", mod31(&body))
        })
}

fn standard_code() -> impl Strategy<Value = String> {
    re("869[0-9]{10}").prop_map(gs1_complete)
}

/// The kinds whose last character is a check character, with a valid code.
pub fn check_digit_code() -> impl Strategy<Value = (Kind, String)> {
    prop_oneof![
        resident_id().prop_map(|c| (Kind::ResidentId, c)),
        credit_code().prop_map(|c| (Kind::CreditCode, c)),
        standard_code().prop_map(|c| (Kind::DrugStandardCode, c)),
    ]
}

/// A diagnosis: 类目, `.`, 亚目 (or `x`), 细目, an optional 扩展码 and asterisk code.
pub fn diagnosis() -> BoxedStrategy<String> {
    re(r"[A-Z][0-9]{2}\.[0-9x][0-9]{2}(x[0-9]{3})?(\+[A-Z][0-9]{2}(\.[0-9])?\*)?")
}

/// A valid code of every family and identifier kind, from the documented structures. The 7th
/// character of a 17.9 中医 code is a digit or a letter other than I, O (the national list has
/// A–S without them) and X, which is the placeholder everywhere else in a procedure code.
pub fn valid_code() -> impl Strategy<Value = (Kind, String)> {
    let issuer = prop_oneof![
        Just("10".to_string()),
        Just("19".to_string()),
        Just("20".to_string()),
        province()
    ];
    prop_oneof![
        diagnosis().prop_map(|c| (Kind::Diagnosis, c)),
        re(r"[0-9]{2}\.[0-9x]{2}[0-9]{2}(x[0-9]{3})?|17\.9[0-9]{2}[0-9A-HJ-NP-WYZ][0-9]|[0-9]{2}\.[0-9]{3}x[0-9]{4}")
            .prop_map(|c| (Kind::Procedure, c)),
        re(r"[0-9]{15}(-[0-9]{9})?").prop_map(|c| (Kind::Service, c)),
        re(r"X[A-Z][0-9]{2}[A-Z]{2}[A-Z][0-9]{3}[A-Z][0-9]{3}[0-9]{9}|Z[A-Z][0-9]{2}[A-Z]{2}[A-Z][0-9]{4}[0-9]{9}|T[0-9]{4}[0-9A-Z]{5}([0-9]{10})?|J[0-9A-Z]{15}")
            .prop_map(|c| (Kind::Drug, c)),
        re(r"C[0-9]{19}([0-9]{7})?").prop_map(|c| (Kind::Consumable, c)),
        (prop::sample::select(vec![
            ('H', Kind::Institution),
            ('P', Kind::Pharmacy),
            ('D', Kind::Doctor),
            ('N', Kind::Nurse)
        ]), province(), re("[0-9]{10}"))
            .prop_map(|((l, k), p, d)| {
                let n = if matches!(l, 'H' | 'P') { 9 } else { 10 };
                (k, format!("{l}{p}{}", &d[..n]))
            }),
        (province(), re("[0-9]{4}")).prop_map(|(p, d)| (Kind::AdminArea, format!("{p}{d}"))),
        (
            prop::sample::select(vec!["H", "Z", "S", "B", "T", "F", "J", "HJ", "ZJ", "SJ"]),
            issuer,
            re("[0-9]{6}")
        )
            .prop_map(|(l, i, d)| (Kind::ApprovalNumber, format!("国药准字{l}{i}{d}"))),
        (prop::sample::select(vec!["准", "进", "许"]), 1990u32..2100, re("[0-9]{7}"))
            .prop_map(|(k, y, d)| (Kind::DeviceRegistration, format!("国械注{k}{y}{d}"))),
        check_digit_code(),
    ]
}

/// The same code as legacy data writes it: lower case, full width, spaces around.
pub fn variants(code: &str) -> Vec<String> {
    let full: String = code
        .chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            c => c,
        })
        .collect();
    let mut out = vec![format!("  {code}\t"), full, format!("\u{3000}{code}")];
    let lower = code.to_ascii_lowercase();
    if lower != code {
        out.push(lower);
    }
    out
}

/// Text a code field may hold: code characters, separators, full-width forms, Chinese, any.
pub fn any_code_text() -> impl Strategy<Value = String> {
    prop_oneof![
        re(r"[0-9A-Zxa-z.+*\-/ ,;，；　Ｋ４．国药准字械注进许E]{0,30}"),
        valid_code().prop_flat_map(|(_, c)| mutated_chars(c)),
        any::<String>(),
    ]
}

/// One to three character edits (replace, insert, delete) of `s`.
fn mutated_chars(s: String) -> impl Strategy<Value = String> {
    let edit = (0u8..3, any::<At>(), prop::char::any());
    prop::collection::vec(edit, 1..4).prop_map(move |edits| {
        let mut c: Vec<char> = s.chars().collect();
        for (op, at, ch) in edits {
            let i = at.index(c.len() + 1);
            match op {
                0 if i < c.len() => c[i] = ch,
                1 => c.insert(i, ch),
                _ if i < c.len() => {
                    c.remove(i);
                }
                _ => {}
            }
        }
        c.into_iter().collect()
    })
}

// ---- TOML ---------------------------------------------------------------------------------

/// Snippets that upset TOML parsers and validators.
const SNIPPETS: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "#",
    "\n",
    "\r\n",
    "\\",
    "\"\"\"",
    "'''",
    " = \"\"",
    "[[rule]]\n",
    "[[datasets]]\n",
    "[[areas]]\n",
    "[pack]\n",
    "kind = \"pattern\"\n",
    "regex = \"(\"\n",
    "expr = \"a +\"\n",
    "when = \"\"\n",
    "datasets = []\n",
    "fields = []\n",
    "99999999999999999999",
    "-0",
    "1e400",
    "nan",
    "inf",
    "1979-05-27T07:32:00Z",
    "\u{0}",
    "\u{feff}",
    "盐城",
    "é",
    "\u{200b}",
    "𝄞",
    "\t",
    "min = \"x\"\n",
    "dictionary = \"nope\"\n",
    "code = \"99\"\n",
];

/// Values put inside a quoted TOML string: valid TOML, often an invalid setting.
const VALUES: &[&str] = &[
    "",
    "(",
    "a +",
    "[",
    "nope",
    "settlement",
    "drug",
    "today",
    "2024-13-01",
    "x",
    "1:n",
    "utf-16",
    "*.csv",
    "../../etc",
    "医保[2024]",
    "resident-id",
    "psn_no",
    "psn_no IS NULL AND",
    "99",
];

/// Arbitrary text, and text stitched from TOML-shaped snippets.
pub fn any_toml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::sample::select(SNIPPETS), 0..40).prop_map(|v| v.concat()),
    ]
}

/// One to four edits of `base`: a snippet or arbitrary text inserted, a range deleted, a line
/// duplicated or dropped, the text cut short, or a quoted value replaced (the TOML stays valid,
/// so the validator behind the parser is reached).
pub fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    let insert = prop_oneof![
        prop::sample::select(SNIPPETS).prop_map(str::to_string),
        any::<String>()
    ];
    let edit = (0u8..8, any::<At>(), 1usize..40, insert);
    prop::collection::vec(edit, 1..5).prop_map(move |edits| {
        let mut s = base.to_string();
        for (op, at, len, text) in edits {
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            let mut j = (i + len).min(s.len());
            while !s.is_char_boundary(j) {
                j -= 1;
            }
            let line_start = s[..i].rfind('\n').map_or(0, |p| p + 1);
            let line_end = s[i..].find('\n').map_or(s.len(), |p| i + p + 1);
            match op {
                0 => s.insert_str(i, &text),
                1 => s.replace_range(i..j, ""),
                2 => {
                    let line = s[line_start..line_end].to_string();
                    s.insert_str(line_start, &line);
                }
                3 => s.replace_range(line_start..line_end, ""),
                4 => s.truncate(i),
                _ => {
                    // The value of the first `= "…"` at or after i.
                    if let Some(open) = s[i..].find("= \"").map(|p| i + p + 3) {
                        if let Some(close) = s[open..].find('"').map(|p| open + p) {
                            s.replace_range(open..close, VALUES[len % VALUES.len()]);
                        }
                    }
                }
            }
        }
        s
    })
}

// ---- crosswalks ---------------------------------------------------------------------------

fn clean_text() -> BoxedStrategy<String> {
    // Commas, quotes, Chinese and inner line breaks, but no surrounding space (fields are trimmed).
    re(r"([a-z0-9盐城阿莫西林胶囊,\x22;|]([a-z0-9盐城阿莫西林 ,\x22\n]{0,10}[a-z0-9西林\x22])?)?")
}

fn condition() -> impl Strategy<Value = Option<Condition>> {
    let clause = (
        re("[a-z_]{1,8}"),
        prop::sample::select(vec![Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::In]),
        prop::collection::vec(re("[A-Z0-9]{1,4}"), 1..3),
    )
        .prop_map(|(field, op, mut values)| {
            if op != Op::In {
                values.truncate(1);
            }
            Clause { field, op, values }
        });
    prop::option::of(prop::collection::vec(clause, 1..3).prop_map(Condition))
}

/// Valid rows of a diagnosis crosswalk: unique local codes, well-formed national codes,
/// ordered validity windows, a condition on every approved 1:n row.
pub fn crosswalk_rows() -> impl Strategy<Value = Vec<Mapping>> {
    let day = (2000i32..2040, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap());
    let row = (
        clean_text(),
        diagnosis(),
        clean_text(),
        prop::sample::select(vec![
            Relation::OneToOne,
            Relation::ManyToOne,
            Relation::OneToMany,
        ]),
        condition(),
        (prop::option::of(day.clone()), prop::option::of(day)),
        prop::sample::select(vec![Status::Approved, Status::Pending, Status::Rejected]),
        (clean_text(), re("(2024-0[1-9]-1[0-9])?"), clean_text()),
    );
    prop::collection::vec(row, 0..8).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    (
                        local_name,
                        code,
                        national_name,
                        relation,
                        condition,
                        (a, b),
                        status,
                        (reviewer, reviewed_at, note),
                    ),
                )| {
                    let (valid_from, valid_to) = match (a, b) {
                        (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                        w => w,
                    };
                    let condition = match (relation, status, condition) {
                        (Relation::OneToMany, Status::Approved, None) => {
                            Condition::parse("age < 18").ok()
                        }
                        (_, _, c) => c,
                    };
                    Mapping {
                        line: 0,
                        local_code: format!("L{i:03}"),
                        local_name,
                        national_code: code,
                        national_name,
                        relation,
                        condition,
                        valid_from,
                        valid_to,
                        status,
                        reviewer,
                        reviewed_at,
                        note,
                    }
                },
            )
            .collect()
    })
}

/// Bytes a crosswalk file may hold: arbitrary, GBK text, ragged CSV.
pub fn crosswalk_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = prop::collection::vec(re(r#"[A-Za-z0-9.:_\-"盐城 ]{0,12}"#), 0..14)
        .prop_map(|f| f.join(","));
    let csv = prop::collection::vec(line, 0..8).prop_map(|lines| {
        format!("local_code,local_name,national_code,national_name,relation,condition,valid_from,valid_to,status\n{}", lines.join("\n"))
    });
    prop_oneof![
        any::<Vec<u8>>(),
        csv.clone().prop_map(String::into_bytes),
        csv.prop_map(|t| encoding_rs::GBK.encode(&t).0.into_owned()),
    ]
}

// ---- the suggestion index -----------------------------------------------------------------

/// Rows of a national table as the store gives them: code, name, attributes as JSON.
pub fn index_rows() -> impl Strategy<Value = (Family, Vec<(String, String, Option<String>)>)> {
    let attrs = prop::option::of(
        (re("[0-9.]{1,4}(mg|g|ml|万单位)?(\\*[0-9]{1,2}片)?"), re("[片胶囊注射剂]{0,3}"), re("(国药准字H[0-9]{8})?"), re("[石药集团有限公司]{0,6}"))
            .prop_map(|(spec, form, approval, maker)| {
                serde_json::json!({"规格": spec, "剂型": form, "批准文号": approval, "药品企业": maker, "最小包装数量": "24"}).to_string()
            }),
    );
    let row = (
        re("[A-Z0-9.]{1,12}"),
        re("[阿莫西林胶囊盐酸二甲双胍片注射用头孢()（）0-9a-z]{0,12}"),
        attrs,
    );
    (
        prop::sample::select(Family::ALL.to_vec()),
        prop::collection::vec(row, 0..12),
    )
}

/// How stored bytes get damaged: a u32 overwritten (huge, odd or small), a byte flipped, the
/// end cut, bytes inserted.
#[derive(Debug, Clone)]
pub struct Damage(Vec<(u8, At, u32)>);

pub fn index_damage() -> impl Strategy<Value = Damage> {
    let value = prop_oneof![
        Just(u32::MAX),
        Just(0x7fff_ffff),
        Just(0x0100_0000),
        0u32..300,
        any::<u32>()
    ];
    prop::collection::vec((0u8..4, any::<At>(), value), 1..4).prop_map(Damage)
}

pub fn apply_damage(bytes: &[u8], d: &Damage) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for (op, at, v) in &d.0 {
        let i = at.index(b.len() + 1);
        match op {
            0 if i + 4 <= b.len() => b[i..i + 4].copy_from_slice(&v.to_le_bytes()),
            1 if i < b.len() => b[i] ^= 1 << (v % 8),
            2 => b.truncate(i),
            _ => {
                let k = (*v as usize % 9).min(b.len().saturating_sub(i) + 8);
                b.splice(i..i, v.to_le_bytes().iter().cycle().take(k).copied());
            }
        }
    }
    b
}
