//! The yibao.toml that `yibao init` writes: every section present and explained, so a new user
//! edits rather than writes from nothing. It must always load (a test checks it does).

/// The starting yibao.toml.
pub const YIBAO_TOML: &str = r#"# yibao workspace. Formats: docs/WORKSPACE.md in the yibao repository.

[workspace]
name = "my migration"
out = "out"                       # reports, rejects and batches go here

# Coordination areas (统筹区): 6-digit 医保区划 code and name.
[[areas]]
code = "320900"
name = "盐城市"

# National code-set versions to check against (load them with `yibao codes import`).
[code_sets]
diagnosis = "2.0"
procedure = "2.0"

# One [[datasets]] table per legacy dataset.
#   kind: settlement | fee-detail | diagnosis | operation | drug-catalog | service-catalog |
#         consumable-catalog | institution
#   path: a file or a glob, relative to this folder
#   format: csv | tsv | xlsx | xls | parquet | sqlite (default: from the extension)
#   encoding: utf-8 | gbk | gb18030 | auto (default: auto, detected and reported)
#   header_row: 1-based row of the column names (default: detected)
#   [datasets.columns]: source column = national field name (local extras start with x_)
[[datasets]]
name = "settlements"
area = "320900"
kind = "settlement"
path = "data/settlements*.csv"
encoding = "auto"
key = ["setl_id"]

[datasets.columns]
"结算ID" = "setl_id"
"就诊ID" = "mdtrt_id"
"医疗费总额" = "medfee_sumamt"

[rules]
packs = ["national"]

[batch]
max_records = 10000
max_bytes = 8388608

[thresholds]
dirty_rate = 0.15                 # exit 1 when the dirty-data rate is above this
coverage = 0.95                   # exit 1 when mapping coverage is below this
"#;
