-- Censored days for the forecast pipeline: the stockout seconds of each
-- (sku, warehouse) and UTC day up to and including {cutoff}, summed over
-- the day's final window and its corrections, where they reach
-- {min_seconds}; same hash buckets as forecast_demand.
SELECT
    sku,
    warehouse,
    toDate(window_start, 'UTC') AS day,
    sum(stockout_seconds)       AS stockout_seconds
FROM demand_windows FINAL
WHERE size = '1d'
  AND window_start < toDateTime64({cutoff:Date} + 1, 3, 'UTC')
  AND cityHash64(sku) % {buckets:UInt64} = {bucket:UInt64}
GROUP BY sku, warehouse, day
HAVING stockout_seconds >= {min_seconds:Int64};
