"""The reference peer for `yibao check`: the same rules written as DuckDB SQL.

It reads the workspace's yibao.toml, the rule pack (quality-rules/national.toml) and the
report.json of a `yibao check` run on the same workspace. The report says which rules ran on
each dataset and which were skipped, so both sides run the same rule set. Each rule kind is
translated mechanically to a SQL boolean "this record fails" (one function per kind). A few
hand-written pieces cover what a regex or a pass-through cannot: the national code structures
and the GB 11643 check digit. Every rule of a dataset is one column of a single SELECT, as in
yibao; the dirty count is "fails at least one error rule".

What it reproduces of yibao's reading (src/source/sink.rs, normalise.rs):
- every cell: full-width ASCII and U+3000 to half-width, surrounding white space trimmed,
  empty strings and placeholders (`--`, `nan`, `NULL`, ...) read as missing;
- date and date-time fields (by national field name): legacy layouts rewritten as ISO;
- `_raw` is set when normalisation changed any cell (rule read.normalised);
- the crosswalks of mappings/<area>/<family>.csv (approved rows; plain rows joined on the local
  code, first family and first row winning; dated rows as a CASE chain) give med_list_codg;
- typing (src/rules/compile.rs typed_columns): amounts/counts to DOUBLE, dates and times
  parsed, `__bad_<field>` = present but unparseable.
What it does not: `_defect` (ragged rows) is not computed. DuckDB's CSV reader pads short rows
and cannot tell them from trailing empty fields, so read.ragged counts 0 here. The generator
writes no ragged rows.

DuckDB reads UTF-8 only (its GBK support is a downloadable extension, unavailable offline),
so GBK files are transcoded first with Python's codec. The transcode is timed apart, as in
duckdb_profile.py.

usage: python3 duckdb_check.py WORKSPACE [--report report.json] [--pack national.toml]
           [--threads 2] [--compare] [--sql] [--failing RULE_ID]
       python3 duckdb_check.py --examples [--pack national.toml]
prints one JSON line: {"rows", "transcode_s", "load_s", "rules_s", "query_s", "total_s",
"code_sets", "datasets": {name: {"records", "dirty", "warned", "rules": {id: [failed,
applicable]}}}, "notes"}. load_s is reading + normalising into DuckDB tables; rules_s the rule
queries; query_s both. With --compare it also prints yibao's count against DuckDB's for every
rule, and a line `agreement: X of Y rules equal`. --examples runs every rule's pass/fail
examples through the SQL (no workspace needed).
"""
import argparse
import atexit
import csv
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PACK = os.path.join(HERE, "..", "quality-rules", "national.toml")

# --- field types: src/workspace/fields.rs field_type -------------------------------------------

DATE_FIELDS = {"brdy", "begndate", "enddate", "setl_begn_date", "setl_end_date",
               "opsp_mdtrt_date", "oprn_oprt_date", "die_date", "dcla_time"}
NUMBER_FIELDS = {"cnt", "pric", "act_ipt_days", "age", "nwb_age", "nwb_bir_wt", "nwb_adm_wt",
                 "bld_amt"}


def field_type(f):
    """'date', 'datetime', 'number' or None (text, codes)."""
    if f in DATE_FIELDS:
        return "date"
    if f in NUMBER_FIELDS:
        return "number"
    if f.endswith("_time") or f.endswith("begntime") or f.endswith("endtime"):
        return "datetime"
    if (f.endswith("_amt") or f.endswith("sumamt") or f.endswith("_pay") or f.endswith("payamt")
            or f.endswith("_sumfee") or f.endswith("_selfpay")
            or f in ("balc", "amt", "psn_ownpay", "psn_cashpay")):
        return "number"
    return None


def national_field(field):
    """src/workspace/mod.rs CodeField::national_field."""
    return "med_list_codg" if field in ("medins_list_codg", "fixmedins_hilist_id") else field


CATALOG = ["drug", "service", "consumable"]


def families_of(name):
    return CATALOG if name == "catalog" else [name]


# --- SQL helpers --------------------------------------------------------------------------------

def q(name):
    return '"' + name.replace('"', '""') + '"'


def lit(s):
    return "'" + str(s).replace("'", "''") + "'"


FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + " "
# Rust char::is_whitespace, plus the BOM (normalise.rs trims both).
WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B))
              + "\u2028\u2029\u202f\u205f\u3000\ufeff")
WS_ORDS = ", ".join(str(ord(c)) for c in WHITESPACE)
PLACEHOLDERS = ["--", "---", "----", "nan", "NaN", "NAN", "null", "NULL", "None", "#N/A", "N/A"]

MACROS = f"""
CREATE OR REPLACE MACRO yb_fw(x) AS (
  CASE WHEN strlen(x) <> length(x) AND regexp_matches(x, '[\\x{{FF01}}-\\x{{FF5E}}\\x{{3000}}]')
       THEN translate(x, {lit(FULL)}, {lit(HALF)}) ELSE x END);
CREATE OR REPLACE MACRO yb_trim(x) AS (
  CASE WHEN x = '' THEN x
       WHEN ord(x[1]) IN ({WS_ORDS}) OR ord(x[-1]) IN ({WS_ORDS}) THEN trim(x, {lit(WHITESPACE)})
       ELSE x END);
CREATE OR REPLACE MACRO nullif_ph(t) AS (
  CASE WHEN t = '' OR t IN ({", ".join(lit(p) for p in PLACEHOLDERS)}) THEN NULL ELSE t END);
CREATE OR REPLACE MACRO yb_dateprep(v) AS (
  CASE WHEN v LIKE '% - %' THEN replace(v, ' ', '')
       WHEN v LIKE '%年%' THEN replace(replace(replace(v, '年', '-'), '月', '-'), '日', '')
       WHEN length(v) = 17 AND regexp_full_match(v, '[0-9]{{17}}') THEN left(v, 14)
       ELSE v END);
CREATE OR REPLACE MACRO yb_dateparse(v) AS (
  CASE WHEN regexp_full_match(v, '[0-9]+') AND length(v) NOT IN (8, 14, 17) THEN NULL
       ELSE try_strptime(yb_dateprep(v), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d', '%Y-%m-%dT%H:%M:%S',
         '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d',
         '%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y', '%Y%m%d%H%M%S', '%Y%m%d']) END);
CREATE OR REPLACE MACRO yb_date(v) AS (
  CASE WHEN v IS NULL THEN NULL ELSE coalesce(strftime(yb_dateparse(v), '%Y-%m-%d'), v) END);
CREATE OR REPLACE MACRO yb_datetime(v) AS (
  CASE WHEN v IS NULL THEN NULL
       ELSE coalesce(strftime(yb_dateparse(v), '%Y-%m-%d %H:%M:%S'), v) END);
CREATE OR REPLACE MACRO yb_gb11643(s) AS (
  substr('10X98765432', 1 + (
    7 * (ascii(s[1]) - 48) + 9 * (ascii(s[2]) - 48) + 10 * (ascii(s[3]) - 48)
    + 5 * (ascii(s[4]) - 48) + 8 * (ascii(s[5]) - 48) + 4 * (ascii(s[6]) - 48)
    + 2 * (ascii(s[7]) - 48) + 1 * (ascii(s[8]) - 48) + 6 * (ascii(s[9]) - 48)
    + 3 * (ascii(s[10]) - 48) + 7 * (ascii(s[11]) - 48) + 9 * (ascii(s[12]) - 48)
    + 10 * (ascii(s[13]) - 48) + 5 * (ascii(s[14]) - 48) + 8 * (ascii(s[15]) - 48)
    + 4 * (ascii(s[16]) - 48) + 2 * (ascii(s[17]) - 48)) % 11, 1));
CREATE OR REPLACE MACRO yb_gs1(s) AS (
  (10 - list_sum([(ascii(s[14 - i]) - 48) * CASE WHEN i % 2 = 1 THEN 3 ELSE 1 END
                  FOR i IN range(1, 14)]) % 10) % 10 = ascii(s[14]) - 48);
CREATE OR REPLACE MACRO yb_gb32100(s) AS (
  substr('0123456789ABCDEFGHJKLMNPQRTUWXY', 1 + CAST((31 - list_sum([
    (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', s[i]) - 1)
    * [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28][i]
    FOR i IN range(1, 18)]) % 31) % 31 AS BIGINT), 1) = s[18]);
CREATE OR REPLACE MACRO yb_gb11714(s) AS (
  CASE 11 - list_sum([(CASE WHEN s[i] BETWEEN '0' AND '9' THEN ascii(s[i]) - 48
                            ELSE ascii(s[i]) - 55 END) * [3, 7, 9, 10, 5, 8, 4, 2][i]
                      FOR i IN range(1, 9)]) % 11
    WHEN 10 THEN 'X' WHEN 11 THEN '0'
    ELSE CAST(11 - list_sum([(CASE WHEN s[i] BETWEEN '0' AND '9' THEN ascii(s[i]) - 48
                                   ELSE ascii(s[i]) - 55 END) * [3, 7, 9, 10, 5, 8, 4, 2][i]
                             FOR i IN range(1, 9)]) % 11 AS VARCHAR) END = s[9]);
"""

# Hand-written well-formedness of codes "as written" (src/codes/*.rs: parsed with no flags).
# The five families are only used when the family has no code set loaded: a code present in a
# loaded set is well-formed (`codes import` refuses any other), so membership decides alone.
PROVINCES = ("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
             "61 62 63 64 65 71 81 82").split()
WELL_FORMED = {
    # exact ports
    "institution": lambda c: f"regexp_full_match({c}, 'H[0-9]{{11}}')",
    "pharmacy": lambda c: f"regexp_full_match({c}, 'P[0-9]{{11}}')",
    "doctor": lambda c: f"regexp_full_match({c}, 'D[0-9]{{12}}')",
    "nurse": lambda c: f"regexp_full_match({c}, 'N[0-9]{{12}}')",
    "admin-area": lambda c: f"(regexp_full_match({c}, '[0-9]{{6}}') AND left({c}, 2) IN ({', '.join(lit(p) for p in PROVINCES)}))",
    "resident-id": lambda c: (
        f"(regexp_full_match({c}, '[0-9]{{17}}[0-9X]') AND left({c}, 2) IN ({', '.join(lit(p) for p in PROVINCES)})"
        f" AND try_strptime(substr({c}, 7, 8), '%Y%m%d') IS NOT NULL"
        f" AND substr({c}, 7, 4)::INT BETWEEN 1800 AND 2199"
        f" AND yb_gb11643({c}) = substr({c}, 18, 1))"),
    "diagnosis": lambda c: (
        f"regexp_full_match({c}, '[A-Z][0-9]{{2}}\\.[0-9x][0-9]{{2}}(x[0-9]{{3}})?"
        f"(\\+[A-Z][0-9]{{2}}(\\.[0-9])?\\*)?')"),
    "drug-standard-code": lambda c: f"(regexp_full_match({c}, '869[0-9]{{11}}') AND yb_gs1({c}))",
    "credit-code": lambda c: (
        f"(regexp_full_match({c}, '[0-9A-HJ-NPQRTUWXY]{{2}}[0-9]{{6}}[0-9A-HJ-NPQRTUWXY]{{10}}')"
        f" AND yb_gb11714(substr({c}, 9, 9)) AND yb_gb32100({c}))"),
    "approval-number": lambda c: (
        f"(regexp_full_match({c}, '国药准字(H|Z|S|B|T|F|J|HJ|ZJ|SJ)[0-9]{{8}}')"
        f" AND substr(regexp_extract({c}, '[0-9]{{8}}$'), 1, 2) IN ('10', '19', '20', "
        f"{', '.join(lit(p) for p in PROVINCES)}))"),
    # approximations (not used when the family's table is loaded)
    "procedure": lambda c: f"regexp_full_match({c}, '[0-9]{{2}}\\.[0-9x]{{2}}[0-9]{{2,3}}(x[0-9]{{3,4}})?')",
    "service": lambda c: f"regexp_full_match({c}, '[0-9]{{15}}(-[0-9]{{9}})?')",
    "drug": lambda c: f"regexp_full_match({c}, '[XZ][A-Z][A-Z0-9]{{21}}|T[0-9]{{9}}([0-9]{{10}})?|J[A-Z0-9]{{15}}')",
    "consumable": lambda c: f"regexp_full_match({c}, 'C[0-9]{{19}}([0-9]{{7}})?')",
}
APPROXIMATE = {"procedure", "service", "drug", "consumable", "approval-number"}

# polars SQL spelled differently in DuckDB; everything else in the pack passes through.
SQL_REWRITES = [(re.compile(r"\bREGEXP_LIKE\s*\(", re.I), "regexp_matches(")]
# Rule-specific SQL, when a rule's expression needs more than the rewrites (none needed so far).
HAND_SQL = {}


def sql_of(text):
    for pat, rep in SQL_REWRITES:
        text = pat.sub(rep, text)
    return f"({text})"


# --- the rule kinds -----------------------------------------------------------------------------

class Ctx:
    """What a dataset's rules need: its typed fields, loaded code sets, other datasets."""

    def __init__(self, typed, books, dictionaries, refs, sums, uniques, notes):
        self.typed = typed          # field -> type, for the typed fields of the frame
        self.books = books          # family -> table name of valid codes
        self.dictionaries = dictionaries
        self.refs = refs            # (kind, field) -> table of distinct values
        self.sums = sums            # rule id -> column of the joined detail sum
        self.uniques = uniques      # rule id -> column of the row number within the key
        self.notes = notes


def k_required(r, c):
    parts = []
    for f in r["fields"]:
        if f in c.typed:
            parts.append(f"({q(f)} IS NULL AND NOT {q('__bad_' + f)})")
        else:
            parts.append(f"{q(f)} IS NULL")
    return " OR ".join(parts)


def k_pattern(r, c):
    v = f"CAST({q(r['field'])} AS VARCHAR)"
    return f"({v} IS NOT NULL AND NOT regexp_full_match({v}, {lit('(?:' + r['regex'] + ')')}))"


# codes::damage: scientific notation, a float ending, float noise (twelve or more decimals with a
# run of nines or zeros); the same regular expressions as the Rust side.
SCIENTIFIC = r"^\s*[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+\s*$"
FLOAT_ENDING = r"^\s*[0-9]+\.0+\s*$"
FLOAT_NOISE_SHAPE = r"^\s*[0-9]+\.[0-9]{12,}\s*$"
FLOAT_NOISE_RUN = r"\.[0-9]*(?:99999|00000)"


def k_identifier(r, c):
    parts = []
    for f in r["fields"]:
        if f not in c.cols:
            continue
        v = f"CAST({q(f)} AS VARCHAR)"
        m = lambda p: f"regexp_matches({v}, {lit(p)})"
        parts.append(f"({v} IS NOT NULL AND ({m(SCIENTIFIC)} OR {m(FLOAT_ENDING)} OR "
                     f"({m(FLOAT_NOISE_SHAPE)} AND {m(FLOAT_NOISE_RUN)})))")
    return " OR ".join(parts) or "FALSE"


def k_national_code(r, c):
    fam = r["family"]
    v = f"CAST({q(r['field'])} AS VARCHAR)"
    fams = families_of(fam) if fam in CATALOG + ["catalog", "diagnosis", "procedure"] else []
    loaded = [c.books[f] for f in fams if f in c.books]
    present = r.get("present", True)
    if loaded and present:
        # In a loaded, current version and not retired; membership implies well-formed.
        member = " OR ".join(f"{v} IN (SELECT code FROM {t})" for t in loaded)
        return f"({v} IS NOT NULL AND NOT ({member}))"
    checks = [WELL_FORMED[f] for f in (fams or [fam]) if f in WELL_FORMED]
    if not checks:
        c.notes.append(f"{r['id']}: no SQL for the structure of `{fam}`; counted as passing")
        return "FALSE"
    if any(f in APPROXIMATE for f in (fams or [fam])):
        c.notes.append(f"{r['id']}: `{fam}` structure is a regex approximation of src/codes")
    vt = f"trim({v})"
    return f"({v} IS NOT NULL AND NOT coalesce({' OR '.join(ch(vt) for ch in checks)}, FALSE))"


def k_check_digit(r, c):
    scheme = r["scheme"]
    v = f"CAST({q(r['field'])} AS VARCHAR)"
    if scheme not in WELL_FORMED:
        c.notes.append(f"{r['id']}: no SQL for the `{scheme}` check digit; counted as passing")
        return "FALSE"
    return f"({v} IS NOT NULL AND NOT coalesce({WELL_FORMED[scheme](v)}, FALSE))"


def k_mapped(r, c):
    return f"({q(r['field'])} IS NOT NULL AND {q('_map_' + r['field'])} IS NULL)"


def k_allowed(r, c):
    values = r.get("values") or c.dictionaries.get(r.get("dictionary"), [])
    v = f"CAST({q(r['field'])} AS VARCHAR)"
    return f"({v} IS NOT NULL AND {v} NOT IN ({', '.join(lit(x) for x in values) or 'NULL'}))"


def k_range(r, c):
    f = r["field"]
    t = field_type(f)
    is_date = t in ("date", "datetime")

    def bound(b):
        if is_date:
            return "current_date" if b == "today" else f"DATE {lit(b)}"
        return repr(float(b))
    value = f"CAST({q(f)} AS DATE)" if is_date else f"TRY_CAST({q(f)} AS DOUBLE)"
    if f in c.typed:
        out = [q("__bad_" + f)]
    else:
        out = [f"({q(f)} IS NOT NULL AND {value} IS NULL)"]
    if "min" in r:
        out.append(f"coalesce({value} < {bound(r['min'])}, FALSE)")
    if "max" in r:
        out.append(f"coalesce({value} > {bound(r['max'])}, FALSE)")
    return "(" + " OR ".join(out) + ")"


def k_date_order(r, c):
    # the pairs of dates the dataset has (src/rules/compile.rs narrowed)
    fs = [f for f in r["fields"] if f in getattr(c, "cols", r["fields"])]
    ts = lambda f: f"CAST({q(f)} AS TIMESTAMP)"
    pairs = [f"{ts(fs[i])} > {ts(fs[j])}" for i in range(len(fs)) for j in range(i + 1, len(fs))]
    return "(" + " OR ".join(pairs) + ")"


def k_sum(r, c):
    tol = r.get("tolerance", 0.01) + 1e-9
    parts = " + ".join(f"CAST({q(p)} AS DOUBLE)" for p in r["parts"])
    return f"(abs(CAST({q(r['total'])} AS DOUBLE) - ({parts})) > {tol!r})"


def k_detail_sum(r, c):
    tol = r.get("tolerance", 0.01) + 1e-9
    return f"(abs(CAST({q(r['total'])} AS DOUBLE) - coalesce({q(c.sums[r['id']])}, 0)) > {tol!r})"


def k_cross_field(r, c):
    code = f"upper(CAST({q(r['field'])} AS VARCHAR))"
    hit = " OR ".join(f"starts_with({code}, {lit(p.upper())})" for p in r["prefixes"])
    return f"(coalesce({hit}, FALSE) AND NOT coalesce({sql_of(r['then'])}, TRUE))"


def k_unique(r, c):
    present = " AND ".join(f"{q(f)} IS NOT NULL" for f in r["fields"])
    return f"({present} AND {q(c.uniques[r['id']])})"


def k_reference(r, c):
    target = r.get("to_field", r["field"])
    v = f"CAST({q(r['field'])} AS VARCHAR)"
    return f"({v} IS NOT NULL AND {v} NOT IN (SELECT v FROM {c.refs[(r['to'], target)]}))"


def k_expression(r, c):
    return f"NOT coalesce({HAND_SQL.get(r['id'], sql_of(r['expr']))}, TRUE)"


KINDS = {
    "required": k_required, "pattern": k_pattern, "national-code": k_national_code,
    "identifier": k_identifier,
    "check-digit": k_check_digit, "mapped": k_mapped, "allowed": k_allowed, "range": k_range,
    "date-order": k_date_order, "sum": k_sum, "detail-sum": k_detail_sum,
    "cross-field": k_cross_field, "unique": k_unique, "reference": k_reference,
    "expression": k_expression,
}


# --- reading ------------------------------------------------------------------------------------

def header_of(path, encoding, delimiter=None):
    """(0-based line of the header, its column names, the delimiter): the header is the first
    line with the modal number of fields (as src/source/text.rs detect_header does for title
    rows above the header)."""
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        lines = [l for l in (f.readline() for _ in range(50)) if l]
    if not delimiter:
        text = "".join(lines)
        delimiter = max([",", "\t", ";", "|"], key=text.count)
    rows = [next(csv.reader([l], delimiter=delimiter), []) for l in lines]
    counts = [len(r) for r in rows]
    modal = max(set(counts), key=counts.count)
    at = next(i for i, n in enumerate(counts) if n == modal)
    names = [n.strip().lstrip("\ufeff") for n in rows[at]]
    return at, names, delimiter


def transcode(path, encoding, tmpdir):
    if encoding.lower().replace("-", "") in ("utf8", "utf8bom"):
        return path
    fd, tmp = tempfile.mkstemp(suffix=".csv", dir=tmpdir)
    # iconv (glibc) when the machine has it: the strongest simple setup, several times faster
    # than Python's codec. DUCKDB_TRANSCODE=python forces the codec.
    if os.environ.get("DUCKDB_TRANSCODE", "iconv") == "iconv" and shutil.which("iconv"):
        name = {"gbk": "GBK", "gb18030": "GB18030"}.get(encoding.lower(), encoding)
        with os.fdopen(fd, "wb") as out:
            subprocess.run(["iconv", "-c", "-f", name, "-t", "UTF-8", path], stdout=out, check=True)
        return tmp
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, \
            open(path, encoding=encoding, errors="replace", newline="") as inp:
        while True:
            chunk = inp.read(1 << 22)
            if not chunk:
                break
            out.write(chunk)
    return tmp


def load_dataset(con, table, src, head, columns):
    """CREATE TABLE of the normalised records: mapped columns under national names, `_raw`
    true where normalisation changed a cell, `_defect` (not computed: NULL)."""
    skip, header_names, delimiter = head
    names = header_names
    # Staged projections, so that each step is computed once per cell: full-width folding,
    # then trimming and placeholders, then the date layouts.
    s1, s2, s3, out, changed = [], [], [], [], []
    for i, n in enumerate(names):
        field = columns.get(n, n)
        t = field_type(field) if n in columns else None
        s1.append(f"{q(n)} AS r{i}, yb_fw({q(n)}) AS a{i}")
        s2.append(f"r{i}, nullif_ph(yb_trim(a{i})) AS b{i}")
        if t == "date":
            s3.append(f"r{i}, yb_date(b{i}) AS v{i}")
        elif t == "datetime":
            s3.append(f"r{i}, yb_datetime(b{i}) AS v{i}")
        else:
            s3.append(f"r{i}, b{i} AS v{i}")
        out.append(f"v{i} AS {q(field)}")
        changed.append(f"(r{i} IS NOT NULL AND (v{i} IS NULL OR v{i} <> r{i}))")
    reader = (f"read_csv({lit(src)}, header=false, skip={skip + 1}, delim={lit(delimiter)}, "
              f"quote='\"', escape='\"', auto_detect=false, "
              f"columns={{{', '.join(lit(n) + ': ' + lit('VARCHAR') for n in names)}}}, "
              f"strict_mode=false, null_padding=true)")
    con.execute(
        f"CREATE TABLE {table} AS SELECT {', '.join(out)}, "
        f"CASE WHEN {' OR '.join(changed)} THEN '{{}}' END AS _raw, NULL::VARCHAR AS _defect "
        f"FROM (SELECT {', '.join(s3)} FROM (SELECT {', '.join(s2)} FROM "
        f"(SELECT {', '.join(s1)} FROM {reader})))")
    return [columns.get(n, n) for n in names] + ["_raw", "_defect"]


def version_key(v):
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", v) if p]


def load_books(con, ws_root, pinned, tmpdir):
    """The current version of every loaded family, from the workspace's store, as tables of
    valid (present, not retired) codes. Returns family -> table, family -> version, notes."""
    db = os.path.join(ws_root, ".yibao", "state.db")
    books, versions, notes = {}, {}, []
    if not os.path.exists(db):
        return books, versions, notes
    lite = sqlite3.connect(db)
    fams = {}
    for fam, ver, sid in lite.execute("SELECT family, version, id FROM code_sets"):
        fams.setdefault(fam, []).append((ver, sid))
    for fam, sets in fams.items():
        sets.sort(key=lambda s: version_key(s[0]))
        cur = next((s for s in sets if s[0] == pinned.get(fam)), sets[-1])
        if len(sets) > 1:
            notes.append(f"{fam}: {len(sets)} versions loaded; checked against {cur[0]} only "
                         "(dated version selection per record is not reproduced)")
        path = os.path.join(tmpdir, f"book-{fam}.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["code"])
            for (code,) in lite.execute("SELECT code FROM codes WHERE set_id = ? AND retired = 0",
                                        (cur[1],)):
                w.writerow([code])
        table = f"book_{fam}"
        con.execute(f"CREATE TABLE {table} AS SELECT DISTINCT code FROM read_csv({lit(path)}, "
                    "header=true, all_varchar=true, quote='\"')")
        books[fam] = table
        versions[fam] = cur[0]
    return books, versions, notes


def crosswalk_sql(con, ws_root, area, code_field, family_name, date_field, tmpdir, notes):
    """A table (lc, nc, fam) of the plain approved rows, first family and first row winning, and
    a CASE chain for dated rows. Returns (table, national expr, family expr)."""
    plain, complex_rows, order = [], [], 0
    for fam in families_of(family_name):
        path = os.path.join(ws_root, "mappings", area, f"{fam}.csv")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                if (row.get("status") or "").strip() != "approved":
                    continue
                order += 1
                if (row.get("condition") or "").strip():
                    notes.append(f"crosswalk {path}: a row with a condition is not reproduced")
                    continue
                if (row.get("valid_from") or "").strip() or (row.get("valid_to") or "").strip():
                    complex_rows.append((fam, row))
                else:
                    plain.append((order, row["local_code"].strip(), row["national_code"].strip(), fam))
    table = f"xw_{code_field}"
    path = os.path.join(tmpdir, f"{table}.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ord", "lc", "nc", "fam"])
        w.writerows(plain)
    con.execute(f"CREATE TABLE {table} AS SELECT lc, arg_min(nc, ord::INT) AS nc, "
                f"arg_min(fam, ord::INT) AS fam FROM read_csv({lit(path)}, header=true, "
                f"all_varchar=true) GROUP BY lc")
    nat, fam_e = f"{table}.nc", f"{table}.fam"
    for fam, row in reversed(complex_rows):
        cond = f"{q(code_field)} = {lit(row['local_code'].strip())}"
        if date_field:
            day = f"left(CAST({q(date_field)} AS VARCHAR), 10)"
            if row.get("valid_from", "").strip():
                cond += f" AND {day} >= {lit(row['valid_from'].strip())}"
            if row.get("valid_to", "").strip():
                cond += f" AND {day} <= {lit(row['valid_to'].strip())}"
        nat = f"CASE WHEN coalesce({cond}, FALSE) THEN {lit(row['national_code'].strip())} ELSE {nat} END"
        fam_e = f"CASE WHEN coalesce({cond}, FALSE) THEN {lit(fam)} ELSE {fam_e} END"
    return table, nat, fam_e


# --- the check ----------------------------------------------------------------------------------

def rule_query(con, table, cols, source, extra, joins, ids, rules, c, others):
    """The SELECT computing, for the rules `ids` over `table`, count(*), per rule the failed (and,
    with `when`, applicable) counts, then the dirty and warned counts. `source` maps a field to
    the SQL of its text value (after crosswalks); `others` lists (kind, table, fields) of every
    dataset, for `reference` and `detail-sum`. Returns (sql, per-rule columns, row source)."""
    refs, sums = c.refs, c.sums
    # other datasets: reference sets and detail sums
    for rid in ids:
        r = rules[rid]
        if r["kind"] == "reference":
            target = r.get("to_field", r["field"])
            key = (r["to"], target)
            if key not in refs:
                parts = [f"SELECT CAST({q(target)} AS VARCHAR) AS v FROM {t}"
                         for k, t, fs in others if k == r["to"] and target in fs]
                parts = parts or ["SELECT NULL::VARCHAR AS v"]
                refs[key] = f"ref_{table}_{len(refs)}"
                con.execute(f"CREATE TABLE {refs[key]} AS SELECT DISTINCT v FROM "
                            f"({' UNION ALL '.join(parts)}) WHERE v IS NOT NULL")
        if r["kind"] == "detail-sum":
            key, det = r["key"], r["detail_field"]
            parts = [f"SELECT CAST({q(key)} AS VARCHAR) AS k, TRY_CAST(trim({q(det)}) AS DOUBLE) AS s "
                     f"FROM {t}" for k, t, fs in others
                     if k == r["detail"] and key in fs and det in fs]
            parts = parts or ["SELECT NULL::VARCHAR AS k, NULL::DOUBLE AS s"]
            st = f"sum{len(sums)}"
            sums[rid] = f"__sum_{rid}"
            joins.append(f"LEFT JOIN (SELECT k, sum(s) AS {q(sums[rid])} FROM "
                         f"({' UNION ALL '.join(parts)}) GROUP BY k) {st} ON {st}.k = "
                         f"CAST({table}.{q(key)} AS VARCHAR)")
    # typed frame
    base = []
    typed = c.typed
    for f in cols:
        if f in typed:
            raw = f"({source[f]})"
            value = typed_expr(raw, typed[f])
            base.append(f"({raw} IS NOT NULL AND {value} IS NULL) AS {q('__bad_' + f)}")
            base.append(f"{value} AS {q(f)}")
        else:
            base.append(f"{source[f]} AS {q(f)}")
    base += extra
    base.append(f"{table}.rowid AS __rowid")
    for rid in ids:
        if rules[rid]["kind"] == "detail-sum":
            base.append(q(sums[rid]))
    # unique rules: the later occurrences of a key, in file order, found on a narrow
    # projection (key, rowid) so that the window does not carry every column along
    for rid in ids:
        if rules[rid]["kind"] == "unique":
            alias = f"__dup{len(c.uniques)}"
            c.uniques[rid] = alias
            keys = ", ".join(q(f) for f in rules[rid]["fields"])
            fs = rules[rid]["fields"]
            # repeats = "all": every record of a key more than one record has
            every = rules[rid].get("repeats", "later") == "all"
            if all(source[f] == f"{table}.{q(f)}" for f in fs):
                kx = [typed_expr(q(f), typed[f]) if f in typed else q(f) for f in fs]
                win = (f"count(*) OVER (PARTITION BY {', '.join(kx)})" if every else
                       f"row_number() OVER (PARTITION BY {', '.join(kx)} ORDER BY rowid)")
                dups = f"SELECT rowid FROM {table} QUALIFY {win} > 1"
            else:
                t_inner = f"SELECT {', '.join(base)} FROM {table} {' '.join(joins)}"
                win = (f"count(*) OVER (PARTITION BY {keys})" if every else
                       f"row_number() OVER (PARTITION BY {keys} ORDER BY __rowid)")
                dups = (f"SELECT __rowid FROM (SELECT {keys}, __rowid FROM ({t_inner})) "
                        f"QUALIFY {win} > 1")
            base.append(f"{table}.rowid IN ({dups}) AS {alias}")
    t_sql = f"SELECT {', '.join(base)} FROM {table} {' '.join(joins)}"
    w_sql = t_sql
    fcols, aggs = [], ["count(*)"]
    errors, warnings = [], []
    for n, rid in enumerate(ids):
        r = rules[rid]
        fails = KINDS[r["kind"]](r, c)
        applies = f"coalesce({sql_of(r['when'])}, FALSE)" if r.get("when") else "TRUE"
        fcols.append(f"({applies} AND coalesce({fails}, FALSE)) AS f{n}")
        aggs.append(f"count_if(f{n})")
        if r.get("when"):
            fcols.append(f"{applies} AS a{n}")
            aggs.append(f"count_if(a{n})")
        (errors if r.get("severity", "error") == "error" else warnings).append(f"f{n}")
    aggs.append(f"count_if({' OR '.join(errors) or 'FALSE'})")
    aggs.append(f"count_if({' OR '.join(warnings) or 'FALSE'})")
    sql = f"SELECT {', '.join(aggs)} FROM (SELECT {', '.join(fcols)} FROM ({w_sql}))"
    return sql, fcols, w_sql


SQL_WORDS = {"and", "or", "not", "in", "is", "null", "like", "cast", "as", "date", "abs", "interval",
             "true", "false", "regexp_like", "regexp_matches"}


def sql_fields(text):
    """The field names an SQL condition reads (the pack writes keywords in upper case)."""
    text = re.sub(r"'[^']*'", "", text)
    return [w for w in re.findall(r"\b[a-z_][a-z0-9_]*\b", text) if w not in SQL_WORDS]


def rule_fields(r):
    k = r["kind"]
    out = list(r.get("fields", []))
    for key in ("field", "total", "key", "name_field", "date_field"):
        if key in r:
            out.append(r[key])
    out += r.get("parts", [])
    if k == "mapped":
        out.append("_map_" + r["field"])
    for key in ("when", "then", "expr"):
        if key in r:
            out += sql_fields(r[key])
    return out


def run_examples(pack_path):
    """Every rule's own pass/fail examples (as `yibao rules test` runs them) through the SQL
    translation: pass rows must not fail, fail rows must. Checks the translation of all rules of
    the pack, including those the generated workspace does not map."""
    with open(pack_path, "rb") as f:
        pack = tomllib.load(f)
    con = duckdb.connect()
    for stmt in MACROS.split(";\n"):
        if stmt.strip():
            con.execute(stmt)
    good, problems = 0, []

    def make_table(name, rows, extra_cols):
        cols = []
        for row in rows:
            cols += [k for k in row if k not in cols]
        cols += [k for k in extra_cols if k and k not in cols]
        con.execute(f"CREATE TABLE {name} ({', '.join(q(c) + ' VARCHAR' for c in cols)})")
        for row in rows:
            vals = [row.get(c) for c in cols]
            vals = [None if v is None or not str(v).strip() else str(v) for v in vals]
            con.execute(f"INSERT INTO {name} VALUES ({', '.join('?' for _ in cols)})", vals)
        return cols

    for n, r in enumerate(pack["rule"]):
        notes = []
        rows = r.get("pass", []) + r.get("fail", [])
        table = f"ex{n}"
        cols = make_table(table, rows, rule_fields(r))
        others = [(r["datasets"][0], table, cols)]
        if r["kind"] in ("reference", "detail-sum"):
            other_kind = r["to"] if r["kind"] == "reference" else r["detail"]
            ocols = make_table(f"exo{n}", r.get("other", []),
                               [r.get("to_field", r.get("field")) or "", r.get("key", ""),
                                r.get("detail_field", "")])
            others.append((other_kind, f"exo{n}", ocols))
        books = {}
        if r.get("codes"):
            con.execute(f"CREATE TABLE exb{n} AS SELECT unnest(?::VARCHAR[]) AS code",
                        [[c["code"] for c in r["codes"]]])
            books = {f: f"exb{n}" for f in CATALOG + ["diagnosis", "procedure"]}
        typed = {f: field_type(f) for f in cols if field_type(f) and not f.startswith("_")}
        c = Ctx(typed, books, pack.get("dictionaries", {}), {}, {}, {}, notes)
        c.cols = set(cols)
        source = {f: f"{table}.{q(f)}" for f in cols}
        try:
            _, fcols, w_sql = rule_query(con, table, cols, source, [], [], [r["id"]],
                                         {r["id"]: r}, c, others)
            hits = {h[0] for h in con.execute(
                f"SELECT __rowid FROM (SELECT __rowid, {', '.join(fcols)} FROM ({w_sql})) WHERE f0"
            ).fetchall()}
        except duckdb.Error as e:
            problems.append(f"{r['id']}: cannot run: {e}")
            continue
        npass = len(r.get("pass", []))
        wrong = [f"pass example {i + 1} failed" for i in range(npass) if i in hits]
        wrong += [f"fail example {i + 1} passed" for i in range(len(rows) - npass)
                  if npass + i not in hits]
        if wrong:
            problems.append(f"{r['id']} ({r['kind']}): {'; '.join(wrong)}"
                            + (f" [{'; '.join(notes)}]" if notes else ""))
        else:
            good += 1
    for p in problems:
        print(p)
    print(f"examples: {good} of {len(pack['rule'])} rules behave as their examples say")



def latest_report(ws_root):
    reports = sorted(glob.glob(os.path.join(ws_root, "out", "*", "report.json")))
    if not reports:
        sys.exit(f"no out/*/report.json in {ws_root}: run `yibao check` first, or pass --report")
    return reports[-1]


def typed_expr(raw, t):
    """src/rules/compile.rs typed_columns: the typed value of a text expression."""
    if t == "number":
        return f"TRY_CAST(trim({raw}) AS DOUBLE)"
    if t == "date":
        return f"CAST(try_strptime(left({raw}, 10), '%Y-%m-%d') AS DATE)"
    return (f"coalesce(try_strptime({raw}, '%Y-%m-%d %H:%M:%S'), "
            f"CAST(try_strptime({raw}, '%Y-%m-%d') AS TIMESTAMP))")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workspace", nargs="?")
    ap.add_argument("--examples", action="store_true", help="run every rule's pass/fail "
                    "examples through the SQL translation instead of checking a workspace")
    ap.add_argument("--report", help="yibao's report.json (default: the newest in out/)")
    ap.add_argument("--pack", default=DEFAULT_PACK)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compare", action="store_true", help="print yibao vs DuckDB per rule")
    ap.add_argument("--sql", action="store_true", help="print the generated SQL to stderr")
    ap.add_argument("--failing", metavar="RULE", help="print the 0-based data rows failing RULE "
                    "(debugging a disagreement; not timed apart)")
    args = ap.parse_args()
    if args.examples:
        run_examples(args.pack)
        return
    if not args.workspace:
        ap.error("WORKSPACE is required (or --examples)")
    t_start = time.time()
    root = os.path.abspath(args.workspace)
    with open(os.path.join(root, "yibao.toml"), "rb") as f:
        ws = tomllib.load(f)
    with open(args.pack, "rb") as f:
        pack = tomllib.load(f)
    report_path = args.report or latest_report(root)
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    rules = {r["id"]: r for r in pack["rule"]}
    dictionaries = pack.get("dictionaries", {})
    area_default = (ws.get("areas") or [{}])[0].get("code", "")
    pinned = {k: v for k, v in (ws.get("codes") or {}).items() if isinstance(v, str)}
    by_name = {d["name"]: d for d in ws["datasets"]}
    active = {d["name"]: [r["id"] for r in d["rules"]] for d in report["datasets"]}
    notes = []

    tmpdir = tempfile.mkdtemp(prefix="duckdb-check-", dir=os.path.join(root, ".yibao")
                              if os.path.isdir(os.path.join(root, ".yibao")) else None)
    atexit.register(shutil.rmtree, tmpdir, True)   # also when a query fails
    # 1. transcode (timed apart)
    t0 = time.time()
    srcs = {}
    for name in active:
        ds = by_name[name]
        path = os.path.join(root, ds["path"])
        enc = ds.get("encoding", "utf-8")
        srcs[name] = (transcode(path, enc, tmpdir), header_of(path, enc, ds.get("delimiter")))
    t1 = time.time()

    # 2. load: normalised tables, code sets, crosswalks, reference sets, detail sums
    con = duckdb.connect()
    con.execute(f"SET threads TO {args.threads}")
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"SET temp_directory = {lit(tmpdir)}")
    for stmt in MACROS.split(";\n"):
        if stmt.strip():
            con.execute(stmt)
    tables, fields = {}, {}
    for n, name in enumerate(active):
        ds = by_name[name]
        tables[name] = f"ds{n}"
        fields[name] = load_dataset(con, tables[name], srcs[name][0], srcs[name][1],
                                    ds.get("columns", {}))
    books, versions, book_notes = load_books(con, root, pinned, tmpdir)
    notes += book_notes
    t2 = time.time()

    # 3. the rules, dataset by dataset
    kinds = {name: by_name[name]["kind"] for name in active}
    refs, sums = {}, {}
    result = {}
    for name in active:
        ds = by_name[name]
        table = tables[name]
        cols = list(fields[name])
        joins = []
        source = {f: f"{table}.{q(f)}" for f in cols}   # field -> SQL of its text value
        extra = []                                       # _map_<field>, <field>_local
        # crosswalks (src/mapping/apply.rs)
        for code_field, fam in (ds.get("codes") or {}).items():
            nat_field = national_field(code_field)
            date_field = {"fee-detail": "fee_ocur_time", "settlement": "setl_time"}.get(ds["kind"])
            xw, nat, fam_e = crosswalk_sql(con, root, ds.get("area", area_default), code_field, fam,
                                           date_field if date_field in cols else None, tmpdir, notes)
            joins.append(f"LEFT JOIN {xw} ON {xw}.lc = {table}.{q(code_field)}")
            extra.append(f"{fam_e} AS {q('_map_' + code_field)}")
            if nat_field == code_field:
                extra.append(f"{table}.{q(code_field)} AS {q(code_field + '_local')}")
                source[code_field] = f"coalesce({nat}, {table}.{q(code_field)})"
            elif nat_field in cols:
                source[nat_field] = f"coalesce({nat}, {table}.{q(nat_field)})"
            else:
                source[nat_field] = nat
                cols.append(nat_field)
        # fills (src/mapping/fill.rs): the record's own value, else a constant or the value
        # of the other dataset's record whose `match` field equals this one's `by` (none
        # when that dataset gives the key two values). The other table is read before its
        # crosswalks, which the fills of the generated workspaces do not depend on.
        for field, f in (ds.get("fill") or {}).items():
            if "value" in f:
                filled = lit(f["value"])
            else:
                other, by = f["from"], f["by"]
                match, take = f.get("match", by), f.get("take", field)
                if other not in tables or match not in fields[other] or take not in fields[other] \
                        or by not in source:
                    notes.append(f"{name}.{field}: filled from `{other}`, which this run does not load")
                    continue
                lt = f"fill{len(joins)}"
                ot = tables[other]
                joins.append(
                    f"LEFT JOIN (SELECT CAST({q(match)} AS VARCHAR) AS k, CASE WHEN "
                    f"count(DISTINCT {q(take)}) = 1 THEN min({q(take)}) END AS v FROM {ot} "
                    f"WHERE nullif({q(match)}, '') IS NOT NULL AND nullif({q(take)}, '') IS NOT NULL "
                    f"GROUP BY 1) {lt} ON {lt}.k = CAST({source[by]} AS VARCHAR)")
                filled = f"{lt}.v"
            if field in source:
                source[field] = f"coalesce(nullif({source[field]}, ''), {filled})"
            else:
                source[field] = filled
                cols.append(field)
        typed = {f: field_type(f) for f in cols if field_type(f) and not f.startswith("_")}
        ids = [i for i in active[name] if i in rules]
        c = Ctx(typed, books, dictionaries, refs, sums, {}, notes)
        c.cols = set(cols)
        others = [(kinds[o], tables[o], fields[o]) for o in active]
        sql, fcols, w_sql = rule_query(con, table, cols, source, extra, joins, ids, rules, c, others)
        if args.sql:
            print(f"-- {name}\n{sql}\n", file=sys.stderr)
        row = con.execute(sql).fetchone()
        if args.failing in ids:
            n = ids.index(args.failing)
            hits = con.execute(f"SELECT __rowid FROM (SELECT __rowid, {', '.join(fcols)} FROM ({w_sql})) "
                               f"WHERE f{n} ORDER BY 1").fetchall()
            print(f"{name} {args.failing}: {[h[0] for h in hits]}", file=sys.stderr)
        records = row[0]
        out, k = {}, 1
        for rid in ids:
            failed = row[k]
            k += 1
            applicable = records
            if rules[rid].get("when"):
                applicable = row[k]
                k += 1
            out[rid] = [failed, applicable]
        result[name] = {"records": records, "dirty": row[k], "warned": row[k + 1], "rules": out}
    t3 = time.time()
    for name, (src, _) in srcs.items():
        if src.startswith(tmpdir):
            os.remove(src)
    for f in glob.glob(os.path.join(tmpdir, "*")):
        try:
            os.remove(f)
        except OSError:
            pass
    try:
        os.rmdir(tmpdir)
    except OSError:
        pass
    rows = sum(d["records"] for d in result.values())
    summary = {"rows": rows, "transcode_s": round(t1 - t0, 2), "load_s": round(t2 - t1, 2),
               "rules_s": round(t3 - t2, 2), "query_s": round(t3 - t1, 2),
               "total_s": round(time.time() - t_start, 2), "code_sets": versions,
               "datasets": result, "notes": sorted(set(notes))}
    print(json.dumps(summary, ensure_ascii=False))
    if args.compare:
        compare(report, result)


def compare(report, result):
    equal = total = 0
    print(f"{'dataset':<14} {'rule':<36} {'yibao':>10} {'duckdb':>10}  applicable y/d")
    for d in report["datasets"]:
        mine = result.get(d["name"])
        if mine is None:
            continue
        for r in d["rules"]:
            dk = mine["rules"].get(r["id"], [None, None])
            same = dk[0] == r["failed"] and dk[1] == r["applicable"]
            equal += same
            total += 1
            mark = "" if same else "   <-- differs"
            print(f"{d['name']:<14} {r['id']:<36} {r['failed']:>10} {dk[0]!s:>10}  "
                  f"{r['applicable']}/{dk[1]}{mark}")
        for what in ("records", "dirty", "warned"):
            same = d[what] == mine[what]
            print(f"{d['name']:<14} {'(' + what + ')':<36} {d[what]:>10} {mine[what]:>10}"
                  f"{'' if same else '   <-- differs'}")
    print(f"agreement: {equal} of {total} rules equal")


if __name__ == "__main__":
    main()
