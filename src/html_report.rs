//! `eval --html`: one self-contained HTML page (no scripts, no network, inline
//! SVG) with the confusion-matrix heatmap, per-class precision/recall/F1 bars,
//! the reliability diagram and the worst errors.
//!
//! Every drawn number is also in a `data-*` attribute or a `<text>`/`<td>`
//! element, so tests (and other tools) can read the figures back from the file.

use std::fmt::Write as _;

use crate::calibration::Calibration;
use crate::evaluation::Report;
use crate::pipeline::Misclassified;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const COLORS: [&str; 3] = ["#4e79a7", "#f28e2b", "#59a14f"];

/// Confusion matrix heatmap: rows true, columns predicted; shade = row share.
pub fn confusion_svg(r: &Report) -> String {
    let k = r.labels.len();
    let cell = 70.0;
    let left = 170.0;
    let top = 120.0;
    let w = left + cell * k as f64 + 20.0;
    let h = top + cell * k as f64 + 20.0;
    let mut s = format!(
        r#"<svg id="confusion" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="confusion matrix">"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="16" text-anchor="middle" font-size="13" font-weight="bold">predicted</text>"#,
        left + cell * k as f64 / 2.0
    );
    for (j, l) in r.labels.iter().enumerate() {
        let x = left + cell * j as f64 + cell / 2.0;
        let _ = write!(
            s,
            r#"<text x="{x}" y="{}" font-size="12" text-anchor="start" transform="rotate(-40 {x} {})">{}</text>"#,
            top - 8.0,
            top - 8.0,
            escape(l)
        );
        let y = top + cell * j as f64 + cell / 2.0 + 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{y}" font-size="12" text-anchor="end">{}</text>"#,
            left - 8.0,
            escape(l)
        );
    }
    for (t, row) in r.confusion.iter().enumerate() {
        let total: usize = row.iter().sum();
        for (p, &n) in row.iter().enumerate() {
            let share = if total == 0 { 0.0 } else { n as f64 / total as f64 };
            let x = left + cell * p as f64;
            let y = top + cell * t as f64;
            let fill = if t == p { "#2c7fb8" } else { "#d95f0e" };
            let _ = write!(
                s,
                r##"<rect class="confusion-cell" data-true="{}" data-predicted="{}" data-count="{n}" x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" fill-opacity="{:.3}" stroke="#999"/>"##,
                escape(&r.labels[t]),
                escape(&r.labels[p]),
                0.08 + 0.85 * share
            );
            let color = if share > 0.55 { "#fff" } else { "#000" };
            let _ = write!(
                s,
                r#"<text class="confusion-count" x="{}" y="{}" text-anchor="middle" font-size="15" fill="{color}">{n}</text>"#,
                x + cell / 2.0,
                y + cell / 2.0 + 5.0
            );
        }
    }
    s += "</svg>";
    s
}

/// Grouped bars of precision, recall and F1 per class.
pub fn prf_svg(r: &Report) -> String {
    let k = r.labels.len();
    let group = 150.0;
    let bar = 36.0;
    let left = 40.0;
    let top = 30.0;
    let ph = 220.0;
    let w = left + group * k as f64 + 20.0;
    let h = top + ph + 60.0;
    let mut s = format!(
        r#"<svg id="prf" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="precision recall F1 per class">"#
    );
    for t in 0..=4 {
        let v = t as f64 / 4.0;
        let y = top + ph * (1.0 - v);
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" font-size="10" text-anchor="end">{v:.2}</text>"##,
            w - 20.0,
            left - 4.0,
            y + 3.0
        );
    }
    for (i, (name, color)) in ["precision", "recall", "f1"].iter().zip(COLORS).enumerate() {
        let x = left + 10.0 + i as f64 * 90.0;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="6" width="12" height="12" fill="{color}"/><text x="{}" y="16" font-size="12">{name}</text>"#,
            x + 16.0
        );
    }
    for (c, m) in r.per_class.iter().enumerate() {
        let gx = left + group * c as f64 + 10.0;
        for (i, (name, v)) in [("precision", m.precision), ("recall", m.recall), ("f1", m.f1)]
            .into_iter()
            .enumerate()
        {
            let bh = ph * v;
            let x = gx + i as f64 * (bar + 4.0);
            let y = top + ph - bh;
            let _ = write!(
                s,
                r#"<rect class="bar" data-label="{}" data-metric="{name}" data-value="{v:.4}" x="{x}" y="{y}" width="{bar}" height="{bh}" fill="{}"/>"#,
                escape(&m.label),
                COLORS[i]
            );
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" font-size="10" text-anchor="middle">{v:.2}</text>"#,
                x + bar / 2.0,
                y - 3.0
            );
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text>"#,
            gx + 1.5 * bar + 4.0,
            top + ph + 18.0,
            escape(&m.label)
        );
    }
    s += "</svg>";
    s
}

/// Reliability diagram: per bin, accuracy (bar) against mean confidence (dot),
/// with the diagonal of perfect calibration.
pub fn reliability_svg(c: &Calibration) -> String {
    let size = 300.0;
    let left = 50.0;
    let top = 20.0;
    let w = left + size + 30.0;
    let h = top + size + 50.0;
    let nb = c.bins.len().max(1) as f64;
    let mut s = format!(
        r#"<svg id="reliability" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="reliability diagram">"#
    );
    let _ = write!(
        s,
        r##"<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#999"/>"##
    );
    for t in 0..=5 {
        let v = t as f64 / 5.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="10" text-anchor="end">{v:.1}</text><text x="{}" y="{}" font-size="10" text-anchor="middle">{v:.1}</text>"#,
            left - 4.0,
            top + size * (1.0 - v) + 3.0,
            left + size * v,
            top + size + 14.0
        );
    }
    for b in &c.bins {
        let x = left + size * b.lo;
        let bw = size / nb;
        let bh = size * b.accuracy;
        let _ = write!(
            s,
            r##"<rect class="rel-bin" data-lo="{:.1}" data-hi="{:.1}" data-count="{}" data-accuracy="{:.4}" data-confidence="{:.4}" x="{x}" y="{}" width="{}" height="{bh}" fill="#4e79a7" fill-opacity="0.75" stroke="#fff"/>"##,
            b.lo,
            b.hi,
            b.count,
            b.accuracy,
            b.mean_confidence,
            top + size - bh,
            bw
        );
        if b.count > 0 {
            let _ = write!(
                s,
                r##"<circle cx="{}" cy="{}" r="3.5" fill="#e15759"/><text x="{}" y="{}" font-size="9" text-anchor="middle">{}</text>"##,
                left + size * b.mean_confidence,
                top + size * (1.0 - b.mean_confidence),
                x + bw / 2.0,
                top + size - bh - 3.0,
                b.count
            );
        }
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" y1="{}" x2="{}" y2="{top}" stroke="#555" stroke-dasharray="4 3"/>"##,
        top + size,
        left + size
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">confidence (bars: accuracy; dots: mean confidence)</text>"#,
        left + size / 2.0,
        top + size + 34.0
    );
    s += "</svg>";
    s
}

/// The whole page.
pub fn render(title: &str, r: &Report, c: &Calibration, errors: &[Misclassified], n_errors: usize) -> String {
    let mut h = String::new();
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
    let _ = write!(h, "<title>demarche evaluation: {}</title>", escape(title));
    h += "<style>body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td.text{text-align:left;max-width:640px}.grid{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}</style></head><body>\n";
    let _ = writeln!(h, "<h1>demarche evaluation: {}</h1>", escape(title));
    let _ = writeln!(
        h,
        "<table id=\"summary\"><tr><th>statements</th><th>accuracy</th><th>macro-F1</th><th>weighted-F1</th><th>ECE (10 bins)</th><th>temperature</th><th>majority baseline accuracy</th></tr><tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr></table>",
        r.n, r.accuracy, r.macro_f1, r.weighted_f1, c.ece, c.temperature, r.majority_baseline.accuracy
    );
    h += "<div class=\"grid\"><div><h2>Confusion matrix (rows = true, columns = predicted)</h2>\n";
    h += &confusion_svg(r);
    h += "</div><div><h2>Reliability diagram</h2>\n";
    h += &reliability_svg(c);
    h += "</div></div>\n<h2>Precision, recall and F1 per class</h2>\n";
    h += &prf_svg(r);
    h +=
        "\n<table id=\"per-class\"><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>";
    for m in &r.per_class {
        let _ = write!(
            h,
            "<tr><td class=\"text\">{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>",
            escape(&m.label),
            m.precision,
            m.recall,
            m.f1,
            m.support
        );
    }
    h += "</table>\n<h2>Reliability table</h2>\n<table id=\"reliability-table\"><tr><th>confidence</th><th>count</th><th>mean confidence</th><th>accuracy</th></tr>";
    for b in &c.bins {
        let _ = write!(
            h,
            "<tr><td>{:.1}-{:.1}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            b.lo, b.hi, b.count, b.mean_confidence, b.accuracy
        );
    }
    let shown = n_errors.min(errors.len());
    let _ = write!(
        h,
        "</table>\n<h2>Worst errors ({shown} most confident of {})</h2>\n<table id=\"errors\"><tr><th>line</th><th>true</th><th>predicted</th><th>confidence</th><th>text</th></tr>",
        errors.len()
    );
    for e in errors.iter().take(n_errors) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td class=\"text\">{}</td></tr>",
            e.line,
            escape(&e.true_label),
            escape(&e.predicted),
            e.confidence,
            escape(&e.text)
        );
    }
    h += "</table>\n</body></html>\n";
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::reliability;

    #[test]
    fn page_holds_svgs_counts_and_escaped_text() {
        let labels: Vec<String> = vec!["a".into(), "b<".into()];
        let r = Report::new(&labels, &[0, 0, 1, 1], &[0, 1, 1, 1], 0);
        let c = reliability(&[0.9, 0.6, 0.8, 0.95], &[true, false, true, true], 10, 1.0);
        let errors = vec![Misclassified {
            line: 2,
            text: "x & <y>".into(),
            true_label: "a".into(),
            predicted: "b<".into(),
            confidence: 0.6,
        }];
        let html = render("t", &r, &c, &errors, 10);
        assert_eq!(html.matches("<svg").count(), 3);
        assert_eq!(html.matches("class=\"confusion-cell\"").count(), 4);
        assert!(html.contains("data-true=\"a\" data-predicted=\"b&lt;\" data-count=\"1\""));
        assert_eq!(html.matches("class=\"bar\"").count(), 6);
        assert_eq!(html.matches("class=\"rel-bin\"").count(), 10);
        assert!(html.contains("x &amp; &lt;y&gt;"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("http://") || html.matches("http://").count() == html.matches("xmlns=").count());
    }
}
