//! The profile as a table a person reads in a terminal (the JSON form is the serde form).

use std::fmt::Write as _;

use super::{ColumnProfile, Profile};
use crate::source::FileReport;

/// Render a profile as text.
pub fn text(p: &Profile) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} records in {} file(s), {} columns",
        p.target,
        thousands(p.rows),
        p.files.len(),
        p.columns.len()
    );
    for f in &p.files {
        file(&mut out, f);
    }
    let _ = writeln!(out);
    let width = p
        .columns
        .iter()
        .map(|c| display_width(&c.name))
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{}  {:<9} {:>7} {:>7} {:>10}  {}",
        pad("column", width),
        "type",
        "null%",
        "blank%",
        "distinct",
        "min .. max"
    );
    for c in &p.columns {
        column(&mut out, c, width);
    }
    if p.sample_rows < p.rows {
        let _ = writeln!(
            out,
            "\ntypes, code families and shapes judged on the first {} records; counts on all {}",
            thousands(p.sample_rows),
            thousands(p.rows)
        );
    }
    out
}

fn file(out: &mut String, f: &FileReport) {
    let mut parts = vec![format!("{:?}", f.format).to_lowercase()];
    if let Some(e) = &f.encoding {
        parts.push(if e.declared {
            format!("{} (declared)", e.encoding.as_str())
        } else {
            format!(
                "{} (detected, confidence {:.2}{})",
                e.encoding.as_str(),
                e.confidence,
                if e.bom { ", BOM" } else { "" }
            )
        });
    }
    if let Some(d) = &f.delimiter {
        parts.push(format!("delimiter {d}"));
    }
    if let Some(s) = &f.sheet {
        parts.push(format!("sheet {s}"));
    }
    if let Some(h) = f.header_row {
        parts.push(format!("header on row {h}"));
    }
    parts.push(format!("{} records", thousands(f.rows)));
    let _ = writeln!(out, "  {}: {}", f.path.display(), parts.join(", "));
    for (kind, d) in &f.defects.0 {
        let more = if d.count as usize > d.samples.len() {
            ", …"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "    {} {} (at {}{more})",
            thousands(d.count),
            kind.describe(),
            d.samples
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

fn column(out: &mut String, c: &ColumnProfile, width: usize) {
    let range = match (&c.min, &c.max) {
        (Some(a), Some(b)) => format!("{} .. {}", clip(a, 24), clip(b, 24)),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "{}  {:<9} {:>6.1}% {:>6.1}% {:>10}  {}",
        pad(&c.name, width),
        format!("{:?}", c.inferred_type).to_lowercase(),
        c.null_rate * 100.0,
        c.blank_rate * 100.0,
        if c.distinct_exact {
            thousands(c.distinct)
        } else {
            format!("≈{}", thousands(c.distinct))
        },
        range
    );
    let indent = " ".repeat(width + 2);
    if !c.top.is_empty() {
        let top: Vec<String> = c
            .top
            .iter()
            .map(|(v, n)| format!("{} ({})", clip(v, 20), thousands(*n)))
            .collect();
        let _ = writeln!(out, "{indent}top: {}", top.join(", "));
    }
    if let Some(g) = &c.national_code {
        let _ = writeln!(
            out,
            "{indent}national code: {} ({}), {:.1}% well-formed of {} sampled values",
            g.kind,
            g.title,
            g.well_formed_rate * 100.0,
            thousands(g.values)
        );
        for (reason, n) in &g.problems {
            let _ = writeln!(out, "{indent}  {} × {}", thousands(*n), reason);
        }
    }
    if let Some(l) = &c.legacy_code {
        let _ = writeln!(out, "{indent}legacy code: {l}");
    }
    for s in &c.suspicious {
        let _ = writeln!(out, "{indent}suspicious: {s}");
    }
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Terminal width of a string: CJK characters take two columns.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

fn pad(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(display_width(s))))
}

fn clip(s: &str, n: usize) -> String {
    // A line break inside a value would break the table: show it escaped.
    let s = s
        .replace('\r', "\\r")
        .replace('\n', "\\n")
        .replace('\t', "\\t");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_widths() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(display_width("结算ID"), 6);
        assert_eq!(pad("ab", 4), "ab  ");
    }
}
