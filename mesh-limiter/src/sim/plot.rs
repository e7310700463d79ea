//! A hand-written SVG of a simulation run: limit and in-flight, p99 latency, goodput, over time.

use std::fmt::Write;

use super::{Point, Report};

const W: f64 = 900.0;
const PANEL_H: f64 = 170.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const GAP: f64 = 40.0;

/// `(label, colour, points)`; a `None` value lifts the pen.
type Line<'a> = (&'a str, &'a str, Vec<(f64, Option<f64>)>);

struct Panel<'a> {
    title: &'a str,
    y_max: f64,
    lines: Vec<Line<'a>>,
    /// Horizontal reference lines (label, colour, y).
    refs: Vec<(String, &'a str, f64)>,
}

fn nice_max(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders `series` (from [`super::evaluate_with_series`]) with the report's headline numbers.
pub fn render_svg(report: &Report, series: &[Point]) -> String {
    let t_max = report.duration_s.max(1e-9);
    let limit_line: Vec<(f64, Option<f64>)> = series
        .iter()
        .map(|p| (p.t, p.limit.map(f64::from)))
        .collect();
    let inflight: Vec<(f64, Option<f64>)> =
        series.iter().map(|p| (p.t, Some(p.in_flight))).collect();
    let slots: Vec<(f64, Option<f64>)> = series
        .iter()
        .map(|p| (p.t, Some(f64::from(p.slots))))
        .collect();
    let lat: Vec<(f64, Option<f64>)> = series.iter().map(|p| (p.t, p.p99_ms)).collect();
    let good: Vec<(f64, Option<f64>)> = series.iter().map(|p| (p.t, Some(p.goodput))).collect();

    let count_max = series
        .iter()
        .flat_map(|p| {
            [
                p.limit.map(f64::from).unwrap_or(0.0),
                p.in_flight,
                f64::from(p.slots),
            ]
        })
        .fold(0.0, f64::max);
    let lat_max = series
        .iter()
        .filter_map(|p| p.p99_ms)
        .fold(2.2 * report.unloaded_p99_ms, f64::max)
        .min(report.slo_ms * 20.0);
    let panels = [
        Panel {
            title: "concurrency: limit, in flight, server slots",
            y_max: nice_max(count_max.min(1000.0) * 1.05),
            lines: vec![
                ("limit", "#1f77b4", limit_line),
                ("in flight", "#ff7f0e", inflight),
                ("slots", "#7f7f7f", slots),
            ],
            refs: vec![],
        },
        Panel {
            title: "p99 latency of completions (ms)",
            y_max: nice_max(lat_max * 1.05),
            lines: vec![("p99", "#d62728", lat)],
            refs: vec![
                (
                    format!("2× unloaded p99 ({:.1} ms)", 2.0 * report.unloaded_p99_ms),
                    "#2ca02c",
                    2.0 * report.unloaded_p99_ms,
                ),
                (
                    format!("SLO ({:.0} ms)", report.slo_ms),
                    "#9467bd",
                    report.slo_ms,
                ),
            ],
        },
        Panel {
            title: "goodput (completions within SLO ÷ capacity)",
            y_max: 1.2,
            lines: vec![("goodput", "#2ca02c", good)],
            refs: vec![("1.0".into(), "#7f7f7f", 1.0)],
        },
    ];

    let h = TOP + panels.len() as f64 * (PANEL_H + GAP) + 10.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{}</text>"#,
        esc(&format!(
            "limiter={} load={}× seed={}: goodput {:.3}, admitted p99 {:.1} ms (unloaded {:.1}), rejected {:.1} %, reconverge {:.2} s",
            report.limiter,
            report.load,
            report.seed,
            report.goodput_ratio,
            report.admitted_p99_ms,
            report.unloaded_p99_ms,
            report.reject_ratio * 100.0,
            report.reconverge_s
        ))
    );
    let pw = W - LEFT - RIGHT;
    for (i, p) in panels.iter().enumerate() {
        let y0 = TOP + i as f64 * (PANEL_H + GAP);
        let x = |t: f64| LEFT + pw * (t / t_max).clamp(0.0, 1.0);
        let y = |v: f64| y0 + PANEL_H * (1.0 - (v / p.y_max).clamp(0.0, 1.0));
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{y0}" width="{pw}" height="{PANEL_H}" fill="none" stroke="#444"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"#,
            y0 - 6.0,
            esc(p.title)
        );
        for k in 0..=4 {
            let v = p.y_max * k as f64 / 4.0;
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 4.0,
                y(v) + 4.0,
                fmt_num(v),
                yy = y(v)
            );
        }
        let step = nice_max(t_max / 10.0);
        let mut t = 0.0;
        while t <= t_max + 1e-9 {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}s</text>"#,
                x(t),
                y0 + PANEL_H + 13.0,
                fmt_num(t)
            );
            t += step;
        }
        if let Some(hv) = report.halve_at_s {
            let _ = writeln!(
                s,
                r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{y0}" y2="{}" stroke="#000" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}">capacity halved</text>"##,
                y0 + PANEL_H,
                x(hv) + 3.0,
                y0 + 12.0,
                xx = x(hv)
            );
        }
        for (k, (label, colour, v)) in p.refs.iter().enumerate() {
            // Alternate label sides so close reference lines stay readable.
            let (lx, anchor, dy) = if k % 2 == 0 {
                (LEFT + pw - 4.0, "end", -3.0)
            } else {
                (LEFT + 4.0, "start", 12.0)
            };
            let _ = writeln!(
                s,
                r#"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="{colour}" stroke-dasharray="6 3"/><text x="{lx}" y="{:.1}" fill="{colour}" text-anchor="{anchor}">{}</text>"#,
                LEFT + pw,
                y(*v) + dy,
                esc(label),
                yy = y(*v)
            );
        }
        for (j, (label, colour, pts)) in p.lines.iter().enumerate() {
            let mut d = String::new();
            let mut pen_down = false;
            for &(t, v) in pts {
                match v {
                    Some(v) => {
                        let _ = write!(
                            d,
                            "{}{:.1},{:.1} ",
                            if pen_down { "L" } else { "M" },
                            x(t),
                            y(v)
                        );
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            if !d.is_empty() {
                let _ = writeln!(
                    s,
                    r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#,
                    d.trim_end()
                );
            }
            let lx = LEFT + pw - (p.lines.len() - j) as f64 * 90.0;
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
                lx + 18.0,
                lx + 22.0,
                y0 - 6.0 + 4.0,
                esc(label),
                ly = y0 - 6.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{LimiterSpec, SimConfig, evaluate_with_series};
    use std::time::Duration;

    #[test]
    fn svg_has_three_panels_and_the_halving_marker() {
        let cfg = SimConfig {
            duration: Duration::from_secs(4),
            halve_at: Some(Duration::from_secs(2)),
            ..SimConfig::default()
        };
        let (r, run) = evaluate_with_series(&cfg, &LimiterSpec::Static(20)).unwrap();
        let svg = render_svg(&r, &run.series);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(
            svg.matches("<path ").count(),
            5,
            "limit, in flight, slots, p99, goodput"
        );
        assert_eq!(svg.matches("capacity halved").count(), 3);
        assert!(!svg.contains("NaN"));
        assert_eq!(nice_max(7.3), 10.0);
        assert_eq!(nice_max(0.0), 1.0);
    }
}
