//! What `national-code` rules check a code against: its structure (the family parsers of
//! `crate::codes`), and, for the five families, the loaded code-set versions — present, and not
//! retired in the version in force at the record's date.
//!
//! Versions whose names are dates (`20240701`, `2024-07-01`, `202407`) are in force from that
//! date; a record dated before the first one is checked against the first. Other version names
//! (`2.0`) are checked as the workspace's pinned or latest version.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::codes::{Family, Kind};

/// What a `national-code` rule's `family` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// One of the five families.
    Family(Family),
    /// Drug, service or consumable: whichever the code is.
    Catalog,
    /// An identifier kind (doctor, institution...): structure only.
    Ident(Kind),
}

impl Target {
    /// Parse the name written in a pack.
    pub fn parse(s: &str) -> Option<Target> {
        if s == "catalog" {
            return Some(Target::Catalog);
        }
        if let Ok(f) = s.parse::<Family>() {
            return Some(Target::Family(f));
        }
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .map(Target::Ident)
    }

    /// The families whose code sets apply.
    pub fn families(self) -> Vec<Family> {
        match self {
            Target::Family(f) => vec![f],
            Target::Catalog => vec![Family::Drug, Family::Service, Family::Consumable],
            Target::Ident(_) => Vec::new(),
        }
    }

    /// True when `code` is well-formed for this target.
    pub fn well_formed(self, code: &str) -> bool {
        match self {
            Target::Family(f) => f.parse(code).is_ok_and(|p| p.is_well_formed()),
            Target::Catalog => [Family::Drug, Family::Service, Family::Consumable]
                .into_iter()
                .any(|f| f.parse(code).is_ok_and(|p| p.is_well_formed())),
            Target::Ident(k) => k.parse(code).is_ok_and(|p| p.is_well_formed()),
        }
    }
}

/// The loaded versions of one or more families, for membership at a date.
#[derive(Debug, Default, Clone)]
pub struct CodeBook {
    /// Version names with the date each is in force from (None: undated), oldest first.
    pub versions: Vec<(String, Option<NaiveDate>)>,
    /// The version checked when the record has no date or versions are undated.
    pub current: usize,
    /// Code -> (version index, retired in that version).
    codes: HashMap<String, Vec<(u16, bool)>>,
    /// Code -> name in the current version.
    pub names: HashMap<String, String>,
}

impl CodeBook {
    /// Add a version's codes (code -> retired flag). Call oldest first; `current` marks the
    /// version to use when no date decides.
    pub fn add_version(&mut self, name: &str, codes: HashMap<String, bool>, current: bool) {
        let idx = self.versions.len() as u16;
        self.versions.push((name.to_string(), version_date(name)));
        if current {
            self.current = idx as usize;
        }
        for (code, retired) in codes {
            self.codes.entry(code).or_default().push((idx, retired));
        }
    }

    /// True when no version is loaded.
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// The version in force at `date` (the current one when undated).
    fn version_at(&self, date: Option<NaiveDate>) -> usize {
        let Some(d) = date else {
            return self.current;
        };
        if self.versions.iter().any(|(_, v)| v.is_none()) {
            return self.current;
        }
        let mut pick = 0;
        for (i, (_, from)) in self.versions.iter().enumerate() {
            if from.is_some_and(|f| f <= d) {
                pick = i;
            }
        }
        pick
    }

    /// True when `code` is in the version in force at `date` and not retired there.
    pub fn valid_at(&self, code: &str, date: Option<NaiveDate>) -> bool {
        let v = self.version_at(date) as u16;
        self.codes
            .get(code)
            .is_some_and(|list| list.iter().any(|&(i, retired)| i == v && !retired))
    }
}

/// Every loaded version of every family in the store, the workspace's pinned version (else the
/// latest) marked current. Returns the books and the current version per family.
pub fn load_books(
    store: &crate::store::Store,
    pinned: &std::collections::BTreeMap<Family, String>,
) -> Result<
    (
        HashMap<Family, std::sync::Arc<CodeBook>>,
        std::collections::BTreeMap<Family, String>,
    ),
    crate::store::StoreError,
> {
    let mut books = HashMap::new();
    let mut current = std::collections::BTreeMap::new();
    for family in Family::ALL {
        let sets = store.code_sets(family)?;
        if sets.is_empty() {
            continue;
        }
        let Some(cur) = store.version_for(family, pinned.get(&family).map(String::as_str))? else {
            continue;
        };
        let mut book = CodeBook::default();
        for set in &sets {
            let codes = store.code_statuses(family, &set.version)?;
            book.add_version(&set.version, codes, set.version == cur);
        }
        // A code the table gives no name (a consumable list whose 医保通用名 is empty) has
        // nothing to agree with: `name-agrees` leaves it alone.
        book.names = store
            .codes_of(family, &cur)?
            .into_iter()
            .filter(|(_, name, _)| !name.is_empty())
            .map(|(code, name, _)| (code, name))
            .collect();
        current.insert(family, cur);
        books.insert(family, std::sync::Arc::new(book));
    }
    Ok((books, current))
}

/// How alike two item names are, 0..1: character-bigram Dice after the fold `map suggest` uses
/// ([`crate::mapping::suggest::normalise::fold`]: NFKC, traditional → simplified, numerals,
/// brackets, case) with spaces, brackets and punctuation dropped; 1 when one contains the other.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    use crate::mapping::suggest::normalise::{fold, squash};
    let (a, b) = (squash(&fold(a)), squash(&fold(b)));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a.contains(&b) || b.contains(&a) {
        return 1.0;
    }
    strsim::sorensen_dice(&a, &b)
}

/// The date a version name stands for, when it is one.
pub fn version_date(name: &str) -> Option<NaiveDate> {
    let digits: String = name.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() != name.chars().filter(|c| *c != '-' && *c != '/').count() {
        return None;
    }
    match digits.len() {
        8 => NaiveDate::parse_from_str(&digits, "%Y%m%d").ok(),
        6 => NaiveDate::parse_from_str(&format!("{digits}01"), "%Y%m%d").ok(),
        _ => None,
    }
}

/// The date part of a field value (`YYYY-MM-DD...`).
pub fn date_of(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.get(..10)?, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_versions_pick_the_one_in_force() {
        let mut book = CodeBook::default();
        book.add_version(
            "20240101",
            HashMap::from([("A".into(), false), ("B".into(), false)]),
            false,
        );
        book.add_version(
            "20240701",
            HashMap::from([("A".into(), false), ("B".into(), true)]),
            true,
        );
        let d = |s| date_of(s);
        assert!(book.valid_at("B", d("2024-03-01")));
        assert!(!book.valid_at("B", d("2024-08-01")));
        assert!(
            book.valid_at("B", d("2023-01-01")),
            "before the first version: the first"
        );
        assert!(
            !book.valid_at("B", None),
            "undated record: the current version"
        );
        assert!(!book.valid_at("C", d("2024-03-01")));
    }

    #[test]
    fn names_agree_across_legacy_spelling() {
        assert_eq!(
            name_similarity("阿莫西林胶囊（0.25g）", "阿莫西林胶囊"),
            1.0
        );
        assert!(name_similarity("盐酸左氧氟沙星片", "左氧氟沙星片") >= 0.5);
        assert!(name_similarity("阿莫西林胶囊", "氯化钾注射液") < 0.2);
    }

    #[test]
    fn i19_1_code_book_folds_as_suggest_does() {
        // Traditional characters, Roman numerals and full-width letters: the same name.
        assert_eq!(name_similarity("頸椎病", "颈椎病"), 1.0);
        assert_eq!(name_similarity("Ⅱ型糖尿病", "2型糖尿病"), 1.0);
        assert_eq!(name_similarity("ＶＣ片", "vc片"), 1.0);
    }

    #[test]
    fn version_names() {
        assert_eq!(
            version_date("20240701"),
            NaiveDate::from_ymd_opt(2024, 7, 1)
        );
        assert_eq!(
            version_date("2024-07-01"),
            NaiveDate::from_ymd_opt(2024, 7, 1)
        );
        assert_eq!(version_date("202407"), NaiveDate::from_ymd_opt(2024, 7, 1));
        assert_eq!(version_date("2.0"), None);
        assert_eq!(version_date("v20240701"), None);
    }
}
