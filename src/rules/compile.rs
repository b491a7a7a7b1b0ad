//! Rules compiled to polars expressions over a typed frame: each rule becomes one boolean column
//! "this record fails", so a dataset's whole pack is evaluated in one pass.
//!
//! The frame is typed first (`typed_columns`): amounts and counts become numbers, dates and
//! times become temporal values, and `__bad_<field>` marks a value present in the source but not
//! parseable as its type. SQL in `when`, `then` and `expr` therefore compares numbers as numbers
//! and dates as dates.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use super::codebook::{date_of, name_similarity, CodeBook, Target};
use super::{RepeatedKey, Rule, RuleKind};
use crate::codes::Family;
use crate::mapping::apply::map_column;
use crate::workspace::{field_type, DatasetKind, FieldType};

/// What compiling needs from outside the record: code sets, dictionaries, other datasets, and
/// the date "today" means.
pub struct Context {
    /// Loaded code-set versions per family.
    pub books: HashMap<Family, Arc<CodeBook>>,
    /// Dictionaries per pack name.
    pub dictionaries: HashMap<String, BTreeMap<String, Vec<String>>>,
    /// Distinct values of a field of the datasets of a kind (for `reference`), as sorted
    /// digests on disk (`rules::positions`).
    pub references: HashMap<(DatasetKind, String), Arc<super::positions::Targets>>,
    /// The date a `"today"` bound stands for: Beijing's ([`crate::clock::today`]).
    pub today: NaiveDate,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            books: HashMap::new(),
            dictionaries: HashMap::new(),
            references: HashMap::new(),
            today: crate::clock::today(),
        }
    }
}

/// The name of the column holding a `detail-sum` rule's summed lines.
pub fn detail_sum_column(rule: &str) -> String {
    format!("__sum_{rule}")
}

/// The column flagging a present but unparseable value of a typed field.
pub fn bad_column(field: &str) -> String {
    format!("__bad_{field}")
}

/// How a canonical field is typed for rules.
pub fn rule_type(field: &str) -> Option<DataType> {
    match field_type(field) {
        FieldType::Amount | FieldType::Number => Some(DataType::Float64),
        FieldType::Date => Some(DataType::Date),
        FieldType::DateTime => Some(DataType::Datetime(TimeUnit::Microseconds, None)),
        _ => None,
    }
}

/// Expressions typing the string columns of `schema` that are typed canonical fields, with
/// their `__bad_` flags. Evaluate them in one `with_columns`: each reads the raw string.
pub fn typed_columns(schema: &Schema) -> (Vec<Expr>, HashSet<String>) {
    let mut exprs = Vec::new();
    let mut typed = HashSet::new();
    for (name, dtype) in schema.iter() {
        if dtype != &DataType::String || name.starts_with('_') {
            continue;
        }
        let Some(t) = rule_type(name) else { continue };
        let raw = col(name.clone());
        let value = match &t {
            DataType::Date => raw.clone().str().to_date(StrptimeOptions {
                format: Some("%Y-%m-%d".into()),
                strict: false,
                exact: false,
                cache: true,
            }),
            DataType::Datetime(_, _) => raw
                .clone()
                .str()
                .to_datetime(
                    Some(TimeUnit::Microseconds),
                    None,
                    StrptimeOptions {
                        format: Some("%Y-%m-%d %H:%M:%S".into()),
                        strict: false,
                        exact: true,
                        cache: true,
                    },
                    lit("raise"),
                )
                .fill_null(
                    raw.clone()
                        .str()
                        .to_date(StrptimeOptions {
                            format: Some("%Y-%m-%d".into()),
                            strict: false,
                            exact: true,
                            cache: true,
                        })
                        .cast(t.clone()),
                ),
            _ => raw.clone().str().strip_chars(lit(NULL)).cast(t.clone()),
        };
        exprs.push(
            raw.clone()
                .is_not_null()
                .and(value.clone().is_null())
                .alias(bad_column(name)),
        );
        exprs.push(value.alias(name.clone()));
        typed.insert(name.to_string());
    }
    (exprs, typed)
}

/// A rule ready to evaluate.
pub struct Compiled {
    /// True where the record is one the rule applies to.
    pub applies: Expr,
    /// True where the record fails (already restricted to `applies`).
    pub fails: Expr,
}

/// The rule as it runs on a frame with `schema`, checking what is present: an `identifier`
/// rule only the fields the frame has, a `date-order` rule the dates it has (two at least), a
/// `national-code` rule without its `date_field` against the current version
/// (`missing_fields` skips a rule left with nothing to check; `narrowing` says what was left
/// out).
pub fn narrowed<'r>(rule: &'r Rule, schema: &Schema) -> std::borrow::Cow<'r, Rule> {
    let present = |fields: &[String]| -> Vec<String> {
        fields
            .iter()
            .filter(|f| schema.contains(f))
            .cloned()
            .collect()
    };
    let kind = match &rule.kind {
        RuleKind::Identifier { fields } if fields.iter().any(|f| !schema.contains(f)) => {
            RuleKind::Identifier {
                fields: present(fields),
            }
        }
        RuleKind::DateOrder { fields } if fields.iter().any(|f| !schema.contains(f)) => {
            RuleKind::DateOrder {
                fields: present(fields),
            }
        }
        RuleKind::NationalCode {
            field,
            family,
            present,
            date_field: Some(d),
        } if !schema.contains(d) => RuleKind::NationalCode {
            field: field.clone(),
            family: family.clone(),
            present: *present,
            date_field: None,
        },
        _ => return std::borrow::Cow::Borrowed(rule),
    };
    let mut r = rule.clone();
    r.kind = kind;
    std::borrow::Cow::Owned(r)
}

/// What a rule leaves out on a frame with `schema` because a field it reads is absent, for a
/// person reading the report (empty when it runs as written, or does not run at all).
pub fn narrowing(rule: &Rule, schema: &Schema) -> Vec<String> {
    let absent = |fields: &[String]| -> Vec<String> {
        fields
            .iter()
            .filter(|f| !schema.contains(f))
            .cloned()
            .collect()
    };
    match &rule.kind {
        // An `identifier` rule is defined over the fields the dataset has: nothing to say.
        RuleKind::DateOrder { fields } => {
            let gone = absent(fields);
            if gone.is_empty() || !missing_fields(rule, schema).is_empty() {
                return Vec::new();
            }
            vec![format!(
                "checked without {} (not in this dataset)",
                gone.join(", ")
            )]
        }
        RuleKind::NationalCode {
            field,
            date_field: Some(d),
            ..
        } if !schema.contains(d) && schema.contains(field) => vec![format!(
            "codes checked against the current version: {d} is not in this dataset"
        )],
        _ => Vec::new(),
    }
}

/// Why a rule cannot run on a dataset.
pub fn missing_fields(rule: &Rule, schema: &Schema) -> Vec<String> {
    let mut needed: Vec<String> = rule.kind.fields().iter().map(|f| f.to_string()).collect();
    match &rule.kind {
        // Checks the fields there are; needs at least one.
        RuleKind::Identifier { fields } if fields.iter().any(|f| schema.contains(f)) => {
            needed.clear();
        }
        // Checks the dates there are; needs two to compare.
        RuleKind::DateOrder { fields }
            if fields.iter().filter(|f| schema.contains(f)).count() >= 2 =>
        {
            needed.clear();
        }
        // Without its date, a code is checked against the current version.
        RuleKind::NationalCode {
            field,
            date_field: Some(_),
            ..
        } => needed = vec![field.clone()],
        _ => {}
    }
    if let RuleKind::Mapped { field } = &rule.kind {
        needed.push(map_column(field));
    }
    for sql in [rule.when.as_deref(), sql_of(&rule.kind)]
        .into_iter()
        .flatten()
    {
        if let Ok(e) = polars::sql::sql_expr(sql) {
            needed.extend(e.meta().root_names().iter().map(|n| n.to_string()));
        }
    }
    needed.sort();
    needed.dedup();
    needed.into_iter().filter(|f| !schema.contains(f)).collect()
}

fn sql_of(kind: &RuleKind) -> Option<&str> {
    match kind {
        RuleKind::CrossField { then, .. } => Some(then),
        RuleKind::Expression { expr } => Some(expr),
        _ => None,
    }
}

fn sql(text: &str) -> PolarsResult<Expr> {
    polars::sql::sql_expr(text)
}

/// Compile a rule for a frame whose typed fields are `typed`.
pub fn compile(rule: &Rule, typed: &HashSet<String>, ctx: &Context) -> PolarsResult<Compiled> {
    let applies = match &rule.when {
        Some(w) => sql(w)?.fill_null(lit(false)),
        None => lit(true),
    };
    let is_typed = |f: &str| typed.contains(f);
    let fails = match &rule.kind {
        RuleKind::Required { fields } => any(fields.iter().map(|f| {
            let missing = col(f.as_str()).is_null();
            if is_typed(f) {
                missing.and(col(bad_column(f)).not())
            } else {
                missing
            }
        }))?,
        RuleKind::Pattern { field, regex } => {
            let text = col(field.as_str()).cast(DataType::String);
            text.clone().is_not_null().and(
                text.str()
                    .contains(lit(format!("^(?:{regex})$")), true)
                    .not(),
            )
        }
        RuleKind::NationalCode {
            field,
            family,
            present,
            date_field,
        } => {
            let target = Target::parse(family)
                .ok_or_else(|| polars_err!(ComputeError: "unknown family {family}"))?;
            let books: Vec<Arc<CodeBook>> = target
                .families()
                .iter()
                .filter_map(|f| ctx.books.get(f).cloned())
                .collect();
            let check_presence = present.unwrap_or(true) && !books.is_empty();
            let check = move |code: &str, date: Option<NaiveDate>| -> bool {
                let code = code.trim();
                if !target.well_formed(code) {
                    return true;
                }
                if check_presence {
                    return !books.iter().any(|b| b.valid_at(code, date));
                }
                false
            };
            // A typed date goes in as its day number: formatting every datetime as text for
            // the version lookup to parse it back cost about 4% of a check's CPU.
            let date = date_field.as_deref().map(|d| {
                if is_typed(d) {
                    Dated::Days(col(d).cast(DataType::Date).cast(DataType::Int32))
                } else {
                    Dated::Text(col(d).cast(DataType::String))
                }
            });
            udf_dated_fails(col(field.as_str()).cast(DataType::String), date, check)
        }
        RuleKind::NameAgrees {
            field,
            name_field,
            family,
            min_similarity,
        } => {
            let target = Target::parse(family)
                .ok_or_else(|| polars_err!(ComputeError: "unknown family {family}"))?;
            let books: Vec<Arc<CodeBook>> = target
                .families()
                .iter()
                .filter_map(|f| ctx.books.get(f).cloned())
                .collect();
            let min = min_similarity.unwrap_or(0.5);
            let check = move |code: &str, name: Option<&str>| -> bool {
                let (Some(name), Some(national)) =
                    (name, books.iter().find_map(|b| b.names.get(code.trim())))
                else {
                    return false;
                };
                name_similarity(name, national) < min
            };
            udf_fails(
                col(field.as_str()).cast(DataType::String),
                Some(col(name_field.as_str()).cast(DataType::String)),
                check,
            )
        }
        RuleKind::Identifier { fields } => {
            if fields.is_empty() {
                return Ok(Compiled {
                    applies,
                    fails: lit(false),
                });
            }
            // `codes::damage::excel_damage` on each value: one pass over the bytes, where the
            // four regular expressions it equals (`codes::damage::SCIENTIFIC`…, kept for SQL
            // engines) scanned every identifier of every record four times.
            any(fields.iter().map(|f| {
                col(f.as_str()).cast(DataType::String).map(
                    |c| {
                        let s = c.as_materialized_series().str()?.clone();
                        let out: BooleanChunked = s
                            .iter()
                            .map(|v| {
                                Some(v.is_some_and(|v| {
                                    crate::codes::damage::excel_damage(v).is_some()
                                }))
                            })
                            .collect();
                        Ok(out.with_name(s.name().clone()).into_column())
                    },
                    |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
                )
            }))?
        }
        RuleKind::CheckDigit { field, scheme } => {
            let scheme = *scheme;
            udf_fails(
                col(field.as_str()).cast(DataType::String),
                None,
                move |code: &str, _| !scheme.parse(code).is_ok_and(|p| p.is_well_formed()),
            )
        }
        RuleKind::Mapped { field } => col(field.as_str())
            .is_not_null()
            .and(col(map_column(field)).is_null()),
        RuleKind::Allowed {
            field,
            values,
            dictionary,
        } => {
            let list: Vec<String> = match dictionary {
                Some(d) => ctx
                    .dictionaries
                    .get(&rule.pack)
                    .and_then(|ds| ds.get(d))
                    .cloned()
                    .unwrap_or_default(),
                None => values.clone(),
            };
            let set = Series::new("allowed".into(), list);
            let text = col(field.as_str()).cast(DataType::String);
            text.clone()
                .is_not_null()
                .and(text.is_in(lit(set).implode(false), false).not())
        }
        RuleKind::Range { field, min, max } => range(field, min, max, is_typed(field), ctx.today)?,
        RuleKind::DateOrder { fields } => {
            let ts =
                |f: &String| col(f.as_str()).cast(DataType::Datetime(TimeUnit::Microseconds, None));
            let mut pairs = Vec::new();
            for i in 0..fields.len() {
                for j in i + 1..fields.len() {
                    pairs.push(ts(&fields[i]).gt(ts(&fields[j])));
                }
            }
            any(pairs)?
        }
        RuleKind::Sum {
            total,
            parts,
            tolerance,
        } => {
            let sum = polars::lazy::dsl::sum_horizontal(
                parts
                    .iter()
                    .map(|p| col(p.as_str()).cast(DataType::Float64))
                    .collect::<Vec<_>>(),
                false,
            )?;
            (col(total.as_str()).cast(DataType::Float64) - sum)
                .abs()
                .gt(lit(tolerance.unwrap_or(0.01) + 1e-9))
        }
        RuleKind::DetailSum {
            total, tolerance, ..
        } => (col(total.as_str()).cast(DataType::Float64)
            - col(detail_sum_column(&rule.id)).fill_null(lit(0.0)))
        .abs()
        .gt(lit(tolerance.unwrap_or(0.01) + 1e-9)),
        RuleKind::CrossField {
            field,
            prefixes,
            then,
        } => {
            let code = col(field.as_str())
                .cast(DataType::String)
                .str()
                .to_uppercase();
            let hit = any(prefixes.iter().map(|p| {
                code.clone()
                    .str()
                    .starts_with(lit(p.to_uppercase()))
                    .fill_null(lit(false))
            }))?;
            hit.and(sql(then)?.fill_null(lit(true)).not())
        }
        RuleKind::Unique { fields, repeats } => {
            let key = if fields.len() == 1 {
                col(fields[0].as_str())
            } else {
                as_struct(fields.iter().map(|f| col(f.as_str())).collect())
            };
            let present = all(fields.iter().map(|f| col(f.as_str()).is_not_null()))?;
            present.and(match repeats {
                RepeatedKey::Later => key.is_first_distinct().not(),
                RepeatedKey::All => key.is_duplicated(),
            })
        }
        RuleKind::Reference { field, .. } => {
            // Judged by position (`engine`, `positions::Misses`): which records' values the
            // target lacks is known only against the whole target, sorted on disk. Here only
            // which records the rule can fail.
            col(field.as_str()).cast(DataType::String).is_not_null()
        }
        RuleKind::Expression { expr } => sql(expr)?.fill_null(lit(true)).not(),
    };
    Ok(Compiled {
        applies: applies.clone(),
        fails: applies.and(fails.fill_null(lit(false))),
    })
}

fn any(exprs: impl IntoIterator<Item = Expr>) -> PolarsResult<Expr> {
    let v: Vec<Expr> = exprs.into_iter().collect();
    if v.len() == 1 {
        return Ok(v.into_iter().next().unwrap_or(lit(false)));
    }
    any_horizontal(v)
}

fn all(exprs: impl IntoIterator<Item = Expr>) -> PolarsResult<Expr> {
    let v: Vec<Expr> = exprs.into_iter().collect();
    if v.len() == 1 {
        return Ok(v.into_iter().next().unwrap_or(lit(true)));
    }
    all_horizontal(v)
}

fn range(
    field: &str,
    min: &Option<toml::Value>,
    max: &Option<toml::Value>,
    typed: bool,
    today: NaiveDate,
) -> PolarsResult<Expr> {
    let is_date = matches!(
        rule_type(field),
        Some(DataType::Date) | Some(DataType::Datetime(_, _))
    );
    let bound = |v: &toml::Value| -> PolarsResult<Expr> {
        if is_date {
            let s = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            if s == "today" {
                return Ok(lit(today));
            }
            let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| polars_err!(ComputeError: "`{s}` is not a YYYY-MM-DD date"))?;
            Ok(lit(d))
        } else {
            let n = v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| polars_err!(ComputeError: "`{v}` is not a number"))?;
            Ok(lit(n))
        }
    };
    let value = if is_date {
        col(field).cast(DataType::Date)
    } else {
        col(field).cast(DataType::Float64)
    };
    let mut out = if typed {
        col(bad_column(field))
    } else {
        // An untyped field: present but not a number is a failure too.
        col(field).is_not_null().and(value.clone().is_null())
    };
    if let Some(m) = min {
        out = out.or(value.clone().lt(bound(m)?).fill_null(lit(false)));
    }
    if let Some(m) = max {
        out = out.or(value.gt(bound(m)?).fill_null(lit(false)));
    }
    Ok(out)
}

/// A failure test run in Rust over a string column (and an optional second one), cached per
/// distinct value within a chunk: codes repeat, so most rows cost a hash lookup.
/// A record's date as a `national-code` rule reads it.
enum Dated {
    /// Days since 1970-01-01 (a typed date or datetime).
    Days(Expr),
    /// Text whose first ten characters are `YYYY-MM-DD`.
    Text(Expr),
}

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_CE_DAYS: i32 = 719_163;

/// Like [`udf_fails`] for a check of a code at a date: `check(code, date)`, cached per code
/// and day.
fn udf_dated_fails<F>(value: Expr, date: Option<Dated>, check: F) -> Expr
where
    F: Fn(&str, Option<NaiveDate>) -> bool + Send + Sync + 'static,
{
    let (args, days): (Vec<Expr>, bool) = match date {
        None => (Vec::new(), false),
        Some(Dated::Days(e)) => (vec![e], true),
        Some(Dated::Text(e)) => (vec![e], false),
    };
    let has_date = !args.is_empty();
    value.map_many(
        move |cols: &mut [Column]| {
            let codes = cols[0].as_materialized_series().str()?.clone();
            let n = codes.len();
            let day_of = |d: NaiveDate| d.num_days_from_ce() - EPOCH_CE_DAYS;
            let dates: Vec<Option<i32>> = if !has_date {
                vec![None; n]
            } else if days {
                cols[1].as_materialized_series().i32()?.iter().collect()
            } else {
                cols[1]
                    .as_materialized_series()
                    .str()?
                    .iter()
                    .map(|d| d.and_then(date_of).map(day_of))
                    .collect()
            };
            let mut cache: HashMap<(&str, Option<i32>), bool> = HashMap::new();
            let mut out: Vec<bool> = Vec::with_capacity(n);
            for (code, day) in codes.iter().zip(dates) {
                let Some(code) = code else {
                    out.push(false);
                    continue;
                };
                if cache.len() > 200_000 {
                    cache.clear();
                }
                let v = *cache.entry((code, day)).or_insert_with(|| {
                    let date =
                        day.and_then(|d| NaiveDate::from_num_days_from_ce_opt(d + EPOCH_CE_DAYS));
                    check(code, date)
                });
                out.push(v);
            }
            Ok(Column::new(codes.name().clone(), out))
        },
        &args,
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::Boolean)),
    )
}

/// A rule judged by a Rust function of the record's text value (and a second text, such as the
/// item's name): `check(value, second)` is true where the record fails, cached per pair.
fn udf_fails<F>(value: Expr, second: Option<Expr>, check: F) -> Expr
where
    F: Fn(&str, Option<&str>) -> bool + Send + Sync + 'static,
{
    let has_second = second.is_some();
    let args: Vec<Expr> = second.into_iter().collect();
    value.map_many(
        move |cols: &mut [Column]| {
            let codes = cols[0].as_materialized_series().str()?.clone();
            let dates = if has_second {
                Some(cols[1].as_materialized_series().str()?.clone())
            } else {
                None
            };
            let mut cache: HashMap<(&str, Option<&str>), bool> = HashMap::new();
            let mut out: Vec<bool> = Vec::with_capacity(codes.len());
            let mut dates_iter = dates.as_ref().map(|d| d.iter());
            for code in codes.iter() {
                let date = dates_iter.as_mut().and_then(|it| it.next()).flatten();
                let Some(code) = code else {
                    out.push(false);
                    continue;
                };
                if cache.len() > 200_000 {
                    cache.clear();
                }
                let key = (code, date);
                let v = match cache.get(&key) {
                    Some(v) => *v,
                    None => {
                        let v = check(code, date);
                        cache.insert(key, v);
                        v
                    }
                };
                out.push(v);
            }
            Ok(Column::new(codes.name().clone(), out))
        },
        &args,
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::Boolean)),
    )
}
