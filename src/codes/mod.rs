//! The national code families and the identifiers records carry: one module per kind, each a
//! structure parser that splits a code into named segments or says which segment is wrong.
//!
//! Facts come from `../shared/domain/code-families.md` and `legacy-data.md`; how sure we are of each
//! segment's meaning is carried in [`Certainty`] so `codes explain` never invents a meaning.

pub mod autoload;
pub mod checkdigit;
mod clean;
pub mod consumable;
pub mod damage;
pub mod detect;
pub mod diagnosis;
pub mod drug;
pub mod headers;
pub mod ident;
pub mod procedure;
pub mod service;
pub mod table;
mod table_excel;

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::Serialize;

pub use detect::{detect, Detection};

/// The five national code families yibao maps local codes onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// 医保疾病诊断分类与代码 (ICD-10 医保版).
    Diagnosis,
    /// 医保手术操作分类与代码 (ICD-9-CM-3 医保版).
    Procedure,
    /// 医疗服务项目分类与代码.
    Service,
    /// 医保药品分类与代码 (西药/中成药, 中药饮片, 医疗机构制剂).
    Drug,
    /// 医保医用耗材分类与代码.
    Consumable,
}

impl Family {
    /// Every family, in the order they are listed to users.
    pub const ALL: [Family; 5] = [
        Family::Diagnosis,
        Family::Procedure,
        Family::Service,
        Family::Drug,
        Family::Consumable,
    ];

    /// The name used on the command line, in files and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Diagnosis => "diagnosis",
            Family::Procedure => "procedure",
            Family::Service => "service",
            Family::Drug => "drug",
            Family::Consumable => "consumable",
        }
    }

    /// The standard's Chinese title.
    pub fn title_zh(self) -> &'static str {
        match self {
            Family::Diagnosis => "医保疾病诊断分类与代码",
            Family::Procedure => "医保手术操作分类与代码",
            Family::Service => "医疗服务项目分类与代码",
            Family::Drug => "医保药品分类与代码",
            Family::Consumable => "医保医用耗材分类与代码",
        }
    }

    /// The code kind whose parser handles this family.
    pub fn kind(self) -> Kind {
        match self {
            Family::Diagnosis => Kind::Diagnosis,
            Family::Procedure => Kind::Procedure,
            Family::Service => Kind::Service,
            Family::Drug => Kind::Drug,
            Family::Consumable => Kind::Consumable,
        }
    }

    /// Parse a code of this family.
    pub fn parse(self, code: &str) -> Result<Parsed, Malformed> {
        self.kind().parse(code)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A family name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFamily(pub String);

impl fmt::Display for UnknownFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown code family `{}` (expected one of: diagnosis, procedure, service, drug, consumable)",
            self.0
        )
    }
}

impl std::error::Error for UnknownFamily {}

impl FromStr for Family {
    type Err = UnknownFamily;

    /// Accepts the singular, the plural and the Chinese short names users type.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let family = match s.trim().to_ascii_lowercase().as_str() {
            "diagnosis" | "diagnoses" | "icd10" | "icd-10" | "诊断" | "疾病诊断" => {
                Family::Diagnosis
            }
            "procedure" | "procedures" | "icd9" | "icd-9-cm-3" | "手术" | "手术操作" => {
                Family::Procedure
            }
            "service" | "services" | "service-item" | "service-items" | "医疗服务项目"
            | "服务项目" => Family::Service,
            "drug" | "drugs" | "药品" => Family::Drug,
            "consumable" | "consumables" | "耗材" | "医用耗材" => Family::Consumable,
            _ => return Err(UnknownFamily(s.to_string())),
        };
        Ok(family)
    }
}

/// Every kind of code yibao can recognise: the five families and the identifiers records carry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// See [`Family::Diagnosis`].
    Diagnosis,
    /// See [`Family::Procedure`].
    Procedure,
    /// See [`Family::Service`].
    Service,
    /// See [`Family::Drug`].
    Drug,
    /// See [`Family::Consumable`].
    Consumable,
    /// 定点医疗机构代码: `H` + 11 digits.
    Institution,
    /// 定点零售药店代码: `P` + 11 digits.
    Pharmacy,
    /// 医保医师代码: `D` + 12 digits.
    Doctor,
    /// 医保护士代码: `N` + 12 digits.
    Nurse,
    /// 医保区划 (coordination area): 6-digit GB/T 2260 administrative division code.
    AdminArea,
    /// 居民身份证号码 (GB 11643-1999), 18 characters with an ISO 7064 MOD 11-2 check character.
    ResidentId,
    /// 统一社会信用代码 (GB 32100-2015), 18 characters with a MOD 31 check character.
    CreditCode,
    /// 药品本位码 (NMPA), 14 digits with a GS1 mod-10 check digit.
    DrugStandardCode,
    /// 药品批准文号: 国药准字 + letter + 8 digits.
    ApprovalNumber,
    /// 医疗器械注册证号: 国械注准/进/许 + year + class + category + sequence.
    DeviceRegistration,
}

impl Kind {
    /// Every kind, in detection order.
    pub const ALL: [Kind; 15] = [
        Kind::Diagnosis,
        Kind::Procedure,
        Kind::Service,
        Kind::Drug,
        Kind::Consumable,
        Kind::Institution,
        Kind::Pharmacy,
        Kind::Doctor,
        Kind::Nurse,
        Kind::AdminArea,
        Kind::ResidentId,
        Kind::CreditCode,
        Kind::DrugStandardCode,
        Kind::ApprovalNumber,
        Kind::DeviceRegistration,
    ];

    /// The family, when this kind is one of the five mapped families.
    pub fn family(self) -> Option<Family> {
        match self {
            Kind::Diagnosis => Some(Family::Diagnosis),
            Kind::Procedure => Some(Family::Procedure),
            Kind::Service => Some(Family::Service),
            Kind::Drug => Some(Family::Drug),
            Kind::Consumable => Some(Family::Consumable),
            _ => None,
        }
    }

    /// Stable machine name (as serialised in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Diagnosis => "diagnosis",
            Kind::Procedure => "procedure",
            Kind::Service => "service",
            Kind::Drug => "drug",
            Kind::Consumable => "consumable",
            Kind::Institution => "institution",
            Kind::Pharmacy => "pharmacy",
            Kind::Doctor => "doctor",
            Kind::Nurse => "nurse",
            Kind::AdminArea => "admin-area",
            Kind::ResidentId => "resident-id",
            Kind::CreditCode => "credit-code",
            Kind::DrugStandardCode => "drug-standard-code",
            Kind::ApprovalNumber => "approval-number",
            Kind::DeviceRegistration => "device-registration",
        }
    }

    /// The Chinese name a user knows the kind by.
    pub fn title_zh(self) -> &'static str {
        match self {
            Kind::Diagnosis => "医保疾病诊断分类与代码",
            Kind::Procedure => "医保手术操作分类与代码",
            Kind::Service => "医疗服务项目分类与代码",
            Kind::Drug => "医保药品分类与代码",
            Kind::Consumable => "医保医用耗材分类与代码",
            Kind::Institution => "定点医疗机构代码",
            Kind::Pharmacy => "定点零售药店代码",
            Kind::Doctor => "医保医师代码",
            Kind::Nurse => "医保护士代码",
            Kind::AdminArea => "医保区划代码",
            Kind::ResidentId => "居民身份证号码",
            Kind::CreditCode => "统一社会信用代码",
            Kind::DrugStandardCode => "药品本位码",
            Kind::ApprovalNumber => "药品批准文号",
            Kind::DeviceRegistration => "医疗器械注册证号",
        }
    }

    /// Recognise `code` as this kind: `None` when it does not resemble the kind at all,
    /// `Some(Err)` when it resembles it but is malformed, `Some(Ok)` when it parses.
    pub fn recognise(self, code: &str) -> Option<Result<Parsed, Malformed>> {
        match self {
            Kind::Diagnosis => diagnosis::recognise(code),
            Kind::Procedure => procedure::recognise(code),
            Kind::Service => service::recognise(code),
            Kind::Drug => drug::recognise(code),
            Kind::Consumable => consumable::recognise(code),
            Kind::Institution
            | Kind::Pharmacy
            | Kind::Doctor
            | Kind::Nurse
            | Kind::AdminArea
            | Kind::ResidentId
            | Kind::CreditCode
            | Kind::DrugStandardCode
            | Kind::ApprovalNumber
            | Kind::DeviceRegistration => ident::recognise(self, code),
        }
    }

    /// Parse `code` as this kind; a code that does not resemble the kind at all is malformed too.
    pub fn parse(self, code: &str) -> Result<Parsed, Malformed> {
        self.recognise(code).unwrap_or_else(|| {
            Err(Malformed::new(
                self,
                code,
                format!(
                    "does not have the shape of a {} ({})",
                    self.as_str(),
                    self.title_zh()
                ),
            ))
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the project is of a segment's meaning (the status words of `code-families.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    /// Confirmed on real codes from public data or by two independent sources.
    Verified,
    /// Consistent with real codes, but the official segment name is not confirmed.
    Inferred,
    /// Not confirmed: shown so the user sees the split, never relied on.
    Unverified,
}

/// One named part of a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The characters of this segment, as they stand in the canonical code.
    pub text: String,
    /// Byte range of the segment within the canonical code.
    pub span: Range<usize>,
    /// Segment name in Chinese, e.g. `类目`.
    pub name_zh: &'static str,
    /// Segment name in English, e.g. `category`.
    pub name_en: &'static str,
    /// What this particular value means, when known (e.g. `X` -> `西药`).
    pub meaning: Option<String>,
    /// How sure we are of the segment's name and meaning.
    pub certainty: Certainty,
}

/// A defect that a parser recognised and could undo; the code is not well-formed as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// Stable machine name, e.g. `lower-case`, `surrounding-space`.
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

/// A code split into its segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// The kind the code was parsed as.
    pub kind: Kind,
    /// The code exactly as given.
    pub input: String,
    /// The code in its canonical national form (upper case, trimmed...).
    pub canonical: String,
    /// Which of the kind's forms this is, e.g. `7-char (细目)` or `11-char (扩展码)`.
    pub form: &'static str,
    /// The segments in order.
    pub segments: Vec<Segment>,
    /// Defects that were recognised and undone to reach `canonical`.
    pub flags: Vec<Flag>,
}

impl Parsed {
    /// Well-formed as written: it parsed and nothing had to be undone.
    pub fn is_well_formed(&self) -> bool {
        self.flags.is_empty()
    }
}

/// Why a code that resembles a kind is not a valid code of that kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    /// The kind the code was checked against.
    pub kind: Kind,
    /// The code exactly as given.
    pub input: String,
    /// The segment that is wrong (its Chinese and English name), when one can be named.
    pub segment: Option<String>,
    /// Byte range of the bad part within `input`, when known.
    pub span: Option<Range<usize>>,
    /// What is wrong, for a person.
    pub reason: String,
    /// What it probably should be, e.g. `93.3517` for the Excel float `93.351699999999994`.
    pub suggestion: Option<String>,
}

impl Malformed {
    /// A malformed code with a reason and nothing else.
    pub fn new(kind: Kind, input: &str, reason: impl Into<String>) -> Self {
        Malformed {
            kind,
            input: input.to_string(),
            segment: None,
            span: None,
            reason: reason.into(),
            suggestion: None,
        }
    }

    /// Name the bad segment.
    pub fn at(mut self, segment: impl Into<String>, span: Range<usize>) -> Self {
        self.segment = Some(segment.into());
        self.span = Some(span);
        self
    }

    /// Say what the code probably should be.
    pub fn suggest(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a valid {} code", self.input, self.kind)?;
        if let Some(segment) = &self.segment {
            write!(f, ": {segment}")?;
        }
        write!(f, ": {}", self.reason)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Malformed {}
