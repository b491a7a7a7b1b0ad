"""The reference peer for `yibao profile`: the same figures computed with DuckDB SQL.

DuckDB reads UTF-8 only (its GBK support is a downloadable extension, unavailable offline), so
the GBK file is first transcoded with Python's codec; the transcode is timed apart and included
in the total, as a user would have to do it.

usage: python3 duckdb_profile.py FILE.csv [--encoding gbk] [--skip N]
prints one JSON line: {"rows", "transcode_s", "query_s", "total_s", "columns"}
"""
import json
import os
import sys
import tempfile
import time

import duckdb


def main():
    path = sys.argv[1]
    encoding = "gbk"
    if "--encoding" in sys.argv:
        encoding = sys.argv[sys.argv.index("--encoding") + 1]
    t0 = time.time()
    src = path
    tmp = None
    if encoding.lower() not in ("utf-8", "utf8"):
        fd, tmp = tempfile.mkstemp(suffix=".csv", dir=os.path.dirname(os.path.abspath(path)))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, open(path, encoding=encoding, errors="replace", newline="") as inp:
            while True:
                chunk = inp.read(1 << 22)
                if not chunk:
                    break
                out.write(chunk)
        src = tmp
    t1 = time.time()
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_csv('{src}', header=true, all_varchar=true, strict_mode=false, null_padding=true)")
    cols = [r[0] for r in con.execute("DESCRIBE t").fetchall()]
    parts = ["count(*)"]
    for c in cols:
        q = '"' + c.replace('"', '""') + '"'
        parts += [f"count(*) - count({q})", f"approx_count_distinct({q})", f"min({q})", f"max({q})"]
    stats = con.execute("SELECT " + ", ".join(parts) + " FROM t").fetchone()
    rows = stats[0]
    result = {}
    for i, c in enumerate(cols):
        q = '"' + c.replace('"', '""') + '"'
        nulls, distinct, lo, hi = stats[1 + 4 * i: 5 + 4 * i]
        top = []
        if distinct <= 1_000_000:
            top = con.execute(f"SELECT {q}, count(*) n FROM t WHERE {q} IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5").fetchall()
        result[c] = {"nulls": nulls, "distinct": distinct, "min": lo, "max": hi, "top": top}
    t2 = time.time()
    if tmp:
        os.remove(tmp)
    print(json.dumps({"rows": rows, "transcode_s": round(t1 - t0, 2), "query_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2), "columns": len(result)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
