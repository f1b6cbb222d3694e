-- 0002_windows: the stock pipeline's event-time windows (from
-- stockflow.windows.v1) and the daily demand rollup of the raw sales.
--
-- Follows the conventions of 0001_core.sql. Two more apply here:
--   * a materialized view's target sets non_replicated_deduplication_window
--     too, and every insert carries
--     deduplicate_blocks_in_dependent_materialized_views = 1: a replayed
--     sales block is then dropped in the view's target as well as in sales;
--     without the window on the target the view's rows of a replayed block
--     land again and the rollup counts that block twice;
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
CREATE TABLE IF NOT EXISTS demand_windows
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
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (sku, warehouse, size, window_start, src_partition, src_offset)
SETTINGS non_replicated_deduplication_window = 1000;

-- Daily demand per (sku, warehouse), summed from every sales insert by
-- sales_daily_mv. Rows of one key are summed by merges, so read with
-- sum() ... GROUP BY (or FINAL). An event id that the raw table keeps twice
-- (re-sent after the deduplication window, from another source offset) is
-- counted twice here too, as the ledger applied it twice; a sink replay is
-- not (see the conventions above).
CREATE TABLE IF NOT EXISTS sales_daily
(
    day       Date,
    sku       LowCardinality(String),
    warehouse LowCardinality(String),
    units     Int64,
    revenue   Float64,
    sales     UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (sku, warehouse, day)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS sales_daily_mv TO sales_daily AS
SELECT
    toDate(ts, 'UTC')            AS day,
    sku,
    warehouse,
    toInt64(sum(qty))            AS units,
    toFloat64(sum(qty * unit_price)) AS revenue,
    toUInt64(count())            AS sales
FROM sales
GROUP BY day, sku, warehouse;
