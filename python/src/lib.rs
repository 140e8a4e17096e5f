//! `demarche._demarche`: the Python face of the demarche library. Every
//! prediction goes through the same `demarche` crate functions as the CLI
//! (`Model::predict` for statements, `pipeline::classify_with` for documents),
//! so results are the CLI's, not a re-implementation.

use std::path::{Path, PathBuf};

use demarche::model::{Model, Prediction};
use demarche::pipeline::{classify_with, decide, map_ordered, ClassifyOptions, Segmentation, Statement};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// The shipped model, compiled into the extension so `Model.load()` needs no
/// file next to the package (and cannot pick up a different one by accident).
static SHIPPED_MODEL: &[u8] = include_bytes!("../../models/demarche.model");

fn to_py_err(e: demarche::Error) -> PyErr {
    match e {
        demarche::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

fn check_min_confidence(min_confidence: Option<f64>) -> PyResult<()> {
    match min_confidence {
        Some(t) if !(0.0..=1.0).contains(&t) => Err(PyValueError::new_err(format!(
            "min_confidence must be between 0 and 1, got {t}"
        ))),
        _ => Ok(()),
    }
}

/// A trained demarche model.
#[pyclass(name = "Model", module = "demarche._demarche", frozen)]
struct PyModel {
    model: Model,
    path: Option<PathBuf>,
}

fn probabilities<'py>(py: Python<'py>, labels: &[String], probs: &[f64]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (l, p) in labels.iter().zip(probs) {
        d.set_item(l, p)?;
    }
    Ok(d)
}

/// Character offset of each byte offset in `offsets` (sorted or not) within `text`,
/// so Python slices `text[start:end]` give the statement.
fn char_offsets(text: &str, offsets: &[usize]) -> Vec<usize> {
    let mut sorted: Vec<usize> = offsets.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut map = std::collections::HashMap::with_capacity(sorted.len());
    let mut next = sorted.iter().peekable();
    for (chars, (b, _)) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
        .enumerate()
    {
        while let Some(&&o) = next.peek() {
            if o > b {
                break;
            }
            map.insert(o, chars);
            next.next();
        }
    }
    offsets.iter().map(|o| map[o]).collect()
}

#[pymethods]
impl PyModel {
    /// Loads a model file written by `demarche train`; without a path, the
    /// model shipped with the package (the repository's `models/demarche.model`).
    #[staticmethod]
    #[pyo3(signature = (path=None))]
    fn load(py: Python<'_>, path: Option<PathBuf>) -> PyResult<PyModel> {
        py.detach(|| match path {
            Some(p) => Model::load(&p).map(|model| PyModel { model, path: Some(p) }),
            None => Model::from_bytes(Path::new("<shipped model>"), SHIPPED_MODEL)
                .map(|model| PyModel { model, path: None }),
        })
        .map_err(to_py_err)
    }

    /// Labels in model order (the order of the probabilities).
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.model.labels.clone()
    }

    /// The model file's path, or None for the shipped model.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// Hex SHA-256 of the model's serialized form (what `demarche inspect` prints).
    #[getter]
    fn digest(&self) -> PyResult<String> {
        self.model.digest().map_err(to_py_err)
    }

    /// Classifies each text as one statement. Returns one dict per text with
    /// `label` (or `uncertain` below `min_confidence`), `predicted`,
    /// `confidence` and `probabilities` (label -> probability). The GIL is
    /// released while the batch is classified, on `threads` threads.
    #[pyo3(signature = (texts, min_confidence=None, threads=1))]
    fn classify<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        min_confidence: Option<f64>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        check_min_confidence(min_confidence)?;
        let preds = py
            .detach(|| predict_all(&self.model, &texts, threads))
            .map_err(to_py_err)?;
        let out = PyList::empty(py);
        for p in &preds {
            let (label, predicted, confidence) = decide(&self.model, p, min_confidence);
            let d = PyDict::new(py);
            d.set_item("label", label)?;
            d.set_item("predicted", predicted)?;
            d.set_item("confidence", confidence)?;
            d.set_item(
                "probabilities",
                probabilities(py, &self.model.labels, &p.probabilities)?,
            )?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Columns for pandas: `(labels, predicted, confidences, probabilities per
    /// model label)`, each a list in text order. `None` and blank texts give `None`
    /// everywhere, as `\N` and blank fields do in `classify --stream`.
    #[pyo3(signature = (texts, min_confidence=None, threads=1))]
    #[allow(clippy::type_complexity)]
    fn classify_columns(
        &self,
        py: Python<'_>,
        texts: Vec<Option<String>>,
        min_confidence: Option<f64>,
        threads: usize,
    ) -> PyResult<(
        Vec<Option<String>>,
        Vec<Option<String>>,
        Vec<Option<f64>>,
        Vec<Vec<Option<f64>>>,
    )> {
        check_min_confidence(min_confidence)?;
        let texts: Vec<Option<String>> = texts.into_iter().map(|t| t.filter(|s| !s.trim().is_empty())).collect();
        let present: Vec<String> = texts.iter().flatten().cloned().collect();
        let preds = py
            .detach(|| predict_all(&self.model, &present, threads))
            .map_err(to_py_err)?;
        let k = self.model.labels.len();
        let n = texts.len();
        let (mut labels, mut predicted, mut conf) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut probs = vec![Vec::with_capacity(n); k];
        let mut it = preds.iter();
        for t in &texts {
            match t {
                Some(_) => {
                    let p = it.next().expect("one prediction per present text");
                    let (l, pr, c) = decide(&self.model, p, min_confidence);
                    labels.push(Some(l));
                    predicted.push(Some(pr));
                    conf.push(Some(c));
                    for (col, v) in probs.iter_mut().zip(&p.probabilities) {
                        col.push(Some(*v));
                    }
                }
                None => {
                    labels.push(None);
                    predicted.push(None);
                    conf.push(None);
                    for col in probs.iter_mut() {
                        col.push(None);
                    }
                }
            }
        }
        Ok((labels, predicted, conf, probs))
    }

    /// Splits a document into statements (the CLI's segmenter, or one statement
    /// per line with `lines=True`) and classifies them. Each dict has `index`,
    /// `start`/`end` (character offsets: `text[start:end]` is the statement),
    /// `start_byte`/`end_byte` (UTF-8 offsets, as the CLI prints), `text`,
    /// `turn`, `speaker`, `label`, `predicted`, `confidence` and `probabilities`.
    #[pyo3(signature = (text, min_confidence=None, lines=false, threads=1))]
    fn classify_document<'py>(
        &self,
        py: Python<'py>,
        text: String,
        min_confidence: Option<f64>,
        lines: bool,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        check_min_confidence(min_confidence)?;
        let opts = ClassifyOptions {
            mode: if lines {
                Segmentation::Lines
            } else {
                Segmentation::Prose
            },
            min_confidence,
            threads: threads.max(1),
            ..ClassifyOptions::default()
        };
        let statements: Vec<Statement> = py
            .detach(|| classify_with(&self.model, "<document>", &text, &opts))
            .map_err(to_py_err)?;
        let bytes: Vec<usize> = statements.iter().flat_map(|s| [s.start, s.end]).collect();
        let chars = char_offsets(&text, &bytes);
        let out = PyList::empty(py);
        for (i, s) in statements.iter().enumerate() {
            let d = PyDict::new(py);
            d.set_item("index", s.index)?;
            d.set_item("start", chars[2 * i])?;
            d.set_item("end", chars[2 * i + 1])?;
            d.set_item("start_byte", s.start)?;
            d.set_item("end_byte", s.end)?;
            d.set_item("text", &s.text)?;
            d.set_item("turn", &s.turn)?;
            d.set_item("speaker", &s.speaker)?;
            d.set_item("label", &s.label)?;
            d.set_item("predicted", &s.predicted)?;
            d.set_item("confidence", s.confidence)?;
            d.set_item(
                "probabilities",
                probabilities(py, &self.model.labels, &s.probabilities)?,
            )?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        match &self.path {
            Some(p) => format!(
                "Model.load({:?}) labels={:?}",
                p.display().to_string(),
                self.model.labels
            ),
            None => format!("Model.load() (shipped) labels={:?}", self.model.labels),
        }
    }
}

/// Predictions for `texts` in order, on up to `threads` threads.
fn predict_all(model: &Model, texts: &[String], threads: usize) -> demarche::Result<Vec<Prediction>> {
    map_ordered(texts, threads, |_, t| model.predict(t))
}

#[pymodule]
fn _demarche(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::char_offsets;

    #[test]
    fn char_offsets_count_characters_not_bytes() {
        let t = "Él dijo: «sí». Then more.";
        let b = t.find("Then").unwrap();
        assert_eq!(char_offsets(t, &[0, b, t.len()]), vec![0, 15, t.chars().count()]);
    }
}
