-- 0002_windows.sql for cluster "stockflow", database stockflow: generated from sql/migrations/0002_windows.sql
-- by store.Rewriter (internal/store/cluster.go); do not edit.

--   * a view is created after its target (TO), so a run cut short between
--     them is finished by the next run.

-- One row per record of stockflow.windows.v1: a window's final result
-- (kind 'final') and the increments that events arriving after it closed
-- add to it (kind 'correction'). The true total of a window is the sum of
-- all its rows; read with FINAL to drop a sink replay of the same record,
-- which the source coordinates (src_partition, src_offset of the windows
-- topic, co-partitioned with the inputs) in the key make identical.
-- size is '1h' or '1d'; stockout_seconds and the velocities are set on
-- daily windows only.
CREATE TABLE IF NOT EXISTS `stockflow`.`demand_windows_local` ON CLUSTER 'stockflow'
(
    sku              LowCardinality(String),
    warehouse        LowCardinality(String),
    size             LowCardinality(String),
    window_start     DateTime64(3, 'UTC'),
    window_end       DateTime64(3, 'UTC'),
    kind             LowCardinality(String),
    units            Int64,
    revenue          Float64,
    sales            Int64,
    stockout_seconds Int64,
    velocity_7d      Float64,
    velocity_28d     Float64,
    stream_time      DateTime64(3, 'UTC'),
    src_partition    Int32,
    src_offset       Int64,
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/demand_windows_local', '{replica}')
PARTITION BY toYYYYMM(window_start)
ORDER BY (sku, warehouse, size, window_start, src_partition, src_offset)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`demand_windows` ON CLUSTER 'stockflow' AS `stockflow`.`demand_windows_local`
ENGINE = Distributed('stockflow', 'stockflow', 'demand_windows_local', cityHash64(sku));

-- Daily demand per (sku, warehouse), summed from every sales insert by
-- sales_daily_mv. Rows of one key are summed by merges, so read with
-- sum() ... GROUP BY (or FINAL). An event id that the raw table keeps twice
-- (re-sent after the deduplication window, from another source offset) is
-- counted twice here too, as the ledger applied it twice; a sink replay is
-- not (see the conventions above).
CREATE TABLE IF NOT EXISTS `stockflow`.`sales_daily_local` ON CLUSTER 'stockflow'
(
    day       Date,
    sku       LowCardinality(String),
    warehouse LowCardinality(String),
    units     Int64,
    revenue   Float64,
    sales     UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/sales_daily_local', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (sku, warehouse, day)
SETTINGS replicated_deduplication_window = 100000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS `stockflow`.`sales_daily` ON CLUSTER 'stockflow' AS `stockflow`.`sales_daily_local`
ENGINE = Distributed('stockflow', 'stockflow', 'sales_daily_local', cityHash64(sku));

CREATE MATERIALIZED VIEW IF NOT EXISTS `stockflow`.`sales_daily_mv` ON CLUSTER 'stockflow' TO `stockflow`.`sales_daily_local` AS
SELECT
    toDate(ts, 'UTC')            AS day,
    sku,
    warehouse,
    toInt64(sum(qty))            AS units,
    toFloat64(sum(qty * unit_price)) AS revenue,
    toUInt64(count())            AS sales
FROM `stockflow`.`sales_local`
GROUP BY day, sku, warehouse;
