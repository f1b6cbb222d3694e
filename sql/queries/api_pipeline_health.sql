-- api_pipeline_health: per ClickHouse table the sink writes, the rows
-- whose event time is between {from} and {to}, the latest event time and
-- ingestion time overall, the ingestion lag (ingested_at - ts) median and
-- 95th percentile in seconds over those rows, and the seconds since the
-- latest ingestion (freshness). DLQ rows are counted under 'dlq' (their ts
-- is when they were dead-lettered).
WITH src AS
(
    SELECT 'sales' AS source, ts, ingested_at FROM sales
    UNION ALL SELECT 'stock_movements', ts, ingested_at FROM stock_movements
    UNION ALL SELECT 'orders', ts, ingested_at FROM orders
    UNION ALL SELECT 'demand_windows', window_end, ingested_at FROM demand_windows
    UNION ALL SELECT 'reorders', ts, ingested_at FROM reorders
    UNION ALL SELECT 'routing_decisions', ts, ingested_at FROM routing_decisions
    UNION ALL SELECT 'dlq', ts, ts FROM dlq
)
SELECT
    source,
    countIf(ts >= {from:DateTime64(3)} AND ts <= {to:DateTime64(3)})              AS rows,
    max(ts)                                                                       AS last_event,
    max(ingested_at)                                                              AS last_ingested,
    quantileIf(0.5)(dateDiff('millisecond', ts, ingested_at) / 1000, ts >= {from:DateTime64(3)} AND ts <= {to:DateTime64(3)})  AS lag_p50_seconds,
    quantileIf(0.95)(dateDiff('millisecond', ts, ingested_at) / 1000, ts >= {from:DateTime64(3)} AND ts <= {to:DateTime64(3)}) AS lag_p95_seconds,
    dateDiff('millisecond', max(ingested_at), now64(3, 'UTC')) / 1000             AS freshness_seconds
FROM src
GROUP BY source
ORDER BY source
