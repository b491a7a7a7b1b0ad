//! Shared helpers for integration tests: a fresh workspace in a temp dir, the real `yibao`
//! binary run inside it, and output shown in full when an assertion fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A temporary workspace folder that the binary runs in.
pub struct Workdir {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Assert the exit code, printing everything the binary said when it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file (creating folders) and return its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Run `yibao ARGS` with this folder as the workspace and the current directory.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(&[], args)
    }

    /// The same with environment variables set.
    pub fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let out = Command::cargo_bin("yibao")
            .unwrap()
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap();
        Run::from(out)
    }
}

/// A file of the repository (samples, fixtures).
pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A file of `../shared/`, or `None` (with a note on stderr) when it is absent.
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

/// An xlsx workbook: one sheet, optional merged title row, then the rows given.
pub fn xlsx(sheet: &str, title: Option<&str>, rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).unwrap();
    let mut r = 0u32;
    if let Some(title) = title {
        let width = rows.first().map(|h| h.len()).unwrap_or(1).max(1) as u16;
        ws.merge_range(0, 0, 0, width - 1, title, &rust_xlsxwriter::Format::new())
            .unwrap();
        r = 1;
    }
    for row in rows {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r, c as u16, *v).unwrap();
        }
        r += 1;
    }
    book.save_to_buffer().unwrap()
}

/// A generator's `truth.csv` (GBK or UTF-8; ASCII in practice): per dataset, rule -> the rows that
/// must fail it.
pub fn truth(
    path: &Path,
) -> std::collections::BTreeMap<
    String,
    std::collections::BTreeMap<String, std::collections::BTreeSet<u64>>,
> {
    let bytes = std::fs::read(path).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&bytes);
    let mut out: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, std::collections::BTreeSet<u64>>,
    > = Default::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let row: u64 = f[1].parse().unwrap();
        for rule in f[3].split(';').filter(|r| !r.is_empty()) {
            out.entry(f[0].to_string())
                .or_default()
                .entry(rule.to_string())
                .or_default()
                .insert(row);
        }
    }
    out
}
