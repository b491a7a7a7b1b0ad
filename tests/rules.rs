//! `yibao rules list` / `yibao rules test`: the built-in packs' own examples pass, a rule whose
//! examples disagree with it fails the test, and a malformed pack is a diagnostic at its line.

mod common;

use common::Workdir;

const HEAD: &str = "[pack]\nname = \"mine\"\nversion = \"1\"\n\n";

#[test]
fn the_builtin_packs_pass_their_own_examples() {
    let w = Workdir::new();
    let out = w.run(&["rules", "test", "national"]);
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("151 rules, 372 examples: 151 passed, 0 failed"),
        "{}",
        out.stdout
    );
    let out = w.run(&["rules", "test", "conformance"]);
    out.expect_code(0);
    assert!(out.stdout.contains(" 0 failed"), "{}", out.stdout);
}

#[test]
fn the_national_pack_covers_every_kind_and_dataset() {
    let w = Workdir::new();
    let out = w.run(&["--json", "rules", "list", "--pack", "national"]);
    out.expect_code(0);
    let rules = out.json();
    let rules = rules.as_array().unwrap();
    assert!(rules.len() >= 60);
    let kinds: std::collections::BTreeSet<&str> = rules
        .iter()
        .map(|r| r["kind"]["kind"].as_str().unwrap())
        .collect();
    for k in [
        "required",
        "pattern",
        "national-code",
        "check-digit",
        "mapped",
        "allowed",
        "range",
        "date-order",
        "sum",
        "detail-sum",
        "cross-field",
        "unique",
        "reference",
        "expression",
    ] {
        assert!(kinds.contains(k), "no {k} rule");
    }
    for d in [
        "settlement",
        "fee-detail",
        "diagnosis",
        "operation",
        "drug-catalog",
        "service-catalog",
        "consumable-catalog",
        "institution",
    ] {
        assert!(
            rules
                .iter()
                .any(|r| r["datasets"].as_array().unwrap().iter().any(|x| x == d)),
            "no rule for {d}"
        );
    }
    for dim in [
        "completeness",
        "validity",
        "consistency",
        "uniqueness",
        "timeliness",
        "accuracy",
    ] {
        assert!(rules.iter().any(|r| r["dimension"] == dim), "no {dim} rule");
    }
}

#[test]
fn a_rule_that_contradicts_its_examples_fails() {
    let w = Workdir::new();
    w.write(
        "quality-rules/mine.toml",
        format!(
            "{HEAD}[[rule]]\nid = \"m.gend\"\ntitle = \"性别\"\ndimension = \"validity\"\nseverity = \"error\"\ndatasets = [\"settlement\"]\nkind = \"allowed\"\nfield = \"gend\"\nvalues = [\"1\", \"2\"]\npass = [{{ gend = \"1\" }}, {{ gend = \"9\" }}]\nfail = [{{ gend = \"2\" }}]\n"
        ),
    );
    let out = w.run(&["rules", "test", "mine"]);
    out.expect_code(1);
    assert!(out.stdout.contains("FAIL m.gend"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("pass example 2 failed: { gend = \"9\" }"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("fail example 1 passed: { gend = \"2\" }"),
        "{}",
        out.stdout
    );
}

fn malformed(body: &str) -> common::Run {
    let w = Workdir::new();
    w.write("quality-rules/mine.toml", format!("{HEAD}{body}"));
    let out = w.run(&["rules", "list", "--pack", "mine"]);
    out.expect_code(2);
    out
}

const RULE: &str = "[[rule]]\nid = \"m.1\"\ntitle = \"t\"\ndimension = \"validity\"\nseverity = \"error\"\ndatasets = [\"settlement\"]\n";

#[test]
fn a_misspelt_field_is_named_at_its_line_with_a_suggestion() {
    let out = malformed(&format!(
        "{RULE}kind = \"required\"\nfields = [\"setl_idd\"]\npass = []\nfail = []\n"
    ));
    assert!(
        out.stderr
            .contains("mine.toml:5: rule `m.1`: `setl_idd` is not a field of settlement"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `setl_id`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unknown_kind_is_named_at_its_line() {
    let out = malformed(&format!(
        "{RULE}kind = \"requird\"\nfields = [\"setl_id\"]\n"
    ));
    assert!(out.stderr.contains("mine.toml:5"), "{}", out.stderr);
    assert!(out.stderr.contains("requird"), "{}", out.stderr);
}

#[test]
fn bad_sql_and_bad_regex_and_unknown_family_are_named() {
    let out = malformed(&format!(
        "{RULE}kind = \"expression\"\nexpr = \"gend = = '1'\"\n"
    ));
    assert!(
        out.stderr.contains("`expr` is not a SQL expression"),
        "{}",
        out.stderr
    );
    let out = malformed(&format!(
        "{RULE}kind = \"pattern\"\nfield = \"gend\"\nregex = \"[0-9\"\n"
    ));
    assert!(
        out.stderr.contains("`regex` does not parse"),
        "{}",
        out.stderr
    );
    let out = malformed(&format!(
        "{RULE}kind = \"national-code\"\nfield = \"dscg_maindiag_code\"\nfamily = \"diagnosys\"\n"
    ));
    assert!(
        out.stderr.contains("unknown code family `diagnosys`"),
        "{}",
        out.stderr
    );
    let out = malformed(&format!(
        "{RULE}when = \"gend ==\"\nkind = \"required\"\nfields = [\"gend\"]\n"
    ));
    assert!(
        out.stderr.contains("`when` is not a SQL expression"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("mine.toml:11"), "{}", out.stderr);
}

#[test]
fn duplicate_ids_and_unknown_keys_are_named() {
    let out = malformed(&format!(
        "{RULE}kind = \"required\"\nfields = [\"gend\"]\n\n{RULE}kind = \"required\"\nfields = [\"gend\"]\n"
    ));
    assert!(
        out.stderr.contains("rule id `m.1` is used twice"),
        "{}",
        out.stderr
    );
    let out = malformed(&format!(
        "{RULE}kind = \"required\"\nfields = [\"gend\"]\nseverty = \"x\"\n"
    ));
    assert!(out.stderr.contains("severty"), "{}", out.stderr);
}

#[test]
fn an_unknown_pack_says_where_packs_are_found() {
    let w = Workdir::new();
    let out = w.run(&["rules", "list", "--pack", "nope"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("no rule pack named `nope`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("built-in packs: national, conformance"),
        "{}",
        out.stderr
    );
}

/// A workspace with one settlement file and the pack `mine` holding one expression rule.
fn with_expression_rule(expr: &str) -> Workdir {
    let w = Workdir::new();
    w.write(
        "yibao.toml",
        "[[datasets]]\nname = \"settlements\"\nkind = \"settlement\"\npath = \"data/setl.csv\"\nkey = [\"setl_id\"]\n\n\
         [datasets.columns]\n\"结算ID\" = \"setl_id\"\n\"人员编号\" = \"psn_no\"\n\"姓名\" = \"psn_name\"\n\n\
         [rules]\npacks = [\"mine\"]\n",
    );
    w.write(
        "data/setl.csv",
        "结算ID,人员编号,姓名\nS1,P1,张三\nS2,P2,李四\n",
    );
    w.write(
        "quality-rules/mine.toml",
        format!(
            "[pack]\nname = \"mine\"\nversion = \"1\"\ntitle = \"mine\"\n\n[[rule]]\nid = \"mine.r\"\n\
             title = \"t\"\ntitle_en = \"t\"\ndimension = \"validity\"\nseverity = \"error\"\n\
             datasets = [\"settlement\"]\nkind = \"expression\"\nexpr = \"{expr}\"\n\
             pass = [{{ psn_name = \"1\" }}]\nfail = [{{ psn_name = \"0\" }}]\n"
        ),
    );
    w
}

/// Issue 16 item 8: a misspelled field in an `expression` rule used to be accepted and the rule
/// skipped on every dataset; now the pack is refused at load, with the line and a suggestion.
#[test]
fn i16_8_misspelled_field_in_an_expression_is_refused_at_load() {
    let w = with_expression_rule("psn_nmae <> psn_no");
    let out = w.run(&["check"]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("mine.toml:6: rule `mine.r`: `psn_nmae` is not a field of settlement"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `psn_name`?"),
        "{}",
        out.stderr
    );
    // `when` is read the same way; reader columns such as `_defect` are fields.
    let w = with_expression_rule("_defect IS NULL AND psn_name <> psn_no");
    w.run(&["check"]).expect_code(0);
}

/// Issue 16 item 8: a rule that fails while running used to exit 3 with a bare polars message;
/// now it is the pack's mistake (exit 2) and the message names the rule, its pack and line, and
/// the dataset.
#[test]
fn i16_8_a_rule_failing_at_run_time_names_rule_pack_and_dataset() {
    let w = with_expression_rule("CAST(psn_name AS INTEGER) > 0");
    let out = w.run(&["check"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains(
            "rule `mine.r` of pack `mine` (./quality-rules/mine.toml:6) failed on dataset `settlements`: conversion from `str` to `i32` failed"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("yibao::rules::failed"),
        "{}",
        out.stderr
    );
    // The same through `run`, which records nothing in the history then.
    let out = w.run(&["run"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("rule `mine.r` of pack `mine`"),
        "{}",
        out.stderr
    );
}

/// The failed count of a rule in `check --json` run with YIBAO_TODAY set.
fn failed_with_today(w: &common::Workdir, today: &str, rule: &str) -> u64 {
    let out = w.run_with(
        &[("YIBAO_TODAY", today), ("TZ", "UTC")],
        &["--json", "check"],
    );
    out.expect_code(0);
    let j = out.json();
    j["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["rules"].as_array().unwrap())
        .find(|r| r["id"] == rule)
        .unwrap_or_else(|| panic!("{rule} not in {j:#}"))["failed"]
        .as_u64()
        .unwrap()
}

/// Issue 16 item 11: "today" in a rule is a date the caller fixes (Beijing's, or the test hook
/// YIBAO_TODAY), not the host's local date; a malformed hook is refused.
#[test]
fn i16_11_today_is_the_injected_beijing_date() {
    let w = common::generated(300, 1);
    let path = w.path().join("data/fee_details.csv");
    let bytes = std::fs::read(&path).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&bytes);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut f: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    // 07:30 in Beijing on 2030-06-02 is 23:30 UTC on 2030-06-01.
    f[4] = "2030-06-02 07:30:00".into();
    lines[1] = f.join(",");
    let joined = lines.join("\n") + "\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(&joined);
    std::fs::write(&path, gbk).unwrap();
    let rule = "fee.fee_ocur_time.range";
    assert_eq!(failed_with_today(&w, "2030-06-02", rule), 0);
    assert_eq!(failed_with_today(&w, "2030-06-01", rule), 1);
    let bad = w.run_with(&[("YIBAO_TODAY", "tomorrow")], &["check"]);
    bad.expect_code(2);
    assert!(
        bad.stderr
            .contains("YIBAO_TODAY=`tomorrow` is not a YYYY-MM-DD date"),
        "{}",
        bad.stderr
    );
}
