"""Read a stockflow dataset directory (EXPORT_DIR/DATASET) with pyarrow,
pandas, polars and DuckDB, as a data scientist would (pd.read_parquet(DIR), no
options), and print, per reader, the row count, the sums of the given
numeric columns and the count of true values of the given boolean
columns, as one JSON object.

usage: readback.py DIR SUM_COLUMNS BOOL_COLUMNS
"""
import json
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds


def main():
    root, sums, flags = sys.argv[1], sys.argv[2].split(","), [c for c in sys.argv[3].split(",") if c]
    out = {}
    # No options beyond the format: the directory must hold nothing the
    # readers' defaults trip over.
    t = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    out["pyarrow"] = {"rows": t.num_rows, "sums": {c: float(t.column(c).to_pandas().sum()) for c in sums},
                      "true": {c: int(t.column(c).to_pandas().sum()) for c in flags},
                      "partition_key": "date" in t.schema.names}
    df = pd.read_parquet(root)
    out["pandas"] = {"rows": len(df), "sums": {c: float(df[c].sum()) for c in sums},
                     "true": {c: int(df[c].sum()) for c in flags}, "partition_key": "date" in df.columns}
    pf = pl.read_parquet(root)
    out["polars"] = {"rows": pf.height, "sums": {c: float(pf[c].sum()) for c in sums},
                     "true": {c: int(pf[c].sum()) for c in flags}, "partition_key": "date" in pf.columns}
    # SQL, as the README shows: read_parquet on a directory detects the
    # hive partitions there (the Python relation API does not).
    rel = duckdb.sql("SELECT * FROM read_parquet('" + root.replace("'", "''") + "')")
    cols = rel.columns
    row = rel.aggregate(", ".join(["count(*)"] + [f"sum({c})" for c in sums] + [f"count_if({c})" for c in flags])).fetchall()[0]
    out["duckdb"] = {"rows": row[0], "sums": {c: float(row[1 + i]) for i, c in enumerate(sums)},
                     "true": {c: int(row[1 + len(sums) + i]) for i, c in enumerate(flags)}, "partition_key": "date" in cols}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
