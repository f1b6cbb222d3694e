-- Training input of the forecast pipeline: units sold per (sku, warehouse)
-- and UTC day up to and including {cutoff}, for the SKUs of one hash
-- bucket (cityHash64(sku) % {buckets} = {bucket}), so that a large history
-- is read in parts. Read from the raw table with FINAL, which drops sink
-- replays exactly (sales_daily is smaller but counts a replay that carried
-- another deduplication token twice).
SELECT
    sku,
    warehouse,
    toDate(ts, 'UTC') AS day,
    sum(qty)          AS units
FROM sales FINAL
WHERE ts < toDateTime64({cutoff:Date} + 1, 3, 'UTC')
  AND cityHash64(sku) % {buckets:UInt64} = {bucket:UInt64}
GROUP BY sku, warehouse, day;
