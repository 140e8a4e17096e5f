#![doc = include_str!("../README.md")]

pub mod briefing;
pub mod corpus;
pub mod corpus_check;
pub mod cues;
pub mod error;
pub mod evaluation;
pub mod features;
pub mod input;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod segmenter;
pub mod structure;
pub mod tokenizer;

pub use error::{Error, Result};
