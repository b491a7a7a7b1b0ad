//! `yibao samples generate` is deterministic: the same seed gives the same bytes in every file,
//! another seed gives other data.

mod common;

use common::Workdir;

fn generate(w: &Workdir, seed: &str, out: &str) {
    w.run(&[
        "samples", "generate", "--rows", "20000", "--seed", seed, "--out", out,
    ])
    .expect_code(0);
}

const FILES: &[&str] = &[
    "data/settlements.csv",
    "data/fee_details.csv",
    "truth.csv",
    "yibao.toml",
    "mappings/320900/drug.csv",
    "national/drug.csv",
];

#[test]
fn same_seed_same_bytes_other_seed_other_data() {
    let w = Workdir::new();
    generate(&w, "7", "a");
    generate(&w, "7", "b");
    generate(&w, "8", "c");
    let read = |d: &str, f: &str| std::fs::read(w.path().join(d).join(f)).unwrap();
    for f in FILES {
        assert!(
            read("a", f) == read("b", f),
            "{f} differs between two runs with seed 7"
        );
    }
    assert!(read("a", "data/fee_details.csv") != read("c", "data/fee_details.csv"));
    assert!(read("a", "truth.csv") != read("c", "truth.csv"));
}
