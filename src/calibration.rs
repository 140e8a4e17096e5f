//! Calibration of the model's confidence: expected calibration error (ECE) with
//! a reliability table, and temperature scaling (Guo et al. 2017) fitted on a
//! held-out split.
//!
//! ECE uses `n_bins` equal-width bins of the top-label confidence over [0, 1]
//! (a confidence of exactly 1 falls in the last bin):
//! `ECE = sum_b (n_b / n) * |accuracy_b - mean_confidence_b|`.
//!
//! Temperature scaling divides every logit by one scalar `T > 0` before the
//! softmax. It never changes the arg-max, so labels and accuracy stay the same;
//! only the probabilities become sharper (`T < 1`) or softer (`T > 1`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Number of bins of the reliability table used throughout the tool.
pub const DEFAULT_BINS: usize = 10;

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Lower edge (inclusive).
    pub lo: f64,
    /// Upper edge (exclusive, except 1.0 for the last bin).
    pub hi: f64,
    pub count: usize,
    /// Mean top-label confidence of the statements in the bin (0 when empty).
    pub mean_confidence: f64,
    /// Share of the statements in the bin whose top label is right (0 when empty).
    pub accuracy: f64,
}

/// Reliability table and its expected calibration error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub n: usize,
    pub ece: f64,
    /// Temperature of the model that produced the confidences (1 = uncalibrated).
    pub temperature: f64,
    pub bins: Vec<Bin>,
}

/// Reliability table of `confidences` (top-label probabilities) and whether each
/// top label was correct.
pub fn reliability(confidences: &[f64], correct: &[bool], n_bins: usize, temperature: f64) -> Calibration {
    assert_eq!(confidences.len(), correct.len());
    let n_bins = n_bins.max(1);
    let mut count = vec![0usize; n_bins];
    let mut conf = vec![0.0; n_bins];
    let mut right = vec![0usize; n_bins];
    for (&c, &ok) in confidences.iter().zip(correct) {
        let b = ((c * n_bins as f64).floor() as usize).min(n_bins - 1);
        count[b] += 1;
        conf[b] += c;
        right[b] += ok as usize;
    }
    let n = confidences.len();
    let mut ece = 0.0;
    let bins = (0..n_bins)
        .map(|b| {
            let (mc, acc) = if count[b] == 0 {
                (0.0, 0.0)
            } else {
                (conf[b] / count[b] as f64, right[b] as f64 / count[b] as f64)
            };
            if n > 0 {
                ece += count[b] as f64 / n as f64 * (acc - mc).abs();
            }
            Bin {
                lo: b as f64 / n_bins as f64,
                hi: (b + 1) as f64 / n_bins as f64,
                count: count[b],
                mean_confidence: mc,
                accuracy: acc,
            }
        })
        .collect();
    Calibration {
        n,
        ece,
        temperature,
        bins,
    }
}

impl Calibration {
    /// The reliability table as text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "calibration (temperature {:.4}): ECE {:.4} over {} bins, {} statements\n\n",
            self.temperature,
            self.ece,
            self.bins.len(),
            self.n
        );
        s += "  confidence   count  mean-conf  accuracy     gap\n";
        for b in &self.bins {
            if b.count == 0 {
                s += &format!("  {:.1}-{:.1}     {:>6}          -         -       -\n", b.lo, b.hi, 0);
            } else {
                s += &format!(
                    "  {:.1}-{:.1}     {:>6}  {:>9.4}  {:>8.4}  {:>+6.3}\n",
                    b.lo,
                    b.hi,
                    b.count,
                    b.mean_confidence,
                    b.accuracy,
                    b.accuracy - b.mean_confidence
                );
            }
        }
        s
    }
}

/// Softmax of `z / t`.
pub fn softmax_t(z: &[f64], t: f64) -> Vec<f64> {
    let m = z.iter().map(|v| v / t).fold(f64::NEG_INFINITY, f64::max);
    let mut p: Vec<f64> = z.iter().map(|v| (v / t - m).exp()).collect();
    let s: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= s);
    p
}

/// Mean negative log-likelihood of the true labels under softmax(z / t).
pub fn nll(logits: &[Vec<f64>], y: &[usize], t: f64) -> f64 {
    let total: f64 = logits
        .iter()
        .zip(y)
        .map(|(z, &c)| {
            let m = z.iter().map(|v| v / t).fold(f64::NEG_INFINITY, f64::max);
            let lse = m + z.iter().map(|v| (v / t - m).exp()).sum::<f64>().ln();
            lse - z[c] / t
        })
        .sum();
    total / logits.len().max(1) as f64
}

/// Smallest and largest temperature the fit considers.
pub const T_RANGE: (f64, f64) = (0.05, 20.0);

/// Fits the temperature that minimises the NLL of `y` under softmax(logits / T),
/// by golden-section search over log T in [`T_RANGE`] (the NLL is unimodal in T).
pub fn fit_temperature(logits: &[Vec<f64>], y: &[usize]) -> Result<f64> {
    if logits.is_empty() || logits.len() != y.len() {
        return Err(Error::Invalid(
            "temperature scaling needs a non-empty labeled split".to_string(),
        ));
    }
    let f = |lt: f64| nll(logits, y, lt.exp());
    let (mut a, mut b) = (T_RANGE.0.ln(), T_RANGE.1.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..100 {
        if (b - a).abs() < 1e-7 {
            break;
        }
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let t = ((a + b) / 2.0).exp();
    if !t.is_finite() {
        return Err(Error::Fit("temperature fit did not converge".into()));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_by_hand() {
        // bin 0.9-1.0: conf .95,.95 one right -> |0.5-0.95| * 2/4 ; bin 0.6-0.7: .65,.65 both right -> |1-.65|*2/4
        let r = reliability(&[0.95, 0.95, 0.65, 0.65], &[true, false, true, true], 10, 1.0);
        let want = 0.5 * 0.45 + 0.5 * 0.35;
        assert!((r.ece - want).abs() < 1e-12, "{}", r.ece);
        assert_eq!(r.bins.len(), 10);
        assert_eq!(r.bins[9].count, 2);
        assert_eq!(r.bins[6].count, 2);
        assert_eq!(r.bins.iter().map(|b| b.count).sum::<usize>(), 4);
        // confidence exactly 1 lands in the last bin
        let r = reliability(&[1.0], &[true], 10, 1.0);
        assert_eq!(r.bins[9].count, 1);
        assert_eq!(r.ece, 0.0);
        assert!(r.to_text().contains("ECE 0.0000"));
    }

    #[test]
    fn temperature_recovers_overconfidence() {
        // Logits scaled by 3 from "true" logits whose softmax is the real probability:
        // sample labels deterministically so that the empirical frequencies match.
        let base = [vec![1.0, 0.0, 0.0], vec![0.0, 0.5, 0.0]];
        let mut logits = Vec::new();
        let mut y = Vec::new();
        for z in &base {
            let p = softmax_t(z, 1.0);
            for (c, pc) in p.iter().enumerate() {
                let n = (pc * 1000.0).round() as usize;
                for _ in 0..n {
                    logits.push(z.iter().map(|v| v * 3.0).collect::<Vec<f64>>());
                    y.push(c);
                }
            }
        }
        let t = fit_temperature(&logits, &y).unwrap();
        assert!((t - 3.0).abs() < 0.02, "{t}");
        assert!(nll(&logits, &y, t) < nll(&logits, &y, 1.0));
        assert!(fit_temperature(&[], &[]).is_err());
    }

    #[test]
    fn softmax_t_keeps_argmax() {
        let z = [2.0, -1.0, 0.5];
        for t in [0.1, 1.0, 7.0] {
            let p = softmax_t(&z, t);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(p[0] > p[2] && p[2] > p[1]);
        }
    }
}
