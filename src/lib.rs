#![doc = include_str!("../README.md")]

pub mod briefing;
pub mod calibration;
pub mod corpus;
pub mod corpus_check;
pub mod cues;
pub mod error;
pub mod evaluation;
pub mod features;
pub mod html_report;
pub mod input;
pub mod inspect;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod segmenter;
pub mod speaker;
pub mod stream;
pub mod structure;
pub mod suggest;
pub mod tokenizer;

pub use error::{Error, Result};
