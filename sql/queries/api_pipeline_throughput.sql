-- api_pipeline_throughput: rows ingested per table in buckets of
-- {step_seconds} seconds of ingestion time between {from} and {to}, as a
-- long time series (time, source, rows, rows_per_second). DLQ rows count
-- at their dead-letter time.
WITH src AS
(
    SELECT 'sales' AS source, ingested_at FROM sales
    UNION ALL SELECT 'stock_movements', ingested_at FROM stock_movements
    UNION ALL SELECT 'orders', ingested_at FROM orders
    UNION ALL SELECT 'demand_windows', ingested_at FROM demand_windows
    UNION ALL SELECT 'reorders', ingested_at FROM reorders
    UNION ALL SELECT 'routing_decisions', ingested_at FROM routing_decisions
    UNION ALL SELECT 'dlq', ts FROM dlq
)
SELECT
    toDateTime64(toStartOfInterval(ingested_at, toIntervalSecond({step_seconds:UInt32}), 'UTC'), 3, 'UTC') AS time,
    source,
    count()                                AS rows,
    count() / {step_seconds:UInt32}        AS rows_per_second
FROM src
WHERE ingested_at >= {from:DateTime64(3)} AND ingested_at <= {to:DateTime64(3)}
GROUP BY time, source
ORDER BY time, source
