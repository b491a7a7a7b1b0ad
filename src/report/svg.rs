//! Charts as inline SVG, drawn here rather than by a script library, so that report.html opens
//! from disk with no network and looks the same in every browser (and in headless screenshots).
//! Text is escaped; Chinese labels rely on the page's CJK font stack.

use std::fmt::Write as _;

/// Colours of series, in order (distinguishable, print-safe).
const PALETTE: [&str; 8] = [
    "#1f6feb", "#d1242f", "#1a7f37", "#bf8700", "#8250df", "#0a7f8f", "#cf222e", "#57606a",
];

/// Escape text for SVG/HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A percentage with one decimal.
pub fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// A percentage with two decimals.
pub fn pct2(r: f64) -> String {
    format!("{:.2}%", r * 100.0)
}

/// A named series of values, one per x position (`None`: no value there).
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Values.
    pub values: Vec<Option<f64>>,
}

/// A "nice" upper bound for an axis of rates.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 0.01;
    }
    // Each divides into four round ticks.
    let steps = [
        0.002, 0.004, 0.008, 0.01, 0.02, 0.04, 0.08, 0.1, 0.12, 0.16, 0.2, 0.4, 0.6, 0.8, 1.0,
    ];
    steps
        .iter()
        .copied()
        .find(|s| *s >= max * 1.1)
        .unwrap_or(1.0)
}

/// A line chart of rates over the x labels (run dates), with a legend. `fixed_max` pins the y
/// axis (e.g. 1.0 for coverage).
pub fn line_chart(x: &[String], series: &[Series], fixed_max: Option<f64>) -> String {
    let (w, h) = (900.0, 300.0);
    let (left, right, top, bottom) = (60.0, 250.0, 20.0, 50.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let max = fixed_max.unwrap_or_else(|| {
        nice_max(
            series
                .iter()
                .flat_map(|s| s.values.iter().flatten())
                .fold(0.0f64, |a, &b| a.max(b)),
        )
    });
    let xpos = |i: usize| {
        if x.len() <= 1 {
            left + pw / 2.0
        } else {
            left + pw * i as f64 / (x.len() - 1) as f64
        }
    };
    let ypos = |v: f64| top + ph - ph * (v / max).clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" xmlns="http://www.w3.org/2000/svg">"#
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = ypos(v);
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d0d7de" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            left + pw,
            left - 6.0,
            y + 4.0,
            if max < 0.04 { pct2(v) } else { pct(v) }
        );
    }
    // At most ~8 x labels, so dates do not overlap.
    let every = x.len().div_ceil(8).max(1);
    for (i, label) in x.iter().enumerate() {
        if i % every != 0 && i + 1 != x.len() {
            continue;
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
            xpos(i),
            top + ph + 18.0,
            esc(label)
        );
    }
    for (n, ser) in series.iter().enumerate() {
        let color = PALETTE[n % PALETTE.len()];
        let mut path = String::new();
        let mut pen = false;
        for (i, v) in ser.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen { "L" } else { "M" },
                        xpos(i),
                        ypos(*v)
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(
            s,
            r#"<path d="{}" fill="none" stroke="{color}" stroke-width="2.5"{}/>"#,
            path.trim_end(),
            // Every other series dashed, so lines lying on each other both stay visible.
            if n % 2 == 1 {
                r#" stroke-dasharray="7 5""#
            } else {
                ""
            }
        );
        for (i, v) in ser.values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"><title>{} {}: {}</title></circle>"#,
                    xpos(i),
                    ypos(*v),
                    esc(&ser.name),
                    esc(&x[i]),
                    pct2(*v)
                );
            }
        }
        let ly = top + 10.0 + 20.0 * n as f64;
        let last = ser.values.iter().rev().flatten().next();
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="12" fill="{color}"/><text x="{:.1}" y="{:.1}" class="legend">{} {}</text>"#,
            left + pw + 14.0,
            ly - 10.0,
            left + pw + 32.0,
            ly,
            esc(&ser.name),
            last.map(|v| pct2(*v)).unwrap_or_default()
        );
    }
    s.push_str("</svg>");
    s
}

/// A Pareto chart: bars of counts, largest first, and the cumulative share as a line.
pub fn pareto(bars: &[(String, u64)]) -> String {
    let (w, h) = (900.0, 360.0);
    let (left, right, top, bottom) = (110.0, 50.0, 20.0, 120.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let total: u64 = bars.iter().map(|b| b.1).sum();
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let n = bars.len().max(1) as f64;
    let bw = pw / n;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" xmlns="http://www.w3.org/2000/svg">"#
    );
    for k in 0..=4 {
        let y = top + ph - ph * k as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d0d7de"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text><text x="{:.1}" y="{:.1}" class="tick">{}%</text>"##,
            left + pw,
            left - 6.0,
            y + 4.0,
            (max * k as f64 / 4.0).round() as u64,
            left + pw + 6.0,
            y + 4.0,
            25 * k
        );
    }
    let mut cum = 0u64;
    let mut line = String::new();
    for (i, (label, v)) in bars.iter().enumerate() {
        let x = left + bw * i as f64;
        let bh = ph * *v as f64 / max;
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#1f6feb"><title>{}: {v}</title></rect>"##,
            x + bw * 0.1,
            top + ph - bh,
            bw * 0.8,
            esc(label)
        );
        let _ = write!(
            s,
            r#"<text transform="translate({:.1},{:.1}) rotate(-40)" text-anchor="end" class="tick">{}</text>"#,
            x + bw / 2.0 + 4.0,
            top + ph + 12.0,
            esc(&short(label, 14))
        );
        cum += v;
        let share = if total == 0 {
            0.0
        } else {
            cum as f64 / total as f64
        };
        let _ = write!(
            line,
            "{}{:.1},{:.1} ",
            if i == 0 { "M" } else { "L" },
            x + bw / 2.0,
            top + ph - ph * share
        );
    }
    let _ = write!(
        s,
        r##"<path d="{}" fill="none" stroke="#d1242f" stroke-width="2.5"/>"##,
        line.trim_end()
    );
    s.push_str("</svg>");
    s
}

/// Horizontal bars of rates, one per row, with the label on the left and a note on the right.
pub fn hbars(rows: &[(String, f64, String)]) -> String {
    let w = 900.0;
    let (left, right, row_h) = (170.0, 200.0, 22.0);
    let h = 10.0 + row_h * rows.len().max(1) as f64;
    let pw = w - left - right;
    let max = nice_max(rows.iter().map(|r| r.1).fold(0.0f64, f64::max));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (label, v, note)) in rows.iter().enumerate() {
        let y = 5.0 + row_h * i as f64;
        let bw = pw * (v / max).clamp(0.0, 1.0);
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text><rect x="{left}" y="{:.1}" width="{bw:.1}" height="{:.1}" fill="#d1242f"/><text x="{:.1}" y="{:.1}" class="tick">{} {}</text>"##,
            left - 6.0,
            y + 15.0,
            esc(label),
            y + 3.0,
            row_h - 6.0,
            left + bw + 6.0,
            y + 15.0,
            pct2(*v),
            esc(note)
        );
    }
    s.push_str("</svg>");
    s
}

/// Cut a label to `n` characters, marking the cut.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_close() {
        let l = line_chart(
            &["11-01".into(), "11-02".into()],
            &[Series {
                name: "盐城市 <320900>".into(),
                values: vec![Some(0.11), Some(0.09)],
            }],
            None,
        );
        assert!(l.contains("盐城市 &lt;320900&gt;"));
        assert!(l.ends_with("</svg>"));
        let p = pareto(&[("a".into(), 3), ("b".into(), 1)]);
        assert_eq!(p.matches("<rect").count(), 2);
        let b = hbars(&[("H1".into(), 0.5, "1/2".into())]);
        assert!(b.contains("50.00% 1/2"));
    }
}
