//! report.html: one self-contained page (inline CSS, inline SVG charts, no script, no network)
//! that opens from disk: the latest run's headline, its trend, the rules and institutions that
//! drive the dirty-data rate, coverage over time, what changed since the previous run, and
//! sample rows with the file and row an analyst opens.

use std::fmt::Write as _;

use super::svg::{esc, hbars, line_chart, pareto, pct, pct2, Series};
use super::trend::{RuleRow, TrendReport};
use crate::store::history::DirtyRecord;

/// Rules in the Pareto chart.
const PARETO_RULES: usize = 15;
/// Institutions in the ranking.
const TOP_INSTITUTIONS: usize = 20;
/// Records listed per side of the change list.
const CHANGE_ROWS: usize = 50;

const STYLE: &str = r#"
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", sans-serif; margin: 24px auto; max-width: 1100px; color: #1f2328; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.meta { color: #57606a; font-size: 13px; }
.cards { display: flex; gap: 14px; flex-wrap: wrap; margin: 16px 0; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 16px; min-width: 150px; }
.card .v { font-size: 26px; font-weight: 600; } .card .l { font-size: 13px; color: #57606a; }
.ok { color: #1a7f37; } .bad { color: #d1242f; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; } th { background: #f6f8fa; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.chart text.tick { font-size: 11px; fill: #57606a; } .chart text.legend { font-size: 12px; fill: #1f2328; }
.chart text { font-family: inherit; }
code { font-size: 12px; }
"#;

fn delta(d: f64) -> String {
    let pp = d * 100.0;
    if pp.abs() < 0.005 {
        "±0.00 pp".into()
    } else {
        format!("{pp:+.2} pp")
    }
}

/// Axis labels for the runs of the trend: `MM-DD HH:MM`, or `HH:MM:SS` when all runs are of
/// one day (several runs a day, as in tests and demos).
fn axis_labels(r: &TrendReport) -> Vec<String> {
    let day = |t: &str| t.get(..10).map(str::to_string);
    let one_day = r
        .trend
        .windows(2)
        .all(|w| day(&w[0].time) == day(&w[1].time));
    r.trend
        .iter()
        .map(|p| {
            let t = &p.time;
            let label = if one_day { t.get(11..19) } else { t.get(5..16) };
            label.unwrap_or(t).replace('T', " ")
        })
        .collect()
}

/// Render the report page.
pub fn render(r: &TrendReport) -> String {
    let mut h = String::new();
    let l = &r.latest;
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>yibao 数据质量报告 {}</title><style>{STYLE}</style></head><body>"#,
        esc(&l.run_id)
    );
    let _ = write!(
        h,
        r#"<h1>数据质量报告 Data-quality report — {}</h1><div class="meta">run <code>{}</code> · {} · trend since {} · {} runs</div>"#,
        esc(&r.workspace),
        esc(&l.run_id),
        esc(&l.time),
        esc(r.since.get(..10).unwrap_or(&r.since)),
        r.trend.len()
    );
    cards(&mut h, r);
    trend_section(&mut h, r);
    rules_section(&mut h, r);
    institutions_section(&mut h, r);
    coverage_section(&mut h, r);
    changes_section(&mut h, r);
    datasets_section(&mut h, r);
    samples_section(&mut h, r);
    inputs_section(&mut h, r);
    h.push_str("</body></html>\n");
    h
}

fn cards(h: &mut String, r: &TrendReport) {
    let l = &r.latest;
    let vs = |now: f64, before: Option<f64>| {
        before
            .map(|b| format!("vs previous {}", delta(now - b)))
            .unwrap_or_else(|| "first run".into())
    };
    h.push_str(r#"<div class="cards">"#);
    let _ = write!(
        h,
        r#"<div class="card"><div class="l">脏数据率 dirty-data rate</div><div class="v {}">{}</div><div class="l">{} / {} records · {}</div></div>"#,
        if l.breached { "bad" } else { "ok" },
        pct2(l.rate),
        l.dirty,
        l.records,
        vs(l.rate, r.previous.as_ref().map(|p| p.rate))
    );
    if let Some(c) = l.coverage {
        let _ = write!(
            h,
            r#"<div class="card"><div class="l">对码覆盖率 mapping coverage</div><div class="v">{}</div><div class="l">distinct local codes · {}</div></div>"#,
            pct(c),
            vs(c, r.previous.as_ref().and_then(|p| p.coverage))
        );
    }
    if let Some(c) = &r.changes {
        let _ = write!(
            h,
            r#"<div class="card"><div class="l">新增脏记录 newly dirty / 已修复 fixed</div><div class="v"><span class="bad">+{}</span> / <span class="ok">−{}</span></div><div class="l">since run {}</div></div>"#,
            c.newly_dirty,
            c.fixed,
            esc(&c.previous)
        );
    }
    let batches: u64 = l.batches.iter().map(|b| b.batches).sum();
    let _ = write!(
        h,
        r#"<div class="card"><div class="l">状态 status</div><div class="v {}">{}</div><div class="l">batches {}</div></div>"#,
        if l.breached { "bad" } else { "ok" },
        if l.breached { "BREACHED" } else { "OK" },
        batches
    );
    h.push_str("</div>");
}

fn trend_section(h: &mut String, r: &TrendReport) {
    h.push_str("<h2>脏数据率趋势 Dirty-data rate over time, per area</h2>");
    let x = axis_labels(r);
    let mut areas: Vec<&String> = r.trend.iter().flat_map(|p| p.areas.keys()).collect();
    areas.sort();
    areas.dedup();
    let mut series: Vec<Series> = areas
        .iter()
        .map(|a| Series {
            name: area_label(r, a),
            values: r.trend.iter().map(|p| p.areas.get(*a).copied()).collect(),
        })
        .collect();
    if areas.len() != 1 {
        series.push(Series {
            name: "全部 overall".into(),
            values: r.trend.iter().map(|p| Some(p.rate)).collect(),
        });
    }
    h.push_str(&line_chart(&x, &series, None));
}

fn area_label(r: &TrendReport, code: &str) -> String {
    match r.areas.iter().find(|a| a.name == code) {
        Some(a) if !a.title.is_empty() => format!("{} {}", a.title, code),
        _ if code.is_empty() => "(no area)".into(),
        _ => code.to_string(),
    }
}

fn rules_section(h: &mut String, r: &TrendReport) {
    h.push_str("<h2>违规最多的规则 Rules with the most violations (Pareto)</h2>");
    let failing: Vec<&RuleRow> = r.rules.iter().filter(|x| x.failed > 0).collect();
    if failing.is_empty() {
        h.push_str("<p>No rule failed.</p>");
        return;
    }
    let bars: Vec<(String, u64)> = failing
        .iter()
        .take(PARETO_RULES)
        .map(|x| (x.title.clone(), x.failed))
        .collect();
    h.push_str(&pareto(&bars));
    h.push_str(r#"<table><tr><th>rule</th><th>title</th><th>dataset</th><th>sev</th><th>failed</th><th>applicable</th><th>rate</th><th>vs previous</th></tr>"#);
    for x in failing.iter().take(PARETO_RULES) {
        rule_row(h, x);
    }
    h.push_str("</table>");
}

fn rule_row(h: &mut String, x: &RuleRow) {
    let _ = write!(
        h,
        r#"<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
        esc(&x.id),
        esc(&x.title),
        esc(&x.dataset),
        esc(&x.severity),
        x.failed,
        x.applicable,
        pct2(x.rate),
        x.delta.map(delta).unwrap_or_else(|| "new".into())
    );
}

fn institutions_section(h: &mut String, r: &TrendReport) {
    h.push_str("<h2>机构脏数据率排名 Institutions ranked by dirty-data rate</h2>");
    if r.institutions.is_empty() {
        h.push_str("<p>No dataset has an institution field (fixmedins_code).</p>");
        return;
    }
    let rows: Vec<(String, f64, String)> = r
        .institutions
        .iter()
        .take(TOP_INSTITUTIONS)
        .map(|i| {
            (
                i.code.clone(),
                i.rate,
                format!("({}/{})", i.dirty, i.records),
            )
        })
        .collect();
    h.push_str(&hbars(&rows));
    let _ = write!(
        h,
        r#"<p class="meta">Top {} of {} institutions, all datasets together.</p>"#,
        rows.len(),
        r.institutions.len()
    );
}

fn coverage_section(h: &mut String, r: &TrendReport) {
    h.push_str("<h2>对码覆盖率趋势 Mapping coverage over time</h2>");
    if r.trend.iter().all(|p| p.coverage.is_none()) {
        h.push_str("<p>No dataset declares local-code fields.</p>");
        return;
    }
    let x = axis_labels(r);
    let mut series = vec![
        Series {
            name: "本地编码 distinct codes".into(),
            values: r.trend.iter().map(|p| p.coverage).collect(),
        },
        Series {
            name: "按记录 by records".into(),
            values: r.trend.iter().map(|p| p.coverage_records).collect(),
        },
    ];
    let mut areas: Vec<&String> = r
        .trend
        .iter()
        .flat_map(|p| p.coverage_areas.keys())
        .collect();
    areas.sort();
    areas.dedup();
    if areas.len() > 1 {
        for a in areas {
            series.push(Series {
                name: format!("{} codes", area_label(r, a)),
                values: r
                    .trend
                    .iter()
                    .map(|p| p.coverage_areas.get(a).copied())
                    .collect(),
            });
        }
    }
    h.push_str(&line_chart(&x, &series, Some(1.0)));
    h.push_str(r#"<table><tr><th>area</th><th>family</th><th>codes mapped</th><th>records mapped</th></tr>"#);
    for c in &r.coverage {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{}/{}</td><td class="n">{}/{}</td></tr>"#,
            esc(&c.area),
            esc(&c.family),
            c.codes_mapped,
            c.codes,
            c.records_mapped,
            c.records
        );
    }
    h.push_str("</table>");
}

fn changes_section(h: &mut String, r: &TrendReport) {
    h.push_str("<h2>与上次运行相比 Changes since the previous run</h2>");
    let Some(c) = &r.changes else {
        h.push_str("<p>This is the first run in the history: nothing to compare with.</p>");
        return;
    };
    let _ = write!(
        h,
        r#"<p>Against run <code>{}</code>: <b class="bad">{}</b> records newly dirty, <b class="ok">{}</b> fixed (dirty then, clean or gone now).</p>"#,
        esc(&c.previous),
        c.newly_dirty,
        c.fixed
    );
    h.push_str(r#"<table><tr><th>dataset</th><th>newly dirty</th><th>fixed</th></tr>"#);
    for d in &c.by_dataset {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&d.dataset),
            d.newly_dirty,
            d.fixed
        );
    }
    h.push_str("</table>");
    h.push_str("<h3>规则变化 Rules whose rate moved most</h3>");
    if c.rules_moved.is_empty() {
        h.push_str("<p>No rule's rate moved.</p>");
    } else {
        h.push_str(r#"<table><tr><th>rule</th><th>title</th><th>dataset</th><th>sev</th><th>failed</th><th>applicable</th><th>rate</th><th>vs previous</th></tr>"#);
        for x in &c.rules_moved {
            rule_row(h, x);
        }
        h.push_str("</table>");
    }
    records_table(
        h,
        "新增脏记录 Newly dirty records",
        &c.newly_dirty_records,
        c.newly_dirty,
    );
    records_table(h, "已修复记录 Fixed records", &c.fixed_records, c.fixed);
}

fn records_table(h: &mut String, title: &str, list: &[DirtyRecord], total: u64) {
    let _ = write!(h, "<h3>{}</h3>", esc(title));
    if list.is_empty() {
        h.push_str("<p>None.</p>");
        return;
    }
    h.push_str(r#"<table><tr><th>dataset</th><th>record</th><th>location</th><th>rules</th></tr>"#);
    for d in list.iter().take(CHANGE_ROWS) {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>"#,
            esc(&d.dataset),
            esc(&d.key),
            esc(&d.loc),
            esc(&d.rules.replace(';', "; "))
        );
    }
    h.push_str("</table>");
    if total as usize > CHANGE_ROWS {
        let _ = write!(
            h,
            r#"<p class="meta">{} of {total} shown; <code>yibao report --format csv</code> lists up to {}.</p>"#,
            CHANGE_ROWS.min(list.len()),
            super::trend::CHANGE_LIST_LIMIT
        );
    }
}

fn datasets_section(h: &mut String, r: &TrendReport) {
    h.push_str("<h2>数据集 Datasets</h2>");
    h.push_str(r#"<table><tr><th>dataset</th><th>area</th><th>records</th><th>dirty</th><th>rate</th><th>rules ran</th></tr>"#);
    for d in &r.datasets {
        let ran = r.rules_ran.iter().find(|x| x.dataset == d.name);
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&d.name),
            esc(&d.title),
            d.total,
            d.count,
            pct2(d.rate),
            ran.map(|x| format!("{} of {}", x.ran, x.of))
                .unwrap_or_default()
        );
    }
    h.push_str("</table>");
    // The rules that did not run, or ran on less than they read: a rate computed with half
    // the pack is visibly so.
    let notes: Vec<(&str, &str, &str, &str)> = r
        .rules_ran
        .iter()
        .flat_map(|x| {
            x.skipped
                .iter()
                .map(move |n| {
                    (
                        x.dataset.as_str(),
                        "skipped",
                        n.id.as_str(),
                        n.text.as_str(),
                    )
                })
                .chain(x.narrowed.iter().map(move |n| {
                    (
                        x.dataset.as_str(),
                        "checked with less",
                        n.id.as_str(),
                        n.text.as_str(),
                    )
                }))
        })
        .collect();
    if !notes.is_empty() {
        h.push_str("<h3>未运行或部分运行的规则 Rules skipped or run on less</h3>");
        h.push_str(r#"<table><tr><th>dataset</th><th></th><th>rule</th><th>why</th></tr>"#);
        for (dataset, what, id, text) in notes {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(dataset),
                what,
                esc(id),
                esc(text)
            );
        }
        h.push_str("</table>");
    }
}

fn samples_section(h: &mut String, r: &TrendReport) {
    h.push_str("<h2>失败样例 Sample failing rows (open the file at the row)</h2>");
    if r.samples.is_empty() {
        h.push_str("<p>No failing rows.</p>");
        return;
    }
    h.push_str(r#"<table><tr><th>rule</th><th>dataset</th><th>file</th><th>sheet</th><th>row</th><th>record</th></tr>"#);
    for s in &r.samples {
        let _ = write!(
            h,
            r#"<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td class="n">{}</td><td><code>{}</code></td></tr>"#,
            esc(&s.rule),
            esc(&s.dataset),
            esc(&s.file),
            esc(s.sheet.as_deref().unwrap_or("")),
            s.row,
            esc(&s.key)
        );
    }
    h.push_str("</table>");
}

fn inputs_section(h: &mut String, r: &TrendReport) {
    h.push_str("<h2>输入与版本 Inputs and versions</h2>");
    h.push_str(r#"<table><tr><th>dataset</th><th>file</th><th>records</th><th>bytes</th><th>SHA-256</th></tr>"#);
    for i in &r.latest.inputs {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td><code>{}</code></td><td class="n">{}</td><td class="n">{}</td><td><code>{}…</code></td></tr>"#,
            esc(&i.dataset),
            esc(&i.path),
            i.rows,
            i.bytes,
            esc(i.sha256.get(..16).unwrap_or(&i.sha256))
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        r#"<p class="meta">packs: <code>{}</code> · code sets: <code>{}</code></p>"#,
        esc(&r.latest.packs.to_string()),
        esc(&r.latest.code_sets.to_string())
    );
}
