"""pyarrow's side of `stockflow bench export`: read the rows from an Arrow
IPC file (date column first, rows sorted like stockflow's export) and write
them as stockflow does: Hive partitions by date, zstd, dictionary encoding
for the same columns, the same row group size, statistics. Prints one JSON
object: rows, seconds (reading included), bytes.

usage: pywrite.py IPC_FILE OUT_DIR DICT_COLUMNS ROW_GROUP_ROWS
"""
import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def main():
    src, out, dict_cols, row_group = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
    t0 = time.perf_counter()
    with pa.memory_map(src) as f:
        table = pa.ipc.open_file(f).read_all()
    dates = table.column(0)
    body = table.drop_columns([table.schema.names[0]])
    rows, size = 0, 0
    # Rows are sorted by date: each partition is one contiguous slice.
    ends = pc.value_counts(dates)
    offset = 0
    for item in ends.to_pylist():
        day, n = item["values"], item["counts"]
        part = body.slice(offset, n)
        offset += n
        d = os.path.join(out, "date=" + day.isoformat())
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "part-00000.parquet")
        pq.write_table(part, path, compression="zstd", use_dictionary=dict_cols,
                       row_group_size=row_group, write_statistics=True)
        rows += n
        size += os.path.getsize(path)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0, "bytes": size}))


if __name__ == "__main__":
    main()
