//! Diagnostics for yibao.toml: each points at the file and the span of the offending value,
//! with a label and a help line; all mistakes of one load are reported together.

use std::ops::Range;
use std::path::Path;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

/// One mistake in yibao.toml.
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(yibao::config))]
pub struct ConfigError {
    /// What is wrong.
    pub message: String,
    #[source_code]
    src: Option<NamedSource<String>>,
    #[label("{label}")]
    span: Option<SourceSpan>,
    label: String,
    /// What to do about it.
    #[help]
    pub help: Option<String>,
}

/// Every mistake found in one load.
#[derive(Debug, Error, Diagnostic)]
#[error("{} in yibao.toml", if .errors.len() == 1 { "1 mistake".to_string() } else { format!("{} mistakes", .errors.len()) })]
#[diagnostic(code(yibao::config), help("fix yibao.toml and run again"))]
pub struct ConfigErrors {
    /// The mistakes, in file order.
    #[related]
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// A load that failed for one reason.
    pub fn single(e: ConfigError) -> ConfigErrors {
        ConfigErrors { errors: vec![e] }
    }
}

impl ConfigError {
    /// A mistake at a span of the file.
    pub fn at(
        path: &Path,
        text: &str,
        span: Range<usize>,
        message: String,
        label: &str,
        help: Option<String>,
    ) -> ConfigError {
        ConfigError {
            message: format!(
                "{}:{}: {message}",
                path.display(),
                line_of(text, span.start)
            ),
            src: Some(
                NamedSource::new(path.display().to_string(), text.to_string())
                    .with_language("toml"),
            ),
            span: Some(span.into()),
            label: label.to_string(),
            help,
        }
    }

    /// A mistake about the file as a whole.
    pub fn plain(path: &Path, message: String, help: Option<String>) -> ConfigError {
        let _ = path;
        ConfigError {
            message,
            src: None,
            span: None,
            label: String::new(),
            help,
        }
    }

    /// A TOML syntax or shape error, with "did you mean" for unknown keys.
    pub fn from_toml(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
        let message = e.message().trim().to_string();
        let help = unknown_field_help(&message);
        let span = e.span().unwrap_or(0..0);
        ConfigError::at(path, text, span, message, "here", help)
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map(|t| t.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// For serde's "unknown field `x`, expected one of `a`, `b`": the closest expected name.
fn unknown_field_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    did_you_mean(field, &expected)
        .or_else(|| Some(format!("known keys here: {}", expected.join(", "))))
}

/// "did you mean `x`?" for the closest candidate, when one is close enough.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("fee-detial", &["settlement", "fee-detail"]).as_deref(),
            Some("did you mean `fee-detail`?")
        );
        assert_eq!(did_you_mean("zzz", &["settlement", "fee-detail"]), None);
    }

    #[test]
    fn unknown_field_messages_get_a_suggestion() {
        let help = unknown_field_help(
            "unknown field `pth`, expected one of `name`, `area`, `kind`, `path`",
        );
        assert_eq!(help.as_deref(), Some("did you mean `path`?"));
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
