// Package export writes stockflow's ClickHouse data as Parquet for data
// scientists: the datasets (sales, stock_movements, stock_levels,
// sales_daily, forecasts, reorders, routing and the training-ready daily
// features table), their documented columns, the streaming of a dataset's
// rows out of ClickHouse as Arrow record batches (the Native format of
// the embedded engine decoded as it streams, bounded pages from any
// store) ahead of their encoding into Parquet with parquet-go (zstd,
// dictionaries for low-cardinality columns, statistics, row groups sized
// for analytics, rows sorted by SKU, warehouse and time; every column
// encoded by a goroutine of its own), and the export directory: one
// Hive-partitioned directory per dataset holding Parquet only
// (DATASET/date=YYYY-MM-DD/part-00000.parquet, each replaced
// atomically), beside a README.md and a _schema.json that describe every
// dataset exported there. It also builds the HTTP export of package api
// (Handler).
//
// It imports package store, package api (for the HTTP export's types),
// the SQL of package sql, arrow-go and parquet-go; it must not import
// pipelines, consumers, the ClickHouse driver or cmd.
package export
