//! SVG bar charts (plotters, SVG backend only): one per table, and the
//! headline chart of weft's speed relative to tokio on every workload.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar.
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Drawn in weft's colour.
    pub highlight: bool,
    /// Printed at the end of the bar.
    pub text: String,
}

const WEFT: RGBColor = RGBColor(0xd9, 0x5f, 0x02);
const OTHER: RGBColor = RGBColor(0x7f, 0x8c, 0x9d);

/// Draws horizontal bars, first bar on top, to `path`.
pub fn bars(path: &Path, title: &str, axis: &str, bars: &[Bar]) -> Result<(), String> {
    if bars.is_empty() {
        return Ok(());
    }
    let n = bars.len();
    let height = 70 + 30 * n as u32;
    let max = bars
        .iter()
        .map(|b| b.value)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let root = SVGBackend::new(path, (560, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(170)
        .build_cartesian_2d(0.0..max * 1.3, (0..n - 1).into_segmented())
        .map_err(|e| e.to_string())?;
    // `(0..n - 1).into_segmented()` has the n segments 0..=n-1, 0 at the
    // bottom; the first bar goes on top.
    let row = |i: usize| n - 1 - i;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if *i < n => {
                labels[n - 1 - *i].clone()
            }
            _ => String::new(),
        })
        .x_desc(axis)
        .light_line_style(WHITE)
        .x_labels(5)
        .x_label_formatter(&|v| super::table::fmt_figure(*v))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let colour = if b.highlight { WEFT } else { OTHER };
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row(i))),
                    (b.value, SegmentValue::Exact(row(i) + 1)),
                ],
                colour.filled(),
            );
            bar.set_margin(5, 5, 0, 0);
            bar
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            Text::new(
                format!(" {}", b.text),
                (b.value, SegmentValue::CenterOf(row(i))),
                TextStyle::from(("sans-serif", 14).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Ratios on a logarithmic axis, each bar drawn from 1 towards its value
/// (right of the line: better than the reference), first bar on top.
pub fn ratios(path: &Path, title: &str, axis: &str, bars: &[Bar]) -> Result<(), String> {
    if bars.is_empty() {
        return Ok(());
    }
    let n = bars.len();
    let height = 70 + 30 * n as u32;
    let lo = bars.iter().map(|b| b.value).fold(0.5f64, f64::min) / 2.5;
    let hi = bars.iter().map(|b| b.value).fold(2.0f64, f64::max) * 1.6;
    let root = SVGBackend::new(path, (600, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(190)
        .build_cartesian_2d((lo..hi).log_scale(), (0..n - 1).into_segmented())
        .map_err(|e| e.to_string())?;
    let row = |i: usize| n - 1 - i;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if *i < n => {
                labels[n - 1 - *i].clone()
            }
            _ => String::new(),
        })
        .x_desc(axis)
        .light_line_style(WHITE)
        .x_label_formatter(&|v| {
            // Label only the 1-3-10 steps; the axis picks many more ticks.
            let steps = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0];
            match steps.iter().find(|s| (*v / **s - 1.0).abs() < 0.02) {
                Some(s) => format!("{s}×"),
                None => String::new(),
            }
        })
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let colour = if b.highlight { WEFT } else { OTHER };
            let mut bar = Rectangle::new(
                [
                    (1.0, SegmentValue::Exact(row(i))),
                    (b.value, SegmentValue::Exact(row(i) + 1)),
                ],
                colour.filled(),
            );
            bar.set_margin(5, 5, 0, 0);
            bar
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let (x, anchor, text) = if b.value >= 1.0 {
                (b.value, HPos::Left, format!(" {}", b.text))
            } else {
                (b.value, HPos::Right, format!("{} ", b.text))
            };
            Text::new(
                text,
                (x, SegmentValue::CenterOf(row(i))),
                TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(anchor, VPos::Center)),
            )
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            [(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Exact(n))],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
