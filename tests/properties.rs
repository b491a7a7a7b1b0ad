//! Property tests of every parser that reads what users and disks hand yibao (issue 16): the
//! national code parsers, yibao.toml, rule packs, crosswalks and the stored suggestion index.
//! For any input nothing panics and the parser's own promise holds: valid codes round-trip into
//! their parts, check characters catch what their algorithm catches, a config or pack mistake
//! is a diagnostic whose span lies inside the source, a valid crosswalk reads back as written,
//! and a corrupt index costs at most a small multiple of its size in memory.
//!
//! CI runs each property at `PROPTEST_CASES` cases (256 unless set). A long run bounds time
//! instead: `YIBAO_PROPTEST_SECONDS=600 PROPTEST_CASES=100000000 cargo test --test properties
//! NAME -- --nocapture` runs batches until the time is up and prints the cases run
//! (docs/TESTING.md).

#[path = "common/props.rs"]
mod props;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Debug;
use std::path::Path;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use props::*;
use yibao::codes::{detect, Detection, Kind, Parsed};
use yibao::mapping::crosswalk::{Crosswalk, Mapping};
use yibao::mapping::load::{read_crosswalk, LoadError};
use yibao::mapping::suggest::index::Index;
use yibao::mapping::suggest::search::{Query, Scratch};
use yibao::{codes::Family, mapping::gather::Local, rules::pack, workspace::Workspace};

// ---- the runner: a case count for CI, a time bound for long runs -------------------------

fn env_num(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Run `test` over `strategy`: `PROPTEST_CASES` cases (256 by default); with
/// `YIBAO_PROPTEST_SECONDS`, fresh batches of 1,000 until that time has passed or the case
/// count is reached. `test` names what happened to each input it tried (`diagnostic`,
/// `parsed`…); the tally is printed as `property NAME: N cases in S s, 0 failures, 0 panics
/// (diagnostic 200, parsed 56)` (with --nocapture).
fn check<S>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<Vec<&'static str>, TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let tally = std::sync::Mutex::new(std::collections::BTreeMap::<&str, u64>::new());
    let counted = |v: S::Value| {
        let outcomes = test(v)?;
        if let Ok(mut t) = tally.lock() {
            for o in outcomes {
                *t.entry(o).or_default() += 1;
            }
        }
        Ok(())
    };
    let cases = env_num("PROPTEST_CASES").unwrap_or(256);
    let seconds = env_num("YIBAO_PROPTEST_SECONDS");
    let start = Instant::now();
    let mut run = 0u64;
    while run < cases {
        let batch = if seconds.is_some() {
            (cases - run).min(1000)
        } else {
            cases - run
        };
        let mut runner = TestRunner::new(Config {
            cases: batch as u32,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(e) = runner.run(&strategy, counted) {
            panic!("property {name}: failed after {run} passing cases: {e}");
        }
        run += batch;
        if seconds.is_some_and(|s| start.elapsed().as_secs() >= s) {
            break;
        }
    }
    let tally = tally.into_inner().unwrap_or_default();
    let outcomes: Vec<String> = tally.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!(
        "property {name}: {run} cases in {:.1}s, 0 failures, 0 panics ({})",
        start.elapsed().as_secs_f64(),
        outcomes.join(", ")
    );
}

// ---- an allocator that counts, per thread, the peak of live bytes --------------------------

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let v = live.get() + delta;
        live.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        account(l.size() as isize);
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        account(l.size() as isize);
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        account(-(l.size() as isize));
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        account(new as isize - l.size() as isize);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// `f`'s result and the most bytes it held live at once on this thread.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let t = f();
    (t, (PEAK.with(Cell::get) - base).max(0) as usize)
}

// ---- code parsers -------------------------------------------------------------------------

/// What explain shows must be the code: segments in order, each the canonical text at its
/// span, and between them only the separators `.`, `-`, `+`, `*`.
fn parts_give_back(p: &Parsed) -> Result<(), TestCaseError> {
    let mut at = 0;
    for s in &p.segments {
        prop_assert!(s.span.start >= at && s.span.end >= s.span.start, "{p:?}");
        let text = p.canonical.get(s.span.clone());
        prop_assert_eq!(text, Some(s.text.as_str()), "{:?}", p);
        let gap = &p.canonical[at..s.span.start];
        prop_assert!(
            gap.chars().all(|c| ".-+*".contains(c)),
            "gap {gap:?} in {p:?}"
        );
        at = s.span.end;
    }
    let rest = &p.canonical[at..];
    prop_assert!(
        rest.chars().all(|c| ".-+*".contains(c)),
        "rest {rest:?} in {p:?}"
    );
    Ok(())
}

/// For any string: no parser panics; a parse explains itself; a malformed code's span lies
/// inside the input, on character boundaries; detection agrees with the parsers.
#[test]
fn prop_codes_any_string() {
    check("codes_any_string", any_code_text(), |s| {
        let mut parses = 0;
        for kind in Kind::ALL {
            match kind.recognise(&s) {
                Some(Ok(p)) => {
                    parses += 1;
                    prop_assert_eq!(p.kind, kind);
                    parts_give_back(&p)?;
                }
                Some(Err(m)) => {
                    if let Some(sp) = &m.span {
                        prop_assert!(sp.start <= sp.end && sp.end <= s.len(), "{m:?}");
                        prop_assert!(s.is_char_boundary(sp.start) && s.is_char_boundary(sp.end));
                    }
                }
                None => {}
            }
            let _ = kind.parse(&s);
        }
        let d = detect(&s);
        let nothing = d.kinds().is_empty() || matches!(d, Detection::Malformed { .. });
        prop_assert_eq!(parses == 0, nothing);
        Ok(vec![match d {
            Detection::Unknown => "unknown",
            Detection::Malformed { .. } => "malformed",
            _ => "parsed",
        }])
    });
}

/// Valid codes built from the structures of `shared/domain/code-families.md` parse as their
/// kind, well-formed, canonical as written, and explain into parts that give the code back;
/// written in lower case, full width or with spaces around they parse to the same canonical
/// code, flagged; detection names their kind.
#[test]
fn prop_codes_valid_round_trip() {
    check("codes_valid_round_trip", valid_code(), |(kind, code)| {
        let p = kind
            .parse(&code)
            .map_err(|m| TestCaseError::fail(format!("{m:?}")))?;
        prop_assert!(p.is_well_formed(), "{p:?}");
        prop_assert_eq!(&p.canonical, &code);
        parts_give_back(&p)?;
        prop_assert!(detect(&code).kinds().contains(&kind), "{:?}", detect(&code));
        for variant in variants(&code) {
            let v = kind
                .parse(&variant)
                .map_err(|m| TestCaseError::fail(format!("{variant:?}: {m:?}")))?;
            prop_assert_eq!(&v.canonical, &code, "{:?}", variant);
            prop_assert!(
                !v.is_well_formed(),
                "{variant:?} is not as written, yet unflagged"
            );
        }
        Ok(vec!["round-trip"])
    });
}

/// A one-character change to a code with a check character is rejected: GB 11643 (MOD 11-2),
/// GB 32100 (MOD 31, with GB 11714 inside) and GS1 mod 10 all catch every substitution. A swap
/// of adjacent body digits is caught by GS1 exactly when they do not differ by 5, and the
/// parser accepts a swap exactly when the independent GS1 check here does.
#[test]
fn prop_codes_check_digit_catches_changes() {
    let s = (
        check_digit_code(),
        any::<prop::sample::Index>(),
        any::<u8>(),
    );
    check("codes_check_digit", s, |((kind, code), at, pick)| {
        let chars: Vec<char> = code.chars().collect();
        let i = at.index(chars.len());
        let alphabet: Vec<char> = match kind {
            Kind::CreditCode => CREDIT_CHARSET.chars().collect(),
            _ if i == 17 => "0123456789X".chars().collect(),
            _ => "0123456789".chars().collect(),
        };
        let others: Vec<char> = alphabet.into_iter().filter(|&c| c != chars[i]).collect();
        let mut changed = chars.clone();
        changed[i] = others[pick as usize % others.len()];
        let changed: String = changed.into_iter().collect();
        prop_assert!(
            kind.parse(&changed).is_err(),
            "{kind} {code} -> {changed} accepted"
        );
        if kind == Kind::DrugStandardCode && i + 1 < chars.len() && chars[i] != chars[i + 1] {
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            let swapped: String = swapped.into_iter().collect();
            let (a, b) = (chars[i] as i32, chars[i + 1] as i32);
            if (3..12).contains(&i) {
                prop_assert_eq!(gs1_ok(&swapped), (a - b).abs() == 5);
            }
            let expect_ok = swapped.starts_with("869") && gs1_ok(&swapped);
            prop_assert_eq!(
                kind.parse(&swapped).is_ok(),
                expect_ok,
                "{} -> {}",
                code,
                swapped
            );
            return Ok(vec!["substitution rejected", "swap judged"]);
        }
        Ok(vec!["substitution rejected"])
    });
}

// ---- yibao.toml and rule packs -------------------------------------------------------------

const DEMO_TOML: &str = include_str!("../src/samples/demo.toml");
const NATIONAL_PACK: &str = include_str!("../quality-rules/national.toml");
const CONFORMANCE_PACK: &str = include_str!("../quality-rules/conformance.toml");

/// Every diagnostic has a label whose span lies inside the source, on character boundaries,
/// and renders (what the user sees) without panicking.
fn located(errors: &[impl miette::Diagnostic], text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!errors.is_empty());
    for e in errors {
        let labels: Vec<_> = e.labels().map(|l| l.collect()).unwrap_or_default();
        prop_assert!(!labels.is_empty(), "no span: {e}");
        for l in labels {
            let (start, end) = (l.offset(), l.offset() + l.len());
            prop_assert!(
                end <= text.len(),
                "span {start}..{end} of {}: {e}",
                text.len()
            );
            prop_assert!(
                text.is_char_boundary(start) && text.is_char_boundary(end),
                "{e}"
            );
        }
        let mut out = String::new();
        let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none());
        prop_assert!(handler.render_report(&mut out, e).is_ok());
    }
    Ok(())
}

/// yibao.toml: for any text, and for mutated copies of the demo's and `init`'s configs, the
/// parser gives a Workspace or diagnostics located inside the text; the originals load.
#[test]
fn prop_workspace_config() {
    let root = Path::new("/w");
    let path = root.join("yibao.toml");
    for good in [DEMO_TOML, yibao::workspace::template::YIBAO_TOML] {
        assert!(Workspace::parse(root, &path, good.to_string()).is_ok());
    }
    let texts = prop_oneof![
        1 => any_toml_text(),
        4 => mutated(DEMO_TOML),
        4 => mutated(yibao::workspace::template::YIBAO_TOML),
    ];
    check("workspace_config", texts, |text| {
        match Workspace::parse(root, &path, text.clone()) {
            Ok(_) => Ok(vec!["workspace"]),
            Err(e) => located(&e.errors, &text).map(|_| vec!["diagnostic"]),
        }
    });
}

/// Rule packs: for any text, and for mutated copies of quality-rules/*.toml, a Pack or
/// diagnostics located inside the text; the originals parse.
#[test]
fn prop_rule_pack() {
    let path = Path::new("quality-rules/p.toml");
    for good in [NATIONAL_PACK, CONFORMANCE_PACK] {
        assert!(pack::parse(path, good).is_ok());
    }
    let texts = prop_oneof![
        1 => any_toml_text(),
        2 => mutated(NATIONAL_PACK),
        4 => mutated(CONFORMANCE_PACK),
    ];
    check("rule_pack", texts, |text| match pack::parse(path, &text) {
        Ok(_) => Ok(vec!["pack"]),
        Err(e) => located(&e.errors, &text).map(|_| vec!["diagnostic"]),
    });
}

// ---- crosswalks ----------------------------------------------------------------------------

fn same_rows(a: &[Mapping], b: &[Mapping]) -> bool {
    let strip = |r: &Mapping| Mapping {
        line: 0,
        ..r.clone()
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| strip(x) == strip(y))
}

/// Crosswalk bytes: arbitrary, ragged, GBK or mutated give a Crosswalk or located errors (a
/// non-UTF-8 file names the line of its first bad byte); a valid crosswalk written with
/// `to_csv` reads back row for row, and in GBK (when not valid UTF-8 by chance) it is refused
/// at the line of its first byte that is not UTF-8.
#[test]
fn prop_crosswalk() {
    let path = Path::new("mappings/320900/diagnosis.csv");
    let s = (crosswalk_rows(), crosswalk_bytes());
    check("crosswalk", s, |(rows, junk)| {
        let mut seen = Vec::new();
        for bytes in [&junk[..], &mutate_bytes_of(&rows)] {
            seen.push(
                match read_crosswalk("320900", Family::Diagnosis, path, bytes, None) {
                    Ok(_) => "crosswalk",
                    Err(LoadError::Encoding { line, .. }) => {
                        let bad = std::str::from_utf8(bytes).unwrap_err().valid_up_to();
                        let want = bytes[..bad].iter().filter(|&&b| b == b'\n').count() + 1;
                        prop_assert_eq!(line, want);
                        "not UTF-8, line named"
                    }
                    Err(LoadError::Invalid(e)) => {
                        let text = std::str::from_utf8(bytes).unwrap();
                        located(&e.errors, text)?;
                        "row diagnostics"
                    }
                    Err(other) => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
                },
            );
        }
        let cw = Crosswalk {
            area: "320900".into(),
            family: Family::Diagnosis,
            path: path.to_path_buf(),
            rows: rows.clone(),
        };
        let csv = cw.to_csv();
        let back = read_crosswalk("320900", Family::Diagnosis, path, &csv, None).map_err(|e| {
            TestCaseError::fail(format!("{e:?}\n{}", String::from_utf8_lossy(&csv)))
        })?;
        prop_assert!(same_rows(&back.rows, &rows), "{:?}\n{:?}", back.rows, rows);
        let text = String::from_utf8(csv).unwrap();
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        if let Err(e) = std::str::from_utf8(&gbk) {
            let want = gbk[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            match read_crosswalk("320900", Family::Diagnosis, path, &gbk, None) {
                Err(LoadError::Encoding { line, .. }) => prop_assert_eq!(line, want),
                other => prop_assert!(false, "GBK read as {other:?}"),
            }
            seen.push("GBK refused at its line");
        }
        seen.push("round-trip");
        Ok(seen)
    });
}

/// `rows` as a crosswalk, then damaged: what a hand-edited or truncated file looks like.
fn mutate_bytes_of(rows: &[Mapping]) -> Vec<u8> {
    let cw = Crosswalk {
        area: "320900".into(),
        family: Family::Diagnosis,
        path: "x".into(),
        rows: rows.to_vec(),
    };
    let mut b = cw.to_csv();
    // Deterministic damage from the content, so a failure shrinks with the rows.
    let n = b.len();
    if n > 10 {
        let k = rows.len() % 4;
        match k {
            0 => b.truncate(n * 2 / 3),
            1 => b.insert(n / 2, b'"'),
            2 => drop(b.splice(n / 3..n / 3, *b",,\r\n")),
            _ => drop(b.splice(n / 2..n / 2 + 1, [0xB0, 0xA1, 0xFF])),
        }
    }
    b
}

// ---- the stored suggestion index -----------------------------------------------------------

/// At most this many bytes live while decoding `len` bytes: an entry (its strings and spec
/// held in place, its derived bigrams, norm and code look-up) is about 8 times the 49 bytes it
/// takes at least in the file; the rest is a fixed allowance.
fn allowance(len: usize) -> usize {
    12 * len + (256 << 10)
}

/// Stored index bytes: arbitrary and mutated (counts overwritten with huge values, bytes
/// flipped, cut, grown) never panic and never hold more than [`allowance`] bytes; what decodes
/// can be searched; a valid index round-trips.
#[test]
fn prop_suggest_index() {
    let s = (index_rows(), index_damage(), any::<Vec<u8>>());
    check("suggest_index", s, |((family, rows), damage, junk)| {
        let ix = Index::build(family, &rows);
        let bytes = ix.to_bytes();
        let back = Index::from_bytes(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back.entries, &ix.entries);
        let mut with_magic = b"YBSUGG02".to_vec();
        with_magic.extend_from_slice(&junk);
        let mut seen = vec!["round-trip"];
        for input in [apply_damage(&bytes, &damage), junk, with_magic] {
            let (result, peak) = peak_of(|| Index::from_bytes(&input));
            seen.push(if result.is_ok() { "decoded" } else { "corrupt" });
            prop_assert!(
                peak <= allowance(input.len()),
                "{peak} bytes live for {} input bytes",
                input.len()
            );
            if let Ok(ix) = result {
                let local = Local {
                    code: "L1".into(),
                    name: rows.first().map(|r| r.1.clone()).unwrap_or_default(),
                    ..Local::default()
                };
                let q = Query::new(family, &local);
                let _ = ix.search(&q, 5, &|_| false, &mut Scratch::default());
            }
        }
        Ok(seen)
    });
}

/// Overwriting the entry count with u32::MAX is refused before any allocation for it.
#[test]
fn suggest_index_huge_count_allocates_nothing_for_it() {
    let rows = vec![("X1".to_string(), "阿莫西林胶囊".to_string(), None)];
    let mut bytes = Index::build(Family::Drug, &rows).to_bytes();
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let (r, peak) = peak_of(|| Index::from_bytes(&bytes));
    assert_eq!(r.unwrap_err().at, 16);
    assert!(peak < 4096, "{peak}");
}
