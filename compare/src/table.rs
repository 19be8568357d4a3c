//! The report's data: one [`Table`] per workload, one [`Row`] per peer,
//! and what follows from the figures: each peer's ratio to tokio, whether
//! the peers are within noise of each other (then the workload is
//! bottlenecked on something they share), and whether weft meets the goal
//! the issue sets for that row.

/// Which way a figure improves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// The goal weft is held to on a row (issue 5).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Ahead of tokio (multi-thread).
    AheadOfTokio,
    /// Within 10% of the best peer.
    NearBest,
}

/// One peer's result.
pub struct Row {
    pub peer: String,
    /// The headline figure; `None` when the run failed or the peer is missing.
    pub figure: Option<f64>,
    /// Relative spread of the samples behind the figure (their coefficient
    /// of variation), 0 if unknown; shown in the table.
    pub spread: f64,
    /// Relative standard error of the figure, from the spread and the
    /// number of samples; what the noise band is made of.
    pub noise: f64,
    /// Further columns, as text (same order as [`Table::columns`]).
    pub cells: Vec<String>,
    /// Why the figure is missing, or a remark.
    pub note: String,
}

impl Row {
    /// A figure from `samples` samples whose coefficient of variation is
    /// `spread`; `median` says the figure is their median (else their mean).
    pub fn ok(
        peer: &str,
        figure: f64,
        spread: f64,
        samples: f64,
        median: bool,
        cells: Vec<String>,
    ) -> Row {
        // The standard error of a median is about 1.25 times that of a mean.
        let factor = if median { 1.2533 } else { 1.0 };
        Row {
            peer: peer.to_string(),
            figure: Some(figure),
            spread,
            noise: factor * spread / samples.max(1.0).sqrt(),
            cells,
            note: String::new(),
        }
    }

    pub fn failed(peer: &str, why: impl Into<String>) -> Row {
        Row {
            peer: peer.to_string(),
            figure: None,
            spread: 0.0,
            noise: 0.0,
            cells: Vec::new(),
            note: why.into(),
        }
    }
}

/// One workload's results.
pub struct Table {
    /// File stem of its chart, and its anchor.
    pub id: String,
    pub title: String,
    /// A few words for the headline chart.
    pub short: String,
    /// One sentence: what was run.
    pub what: String,
    /// The headline figure's unit, e.g. `ns per spawn + join`.
    pub unit: String,
    pub better: Better,
    pub goal: Goal,
    /// Headers of [`Row::cells`].
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    /// The load generator against its own bare mio server: about what the
    /// client can drive at most (network tables only); not a peer.
    pub ceiling: Option<Row>,
    /// Remarks the runner adds (e.g. the load generator's CPU use).
    pub remarks: Vec<String>,
}

/// Noise below this is not believed: runs on a shared 2-core VM vary by
/// a few per cent from run to run even when their own spread is lower.
pub const NOISE_FLOOR: f64 = 0.03;

impl Table {
    /// `peer`'s headline figure, if it ran.
    pub fn figure(&self, peer: &str) -> Option<f64> {
        self.rows.iter().find(|r| r.peer == peer)?.figure
    }

    /// `peer`'s cell in the column headed `column`, if it ran and the
    /// table has that column; the ceiling row's too, as peer `ceiling`.
    pub fn cell(&self, peer: &str, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        let row = self
            .rows
            .iter()
            .chain(self.ceiling.as_ref())
            .find(|r| r.peer == peer)?;
        row.figure?;
        row.cells.get(i).map(String::as_str)
    }

    /// How much better than tokio `figure` is (>1 is better), if tokio ran.
    pub fn vs_tokio(&self, figure: f64) -> Option<f64> {
        let tokio = self.figure("tokio")?;
        Some(self.speedup(figure, tokio))
    }

    /// `a` relative to `b` as a speed (>1: `a` is better).
    pub fn speedup(&self, a: f64, b: f64) -> f64 {
        match self.better {
            Better::Higher => a / b,
            Better::Lower => b / a,
        }
    }

    /// The best peer and its figure.
    pub fn best(&self) -> Option<(&str, f64)> {
        self.rows
            .iter()
            .filter_map(|r| Some((r.peer.as_str(), r.figure?)))
            .reduce(|a, b| if self.speedup(b.1, a.1) > 1.0 { b } else { a })
    }

    /// The noise band of this table: twice the largest standard error
    /// among its rows (about a 95% interval), at least [`NOISE_FLOOR`].
    pub fn noise(&self) -> f64 {
        self.rows
            .iter()
            .filter(|r| r.figure.is_some())
            .map(|r| 2.0 * r.noise)
            .fold(NOISE_FLOOR, f64::max)
    }

    /// Whether all peers that ran are within noise of each other.
    pub fn bottlenecked(&self) -> bool {
        let figures: Vec<f64> = self.rows.iter().filter_map(|r| r.figure).collect();
        if figures.len() < 3 {
            return false;
        }
        let max = figures.iter().cloned().fold(f64::MIN, f64::max);
        let min = figures.iter().cloned().fold(f64::MAX, f64::min);
        max / min - 1.0 <= self.noise()
    }

    /// Whether weft meets this row's goal, and a sentence saying so.
    pub fn verdict(&self) -> (Option<bool>, String) {
        let Some(weft) = self.figure("weft") else {
            return (None, "weft did not run".into());
        };
        match self.goal {
            Goal::AheadOfTokio => match self.vs_tokio(weft) {
                Some(r) => (
                    Some(r > 1.0),
                    format!(
                        "goal: ahead of tokio; weft is {}{}",
                        ratio_words(r),
                        self.noise_words(r)
                    ),
                ),
                None => (None, "goal: ahead of tokio; tokio did not run".into()),
            },
            Goal::NearBest => {
                let (best, figure) = self.best().expect("weft ran");
                let r = self.speedup(weft, figure);
                if best == "weft" {
                    (
                        Some(true),
                        "goal: within 10% of the best; weft is the best".into(),
                    )
                } else {
                    (
                        Some(r >= 1.0 / 1.1),
                        format!(
                            "goal: within 10% of the best ({best}); weft is {}{}",
                            ratio_words(r),
                            self.noise_words(r)
                        ),
                    )
                }
            }
        }
    }
}

impl Table {
    /// ", within noise" when a speed ratio `r` is inside the noise band.
    fn noise_words(&self, r: f64) -> &'static str {
        if (r - 1.0).abs() <= self.noise() {
            ", within this table's noise"
        } else {
            ""
        }
    }
}

/// A speed ratio (>1 better) in words: `1.23` as "1.23× ahead", `0.9`
/// as "10% behind (0.90×)", `0.25` as "4.0× behind (0.25×)". "Ahead" and
/// "behind" fit times, rates and memory alike.
pub fn ratio_words(r: f64) -> String {
    if r >= 1.0 {
        format!("{r:.2}× ahead")
    } else if r >= 0.5 {
        format!("{:.0}% behind ({r:.2}×)", (1.0 - r) * 100.0)
    } else {
        format!("{:.1}× behind ({r:.2}×)", 1.0 / r)
    }
}

/// A figure with about three significant digits and thousands separators.
pub fn fmt_figure(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 1000.0 {
        let rounded = v.round() as u64;
        let digits = rounded.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
