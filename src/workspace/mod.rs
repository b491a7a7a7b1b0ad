//! A workspace: its folder and `yibao.toml`, loaded with spans and validated into typed values.
//! Every mistake in yibao.toml becomes a diagnostic pointing at its line, with a help line
//! ("did you mean …" for misspelt names). Domain code receives only the validated [`Workspace`].

mod error;
pub mod fields;
pub mod path;
mod raw;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;

pub use error::{did_you_mean, ConfigError, ConfigErrors};
pub use fields::{field_type, DatasetKind, FieldType};

use crate::codes::{Family, Kind};
use raw::{RawConfig, RawDataset};

/// The file name of a workspace's configuration.
pub const CONFIG_FILE: &str = "yibao.toml";

/// A validated workspace.
#[derive(Debug, Clone, Serialize)]
pub struct Workspace {
    /// The workspace folder.
    pub root: PathBuf,
    /// A name for people.
    pub name: String,
    /// The output folder (absolute or relative to the current directory).
    pub out: PathBuf,
    /// Coordination areas, in file order.
    pub areas: Vec<Area>,
    /// Pinned code-set versions per family.
    pub code_sets: BTreeMap<Family, String>,
    /// Published files holding a `[code_sets]` version, imported on first use.
    pub code_files: BTreeMap<Family, Vec<PathBuf>>,
    /// Datasets, in file order.
    pub datasets: Vec<Dataset>,
    /// Rule packs to run.
    pub packs: Vec<String>,
    /// Batch limits.
    pub batch: BatchSettings,
    /// Alert thresholds.
    pub thresholds: Thresholds,
    /// The text of yibao.toml, for diagnostics raised after loading.
    #[serde(skip)]
    pub config_text: String,
}

/// A coordination area (统筹区).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Area {
    /// 6-digit 医保区划 code.
    pub code: String,
    /// Its name.
    pub name: String,
}

/// File formats a dataset may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Delimited text (CSV, TSV, pipe-delimited).
    Csv,
    /// Excel 2007+ workbook.
    Xlsx,
    /// Excel 97-2003 (BIFF8) workbook.
    Xls,
    /// Apache Parquet.
    Parquet,
    /// A SQLite database file (a table or a query).
    Sqlite,
}

impl Format {
    /// The format a file's extension implies.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Format::parse(&ext)
    }

    /// Parse a format name or extension.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "csv" | "tsv" | "psv" | "txt" | "dat" => Format::Csv,
            "xlsx" | "xlsm" => Format::Xlsx,
            "xls" => Format::Xls,
            "parquet" | "pq" => Format::Parquet,
            "sqlite" | "sqlite3" | "db" => Format::Sqlite,
            _ => return None,
        })
    }
}

/// A text encoding, declared or detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 (a BOM, if present, is skipped).
    #[serde(rename = "utf-8")]
    Utf8,
    /// GBK (read as GB18030, its superset).
    Gbk,
    /// GB18030.
    Gb18030,
    /// UTF-16, little-endian: what Excel's "Unicode Text" export writes (with a BOM).
    #[serde(rename = "utf-16le")]
    Utf16Le,
    /// UTF-16, big-endian.
    #[serde(rename = "utf-16be")]
    Utf16Be,
}

impl Encoding {
    /// Parse a declared encoding name.
    pub fn parse(s: &str) -> Option<Encoding> {
        Some(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" | "utf-8-bom" | "utf-8-sig" => Encoding::Utf8,
            "gbk" | "cp936" | "gb2312" => Encoding::Gbk,
            "gb18030" => Encoding::Gb18030,
            "utf-16" | "utf-16le" | "utf16" | "utf16le" | "unicode" => Encoding::Utf16Le,
            "utf-16be" | "utf16be" => Encoding::Utf16Be,
            _ => return None,
        })
    }

    /// The name shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Gbk => "gbk",
            Encoding::Gb18030 => "gb18030",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
        }
    }

    /// The decoder for it.
    pub fn decoder(self) -> &'static encoding_rs::Encoding {
        match self {
            Encoding::Utf8 => encoding_rs::UTF_8,
            Encoding::Gbk | Encoding::Gb18030 => encoding_rs::GB18030,
            Encoding::Utf16Le => encoding_rs::UTF_16LE,
            Encoding::Utf16Be => encoding_rs::UTF_16BE,
        }
    }
}

/// Where a SQLite dataset's rows come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSource {
    /// A whole table.
    Table(String),
    /// A query.
    Query(String),
}

/// A dataset of yibao.toml, validated.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    /// Unique name.
    pub name: String,
    /// Area code, when the workspace has areas.
    pub area: Option<String>,
    /// What it holds.
    pub kind: DatasetKind,
    /// The path or glob as written, relative to the workspace.
    pub path: String,
    /// Byte range of `path` in yibao.toml, for diagnostics about the files it matches.
    #[serde(skip)]
    pub path_span: Range<usize>,
    /// Declared format (else from each file's extension).
    pub format: Option<Format>,
    /// Declared encoding (else detected).
    pub encoding: Option<Encoding>,
    /// Declared delimiter (else detected).
    pub delimiter: Option<u8>,
    /// Sheet of a workbook (else the first).
    pub sheet: Option<String>,
    /// 1-based header row (else detected).
    pub header_row: Option<usize>,
    /// SQLite table or query.
    pub sqlite: Option<SqliteSource>,
    /// Canonical key fields.
    pub key: Vec<String>,
    /// Source column -> canonical field, in source-column order of the file.
    pub columns: BTreeMap<String, String>,
    /// Byte range in yibao.toml of each mapped source column, for diagnostics about the files.
    #[serde(skip)]
    pub column_spans: BTreeMap<String, Range<usize>>,
    /// Fields holding local codes to map onto national codes.
    pub codes: Vec<CodeField>,
    /// Fields filled where the source leaves them empty (`[datasets.fill]`).
    pub fill: Vec<Fill>,
}

/// A field filled where the source leaves it empty or does not have it (docs/WORKSPACE.md,
/// "Filling fields"): from a constant, or looked up in another dataset of the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fill {
    /// The filled field.
    pub field: String,
    /// Where its value comes from.
    pub source: FillSource,
}

/// Where a filled field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FillSource {
    /// The same value for every record.
    Value(String),
    /// The `take` field of the record of dataset `from` whose `matching` field equals this
    /// record's `by` field.
    Lookup {
        /// The other dataset.
        from: String,
        /// This dataset's field.
        by: String,
        /// The other dataset's field matched against `by`.
        matching: String,
        /// The other dataset's field taken.
        take: String,
    },
}

/// Which families a local-code field's crosswalks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeFamily {
    /// One family.
    One(Family),
    /// A hospital catalog item: drug, service item or consumable (fee details).
    Catalog,
}

impl CodeFamily {
    /// The families whose crosswalks apply.
    pub fn families(self) -> Vec<Family> {
        match self {
            CodeFamily::One(f) => vec![f],
            CodeFamily::Catalog => vec![Family::Drug, Family::Service, Family::Consumable],
        }
    }
}

/// A field of local codes and where its national code goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeField {
    /// The national field holding the local code (e.g. `medins_list_codg`).
    pub field: String,
    /// The crosswalk families.
    pub family: CodeFamily,
    /// The field the national code is written to (`med_list_codg` for catalog items; the same
    /// field otherwise, the local value then kept in `<field>_local`).
    pub national: String,
}

impl CodeField {
    /// Where the national code of a local-code field goes.
    pub fn national_field(field: &str) -> String {
        match field {
            "medins_list_codg" | "fixmedins_hilist_id" => "med_list_codg".to_string(),
            f => f.to_string(),
        }
    }
}

/// Batch limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BatchSettings {
    /// Most records in one batch.
    pub max_records: usize,
    /// Most bytes in one batch file.
    pub max_bytes: usize,
}

/// Alert thresholds: breaching one makes a completed run exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Highest acceptable dirty-data rate.
    pub dirty_rate: Option<f64>,
    /// Lowest acceptable mapping coverage.
    pub coverage: Option<f64>,
}

impl Workspace {
    /// Load and validate `DIR/yibao.toml`.
    pub fn load(root: &Path) -> Result<Workspace, ConfigErrors> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigErrors::single(ConfigError::plain(
                &path,
                if e.kind() == std::io::ErrorKind::NotFound {
                    format!("no {CONFIG_FILE} in {}", root.display())
                } else {
                    format!("cannot read {}: {e}", path.display())
                },
                Some(format!(
                    "create a workspace with `yibao init {}` or pass --workspace DIR",
                    root.display()
                )),
            ))
        })?;
        Self::parse(root, &path, text)
    }

    /// Validate the text of a yibao.toml (`path` names it in diagnostics).
    pub fn parse(root: &Path, path: &Path, text: String) -> Result<Workspace, ConfigErrors> {
        let raw: RawConfig = toml::from_str(&text)
            .map_err(|e| ConfigErrors::single(ConfigError::from_toml(path, &text, &e)))?;
        let mut v = Validator {
            path,
            text: &text,
            errors: Vec::new(),
        };
        let ws = v.workspace(root, raw);
        if v.errors.is_empty() {
            Ok(Workspace {
                config_text: text.clone(),
                ..ws
            })
        } else {
            Err(ConfigErrors { errors: v.errors })
        }
    }

    /// The dataset of that name.
    pub fn dataset(&self, name: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// The path of yibao.toml.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// A diagnostic pointing into yibao.toml (for mistakes found after loading, such as a glob
    /// that matches no file).
    pub fn error_at(
        &self,
        span: Range<usize>,
        message: String,
        label: &str,
        help: Option<String>,
    ) -> ConfigError {
        ConfigError::at(
            &self.config_path(),
            &self.config_text,
            span,
            message,
            label,
            help,
        )
    }
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn err<T>(&mut self, at: &Spanned<T>, message: String, label: &str, help: Option<String>) {
        self.errors.push(ConfigError::at(
            self.path,
            self.text,
            at.span(),
            message,
            label,
            help,
        ));
    }

    /// A lookup fill names a dataset of the workspace that maps the fields it matches and takes.
    fn check_fills(
        &mut self,
        datasets: &[Dataset],
        spans: &[(String, BTreeMap<String, Range<usize>>)],
    ) {
        for ds in datasets {
            for f in &ds.fill {
                let FillSource::Lookup {
                    from,
                    matching,
                    take,
                    ..
                } = &f.source
                else {
                    continue;
                };
                let span = spans
                    .iter()
                    .find(|(n, _)| *n == ds.name)
                    .and_then(|(_, m)| m.get(&f.field).cloned())
                    .unwrap_or(0..0);
                let problem = match datasets.iter().find(|d| d.name == *from) {
                    None => {
                        let names: Vec<&str> = datasets.iter().map(|d| d.name.as_str()).collect();
                        Some((
                            format!("`{}` is filled from dataset `{from}`, which yibao.toml does not declare", f.field),
                            did_you_mean(from, &names),
                        ))
                    }
                    Some(other) if other.name == ds.name => Some((
                        format!("`{}` is filled from its own dataset", f.field),
                        None,
                    )),
                    Some(other) => {
                        let mapped = |field: &str| other.columns.values().any(|c| c == field);
                        let lacking: Vec<&str> = [matching.as_str(), take.as_str()]
                            .into_iter()
                            .filter(|x| !mapped(x))
                            .collect();
                        (!lacking.is_empty()).then(|| {
                            (
                                format!(
                                    "`{}` is filled from `{from}`, which does not map {}",
                                    f.field,
                                    lacking
                                        .iter()
                                        .map(|x| format!("`{x}`"))
                                        .collect::<Vec<_>>()
                                        .join(" or ")
                                ),
                                Some("name the other dataset's fields with `match = \"…\"` (the one compared with `by`) and `take = \"…\"` (the one copied)".to_string()),
                            )
                        })
                    }
                };
                if let Some((message, help)) = problem {
                    self.errors.push(ConfigError::at(
                        self.path, self.text, span, message, "here", help,
                    ));
                }
            }
        }
    }

    /// A `[code_sets]` value: `"version"` or `{ version = "…", files = ["…"] }`.
    fn code_set(&mut self, set: &Spanned<toml::Value>) -> Option<(String, Vec<String>)> {
        const HELP: &str = "write `family = \"version\"`, or `family = { version = \"…\", files = [\"national/…\"] }` to import the published files on first use";
        match set.get_ref() {
            toml::Value::String(v) => Some((v.clone(), Vec::new())),
            toml::Value::Table(t) => {
                if let Some(k) = t
                    .keys()
                    .find(|k| !["version", "files"].contains(&k.as_str()))
                {
                    let help = did_you_mean(k, &["version", "files"]).or(Some(HELP.into()));
                    self.err(
                        set,
                        format!("unknown key `{k}` in a code set"),
                        "here",
                        help,
                    );
                    return None;
                }
                let Some(toml::Value::String(version)) = t.get("version") else {
                    self.err(
                        set,
                        "a code set needs `version = \"…\"`".into(),
                        "here",
                        Some(HELP.into()),
                    );
                    return None;
                };
                let files = match t.get("files") {
                    None => Vec::new(),
                    Some(toml::Value::Array(a)) if a.iter().all(toml::Value::is_str) => a
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    Some(_) => {
                        self.err(
                            set,
                            "`files` must be a list of paths".into(),
                            "here",
                            Some(HELP.into()),
                        );
                        return None;
                    }
                };
                Some((version.clone(), files))
            }
            _ => {
                self.err(
                    set,
                    "a code set is a version string or a table".into(),
                    "here",
                    Some(HELP.into()),
                );
                None
            }
        }
    }

    fn workspace(&mut self, root: &Path, raw: RawConfig) -> Workspace {
        let mut areas = Vec::new();
        for a in raw.areas {
            let code = a.code.get_ref().trim().to_string();
            if let Err(m) = Kind::AdminArea.parse(&code) {
                self.err(&a.code, format!("area code `{code}` is not a 医保区划 code: {}", m.reason), "here", Some("an area code is the 6-digit administrative division code, e.g. 320900 for 盐城市".into()));
            } else if areas.iter().any(|x: &Area| x.code == code) {
                self.err(
                    &a.code,
                    format!("area `{code}` is listed twice"),
                    "again here",
                    None,
                );
            }
            areas.push(Area {
                code,
                name: a.name.into_inner(),
            });
        }
        let mut code_sets = BTreeMap::new();
        let mut code_files = BTreeMap::new();
        for (family, set) in raw.code_sets {
            match family.get_ref().parse::<Family>() {
                Ok(f) => match self.code_set(&set) {
                    Some((version, files)) => {
                        code_sets.insert(f, version);
                        if !files.is_empty() {
                            code_files.insert(f, files.iter().map(|p| root.join(p)).collect());
                        }
                    }
                    None => continue,
                },
                Err(e) => {
                    let names: Vec<&str> = Family::ALL.iter().map(|f| f.as_str()).collect();
                    let help = did_you_mean(family.get_ref(), &names);
                    self.err(&family, e.to_string(), "not a family", help);
                }
            }
        }
        let mut datasets: Vec<Dataset> = Vec::new();
        // Where each dataset's fills are written, for the checks across datasets.
        let fill_spans: Vec<(String, BTreeMap<String, Range<usize>>)> = raw
            .datasets
            .iter()
            .map(|d| {
                (
                    d.name.get_ref().clone(),
                    d.fill
                        .iter()
                        .map(|(f, v)| (f.get_ref().clone(), v.span()))
                        .collect(),
                )
            })
            .collect();
        for d in raw.datasets {
            let name_span = d.name.span();
            if let Some(ds) = self.dataset(d, &areas) {
                if datasets.iter().any(|x| x.name == ds.name) {
                    self.errors.push(ConfigError::at(
                        self.path,
                        self.text,
                        name_span,
                        format!("dataset name `{}` is used twice", ds.name),
                        "again here",
                        Some("dataset names must be unique".into()),
                    ));
                }
                datasets.push(ds);
            }
        }
        self.check_fills(&datasets, &fill_spans);
        let positive = |v: &mut Self, x: &Option<Spanned<i64>>, default: usize| match x {
            Some(s) if *s.get_ref() < 1 => {
                v.err(
                    s,
                    format!("must be at least 1, not {}", s.get_ref()),
                    "here",
                    None,
                );
                default
            }
            Some(s) => *s.get_ref() as usize,
            None => default,
        };
        let batch = BatchSettings {
            max_records: positive(self, &raw.batch.max_records, 10_000),
            max_bytes: positive(self, &raw.batch.max_bytes, 8 * 1024 * 1024),
        };
        let mut rate = |x: Option<Spanned<f64>>| {
            let s = x?;
            let r = *s.get_ref();
            if !(0.0..=1.0).contains(&r) {
                self.err(
                    &s,
                    format!("a rate is between 0 and 1, not {r}"),
                    "here",
                    Some("write 15% as 0.15".into()),
                );
            }
            Some(r)
        };
        let thresholds = Thresholds {
            dirty_rate: rate(raw.thresholds.dirty_rate),
            coverage: rate(raw.thresholds.coverage),
        };
        Workspace {
            root: root.to_path_buf(),
            name: raw
                .workspace
                .name
                .map(|n| n.into_inner())
                .unwrap_or_else(|| {
                    root.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                }),
            out: root.join(
                raw.workspace
                    .out
                    .map(|o| o.into_inner())
                    .unwrap_or_else(|| "out".into()),
            ),
            areas,
            code_sets,
            code_files,
            datasets,
            packs: raw
                .rules
                .packs
                .into_iter()
                .map(|p| p.into_inner())
                .collect(),
            batch,
            thresholds,
            config_text: String::new(),
        }
    }

    fn dataset(&mut self, d: RawDataset, areas: &[Area]) -> Option<Dataset> {
        let name = d.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.err(
                &d.name,
                format!("dataset name `{name}` must be letters, digits, `_` or `-`"),
                "here",
                Some("the name is used in file names of reports and batches".into()),
            );
        }
        let kind = DatasetKind::parse(d.kind.get_ref());
        if kind.is_none() {
            let names: Vec<&str> = DatasetKind::ALL.iter().map(|k| k.as_str()).collect();
            let help = did_you_mean(d.kind.get_ref(), &names)
                .or_else(|| Some(format!("kinds: {}", names.join(", "))));
            self.err(
                &d.kind,
                format!("unknown dataset kind `{}`", d.kind.get_ref()),
                "not a kind",
                help,
            );
        }
        let area = match &d.area {
            Some(a) if !areas.iter().any(|x| x.code == *a.get_ref()) => {
                let codes: Vec<&str> = areas.iter().map(|x| x.code.as_str()).collect();
                self.err(
                    a,
                    format!("area `{}` is not among [[areas]]", a.get_ref()),
                    "unknown area",
                    Some(if codes.is_empty() {
                        "declare it in an [[areas]] table".to_string()
                    } else {
                        format!("areas: {}", codes.join(", "))
                    }),
                );
                None
            }
            Some(a) => Some(a.get_ref().clone()),
            None if areas.len() > 1 => {
                self.err(
                    &d.name,
                    format!(
                        "dataset `{name}` needs `area =`: the workspace has {} areas",
                        areas.len()
                    ),
                    "in this dataset",
                    None,
                );
                None
            }
            None => areas.first().map(|a| a.code.clone()),
        };
        let format = match &d.format {
            Some(f) => {
                let parsed = Format::parse(f.get_ref());
                if parsed.is_none() {
                    self.err(
                        f,
                        format!("unknown format `{}`", f.get_ref()),
                        "here",
                        did_you_mean(
                            f.get_ref(),
                            &["csv", "tsv", "xlsx", "xls", "parquet", "sqlite"],
                        ),
                    );
                }
                parsed
            }
            None => None,
        };
        let encoding = match &d.encoding {
            Some(e) if e.get_ref().eq_ignore_ascii_case("auto") => None,
            Some(e) => {
                let parsed = Encoding::parse(e.get_ref());
                if parsed.is_none() {
                    self.err(
                        e,
                        format!("unknown encoding `{}`", e.get_ref()),
                        "here",
                        Some("encodings: utf-8, gbk, gb18030, auto".into()),
                    );
                }
                parsed
            }
            None => None,
        };
        let delimiter = match &d.delimiter {
            Some(s) => match s.get_ref().as_str() {
                "\\t" | "tab" | "\t" => Some(b'\t'),
                x if x.len() == 1 => x.bytes().next(),
                x => {
                    self.err(
                        s,
                        format!("a delimiter is one character, not `{x}`"),
                        "here",
                        Some("use \",\", \"|\", \";\" or \"tab\"".into()),
                    );
                    None
                }
            },
            None => None,
        };
        let header_row = match &d.header_row {
            Some(h) if *h.get_ref() < 1 => {
                self.err(h, "header_row counts from 1".to_string(), "here", None);
                None
            }
            Some(h) => Some(*h.get_ref() as usize),
            None => None,
        };
        let sqlite = match (&d.table, &d.query) {
            (Some(t), None) => Some(SqliteSource::Table(t.get_ref().clone())),
            (None, Some(q)) => Some(SqliteSource::Query(q.get_ref().clone())),
            (Some(_), Some(q)) => {
                self.err(
                    q,
                    "give `table` or `query`, not both".to_string(),
                    "here",
                    None,
                );
                None
            }
            (None, None) => None,
        };
        let is_sqlite = format == Some(Format::Sqlite)
            || Format::from_path(Path::new(d.path.get_ref())) == Some(Format::Sqlite);
        if is_sqlite && d.table.is_none() && d.query.is_none() {
            self.err(
                &d.path,
                "a SQLite dataset needs `table = \"…\"` or `query = \"…\"`".to_string(),
                "SQLite file",
                None,
            );
        }
        let mut columns = BTreeMap::new();
        let mut column_spans = BTreeMap::new();
        let mut targets = BTreeSet::new();
        if let Some(kind) = kind {
            let fields: Vec<&str> = kind.fields().collect();
            for (source, field) in &d.columns {
                if !kind.allows(field.get_ref()) {
                    let help = did_you_mean(field.get_ref(), &fields).or_else(|| {
                        Some(format!("national field names of a {kind} dataset are listed in docs/WORKSPACE.md; local extras start with x_"))
                    });
                    self.err(
                        field,
                        format!("`{}` is not a field of a {kind} dataset", field.get_ref()),
                        "unknown field",
                        help,
                    );
                } else if !targets.insert(field.get_ref().clone()) {
                    self.err(
                        field,
                        format!("two columns are mapped onto `{}`", field.get_ref()),
                        "again here",
                        None,
                    );
                }
                columns.insert(source.get_ref().clone(), field.get_ref().clone());
                column_spans.insert(source.get_ref().clone(), source.span());
            }
        } else {
            // The kind is already reported; the fields are still mapped, so the code and key
            // checks below say only what is really missing (issue 16 item 10).
            targets.extend(d.columns.values().map(|f| f.get_ref().clone()));
        }
        let mut codes = Vec::new();
        for (field, family) in &d.codes {
            if !targets.contains(field.get_ref()) {
                self.err(
                    field,
                    format!(
                        "code field `{}` is not mapped from any column",
                        field.get_ref()
                    ),
                    "not in [datasets.columns]",
                    Some("map a source column onto it under [datasets.columns]".into()),
                );
                continue;
            }
            let fam = match family.get_ref().as_str() {
                "catalog" => Some(CodeFamily::Catalog),
                f => f.parse::<Family>().ok().map(CodeFamily::One),
            };
            match fam {
                Some(fam) => codes.push(CodeField {
                    field: field.get_ref().clone(),
                    family: fam,
                    national: CodeField::national_field(field.get_ref()),
                }),
                None => {
                    let names = [
                        "diagnosis",
                        "procedure",
                        "service",
                        "drug",
                        "consumable",
                        "catalog",
                    ];
                    let help = did_you_mean(family.get_ref(), &names)
                        .or_else(|| Some(format!("families: {}", names.join(", "))));
                    self.err(
                        family,
                        format!("unknown code family `{}`", family.get_ref()),
                        "not a family",
                        help,
                    );
                }
            }
        }
        let mut fill = Vec::new();
        for (field, f) in &d.fill {
            if let Some(kind) = kind {
                if !kind.allows(field.get_ref()) {
                    let fields: Vec<&str> = kind.fields().collect();
                    let help = did_you_mean(field.get_ref(), &fields);
                    self.err(
                        field,
                        format!("`{}` is not a field of a {kind} dataset", field.get_ref()),
                        "unknown field",
                        help,
                    );
                    continue;
                }
            }
            let f = f.get_ref();
            let source = match (&f.value, &f.from, &f.by) {
                (Some(v), None, None) if f.matching.is_none() && f.take.is_none() => {
                    FillSource::Value(v.get_ref().clone())
                }
                (None, Some(from), Some(by)) => {
                    if !targets.contains(by.get_ref()) {
                        self.err(
                            by,
                            format!(
                                "`{}` is not mapped from any column, so nothing can be looked up by it",
                                by.get_ref()
                            ),
                            "not in [datasets.columns]",
                            Some("map a source column onto it under [datasets.columns]".into()),
                        );
                        continue;
                    }
                    FillSource::Lookup {
                        from: from.get_ref().clone(),
                        by: by.get_ref().clone(),
                        matching: f
                            .matching
                            .as_ref()
                            .map_or_else(|| by.get_ref().clone(), |m| m.get_ref().clone()),
                        take: f
                            .take
                            .as_ref()
                            .map_or_else(|| field.get_ref().clone(), |t| t.get_ref().clone()),
                    }
                }
                _ => {
                    self.err(
                        field,
                        format!("`{}` is filled from nothing it can use", field.get_ref()),
                        "here",
                        Some("write `{ value = \"…\" }`, or `{ from = \"<dataset>\", by = \"<field>\" }` with `match` and `take` when the other dataset names its fields differently".into()),
                    );
                    continue;
                }
            };
            fill.push(Fill {
                field: field.get_ref().clone(),
                source,
            });
        }
        let mut key = Vec::new();
        for k in &d.key {
            if !targets.contains(k.get_ref()) {
                self.err(
                    k,
                    format!("key field `{}` is not mapped from any column", k.get_ref()),
                    "not in [datasets.columns]",
                    Some("map a source column onto it under [datasets.columns]".into()),
                );
            }
            key.push(k.get_ref().clone());
        }
        Some(Dataset {
            name,
            area,
            kind: kind?,
            path: d.path.get_ref().clone(),
            path_span: d.path.span(),
            format,
            encoding,
            delimiter,
            sheet: d.sheet.map(|s| s.into_inner()),
            header_row,
            sqlite,
            key,
            columns,
            column_spans,
            codes,
            fill,
        })
    }
}
