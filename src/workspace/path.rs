//! Paths built from names that come from data or configuration (an area in a review file, a
//! dataset name, a file named in a manifest) are built here and nowhere else, so that no such
//! name can lead a write (or a read) out of the folder it belongs in. `map accept` once wrote
//! `/tmp/x/drug.csv` from an area `../../../../../tmp/x` (issue 16 item 3).
//!
//! A name is refused unless it is one plain file or folder name: not empty, not `.` or `..`,
//! without `/`, `\`, `:`, NUL or other control characters (so also not absolute, and not a
//! Windows drive or stream name). The joined result is checked again to lie under the root, in
//! case a rule here is ever loosened. Symbolic links are not resolved: a link inside the
//! workspace was put there by its owner (an `out/` on a bigger disk is one), not by data.

use std::path::{Component, Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

/// A name that cannot be one component of a path under the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
#[error("`{name}` cannot be used as a file or folder name: {reason}")]
#[diagnostic(
    code(yibao::workspace::unsafe_name),
    help("a name that becomes part of a path must be one plain name inside the workspace")
)]
pub struct UnsafeName {
    /// The name, as given.
    pub name: String,
    /// Why it is refused.
    pub reason: &'static str,
}

/// `name` if it is one plain file or folder name, else why not.
pub fn component(name: &str) -> Result<&str, UnsafeName> {
    let refuse = |reason| {
        Err(UnsafeName {
            // Control characters shown escaped, the rest as typed.
            name: name
                .chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_debug().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("it is empty");
    }
    if name == "." || name == ".." {
        return refuse("it names a folder itself or its parent");
    }
    if name.contains(['/', '\\']) {
        return refuse("it contains a path separator");
    }
    if name.contains(':') {
        return refuse("it contains `:` (a drive or stream name on Windows)");
    }
    if name.contains('\0') {
        return refuse("it contains a NUL character");
    }
    if name.chars().any(char::is_control) {
        return refuse("it contains a control character");
    }
    Ok(name)
}

/// `root` joined with `parts`, each checked by [`component`]; the result lies under `root`.
pub fn confined(root: &Path, parts: &[&str]) -> Result<PathBuf, UnsafeName> {
    let mut path = root.to_path_buf();
    for part in parts {
        path.push(component(part)?);
    }
    // The second lock: whatever the rules above allow, the result must still be below root.
    let below = path
        .strip_prefix(root)
        .map(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))))
        .unwrap_or(false);
    if !below {
        return Err(UnsafeName {
            name: parts.join("/"),
            reason: "it leads outside its folder",
        });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_join() {
        let p = confined(Path::new("/w"), &["mappings", "320900", "drug.csv"]).unwrap();
        assert_eq!(p, PathBuf::from("/w/mappings/320900/drug.csv"));
        assert_eq!(component("医保[2024]"), Ok("医保[2024]"));
        assert_eq!(component("a..b"), Ok("a..b"));
    }

    #[test]
    fn i16_3_unsafe_names_are_refused() {
        for (name, reason) in [
            ("", "it is empty"),
            (".", "it names a folder itself or its parent"),
            ("..", "it names a folder itself or its parent"),
            ("../../../../../tmp/x", "it contains a path separator"),
            ("/tmp/x", "it contains a path separator"),
            ("a\\..\\b", "it contains a path separator"),
            ("C:x", "it contains `:` (a drive or stream name on Windows)"),
            ("a\0b", "it contains a NUL character"),
            ("a\nb", "it contains a control character"),
        ] {
            let e = confined(Path::new("/w"), &["mappings", name]).unwrap_err();
            assert_eq!(e.reason, reason, "{name:?}");
        }
        assert_eq!(
            component("a\0b").unwrap_err().to_string(),
            "`a\\0b` cannot be used as a file or folder name: it contains a NUL character"
        );
    }
}
