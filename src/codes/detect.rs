//! Family detection from a bare code: every kind's parser is asked, and the answer is unique,
//! ambiguous (naming every kind it could be), malformed (naming the kinds it resembles and why
//! it fails each), or unknown.

use serde::Serialize;

use super::{Kind, Malformed, Parsed};

/// What a bare code turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Detection {
    /// Exactly one kind parses the code.
    Unique {
        /// The parse.
        parsed: Parsed,
    },
    /// Several kinds parse the code; all parses are given, in [`Kind::ALL`] order.
    Ambiguous {
        /// The parses.
        candidates: Vec<Parsed>,
    },
    /// No kind parses it, but these kinds recognise its shape and say why it fails.
    Malformed {
        /// One failure per kind that recognised the shape.
        reasons: Vec<Malformed>,
    },
    /// Nothing recognises it.
    Unknown,
}

impl Detection {
    /// The kinds this detection names (the parse, the candidates or the resembled kinds).
    pub fn kinds(&self) -> Vec<Kind> {
        match self {
            Detection::Unique { parsed } => vec![parsed.kind],
            Detection::Ambiguous { candidates } => candidates.iter().map(|p| p.kind).collect(),
            Detection::Malformed { reasons } => reasons.iter().map(|m| m.kind).collect(),
            Detection::Unknown => Vec::new(),
        }
    }
}

/// Detect which kind a bare code is.
///
/// A code that parses cleanly under one kind and only with flags (undone defects) under another
/// is taken as the clean kind: flags are a weaker claim than an exact match.
pub fn detect(code: &str) -> Detection {
    detect_among(code, &Kind::ALL)
}

/// Detect among the given kinds only (for example, the five families).
pub fn detect_among(code: &str, kinds: &[Kind]) -> Detection {
    let mut parsed = Vec::new();
    let mut malformed = Vec::new();
    for kind in kinds {
        match kind.recognise(code) {
            Some(Ok(p)) => parsed.push(p),
            Some(Err(m)) => malformed.push(m),
            None => {}
        }
    }
    if parsed.iter().any(Parsed::is_well_formed) {
        parsed.retain(Parsed::is_well_formed);
    }
    match parsed.len() {
        0 if malformed.is_empty() => Detection::Unknown,
        0 => Detection::Malformed { reasons: malformed },
        1 => Detection::Unique {
            parsed: parsed.remove(0),
        },
        _ => Detection::Ambiguous { candidates: parsed },
    }
}
