//! Issue 19 with the real binary: the workspace's synonym file (`mappings/synonyms.csv`) teaches
//! `map suggest` a brand name, a broken synonym file stops the command with its line, and a local
//! name that shares nothing with any national name still gets ranked, low-scored candidates.

use crate::common::Workdir;

use super::CONFIG;

const DRUGS: &str = "编码,名称,规格,剂型,厂家\n\
H002,拜复乐片,0.4g*3片,片剂,\n\
H009,㐅㐅,,,\n";

fn workspace() -> Workdir {
    let w = Workdir::new();
    w.write("yibao.toml", CONFIG);
    w.write("drugs.csv", DRUGS);
    w.import_codes("drug", "20240101", "samples/national/drug_20240101.xlsx");
    w
}

fn suggest(w: &Workdir) -> serde_json::Value {
    w.run(&[
        "--json", "map", "suggest", "--area", "320900", "--family", "drug", "--top", "3",
    ])
    .expect_code(0)
    .json()
}

fn candidates(j: &serde_json::Value, local: &str) -> Vec<serde_json::Value> {
    j["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_code"] == local)
        .map(|s| s["candidates"].as_array().unwrap().clone())
        .unwrap_or_default()
}

#[test]
fn i19_2_workspace_synonyms_teach_map_suggest() {
    let w = workspace();
    // Without the row, the brand name finds only weak candidates.
    let before = candidates(&suggest(&w), "H002");
    assert!(
        before
            .iter()
            .all(|c| c["evidence"].as_str().unwrap().starts_with("weak: ")),
        "{before:#?}"
    );
    w.write(
        "mappings/synonyms.csv",
        "term,means,family,source\n拜复乐,莫西沙星,drug,brand name (Bayer); ward 3 list\n",
    );
    let after = candidates(&suggest(&w), "H002");
    assert_eq!(after[0]["name"], "盐酸莫西沙星片", "{after:#?}");
    assert!(after[0]["score"].as_f64().unwrap() >= 0.8, "{after:#?}");
    let evidence = after[0]["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("via 拜复乐 → 莫西沙星 (brand name (Bayer); ward 3 list)"),
        "{evidence}"
    );
}

#[test]
fn i19_2_broken_synonym_file_exits_2_with_its_line() {
    let w = workspace();
    w.write(
        "mappings/synonyms.csv",
        "term,means,family,source\n拜复乐,莫西沙星,drug,ward 3\n心梗,心肌梗死,organ,ward 5\n",
    );
    let run = w.run(&["map", "suggest", "--area", "320900", "--family", "drug"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("mappings/synonyms.csv:3: `心梗`:"),
        "{}",
        run.stderr
    );
    w.write(
        "mappings/synonyms.csv",
        "term,means,family,source\n拜复乐,,drug,ward 3\n",
    );
    let run = w.run(&["map", "suggest", "--area", "320900", "--family", "drug"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("mappings/synonyms.csv:2: a row needs both a term and what it means"),
        "{}",
        run.stderr
    );
    w.write(
        "mappings/synonyms.csv",
        b"term,means,family,source\n\xb0\xdd,x,drug,y\n",
    );
    let run = w.run(&["map", "suggest", "--area", "320900", "--family", "drug"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("mappings/synonyms.csv:2: not UTF-8 text"),
        "{}",
        run.stderr
    );
}

#[test]
fn i19_3_never_an_empty_list() {
    let w = workspace();
    let j = suggest(&w);
    assert_eq!(j["summary"]["local_codes"], 2, "{j:#}");
    // 㐅㐅 shares no character with any national name: the one item left without a candidate.
    assert_eq!(j["summary"]["with_candidate"], 1, "{j:#}");
    assert!(candidates(&j, "H009").is_empty());
    // 拜复乐片 shares only 片 with the national names: ranked, and the score says how unsure.
    let h002 = candidates(&j, "H002");
    assert_eq!(h002.len(), 3, "{h002:#?}");
    assert!(
        h002.iter().all(|c| c["score"].as_f64().unwrap() <= 0.3),
        "{h002:#?}"
    );
    assert!(h002[0]["evidence"]
        .as_str()
        .unwrap()
        .starts_with("weak: 1 of 4 characters shared"));
    // A tablet of the right spec first: the form and spec order the weak ones.
    assert!(
        h002[0]["evidence"].as_str().unwrap().contains("form 片 ="),
        "{h002:#?}"
    );
}
