// Package export writes stockflow's ClickHouse data as Parquet for data
// scientists: the datasets (sales, stock_movements, stock_levels,
// sales_daily, forecasts, reorders, routing and the training-ready daily
// features table), their documented columns, the streaming of a dataset's
// rows out of ClickHouse as Arrow record batches (ArrowStream from the
// embedded engine, bounded pages from any store), their encoding into
// Parquet with parquet-go (zstd, dictionaries for low-cardinality columns,
// statistics, row groups sized for analytics, rows sorted by SKU,
// warehouse and time), and the Hive-style partitioned output directory
// (date=YYYY-MM-DD/part-00000.parquet, replaced atomically, with
// _schema.json and README.md).
//
// It imports package store, the SQL of package sql, arrow-go and
// parquet-go; it must not import pipelines, consumers, the ClickHouse
// driver or cmd.
package export
