#![doc = include_str!("../README.md")]

pub mod corpus;
pub mod cues;
pub mod error;
pub mod evaluation;
pub mod features;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod segmenter;
pub mod tokenizer;

pub use error::{Error, Result};
