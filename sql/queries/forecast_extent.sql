-- Extent of the forecast pipeline's input: the number of sales, the UTC day
-- of the latest one (the last complete day is the one before), and the
-- distinct (sku, warehouse) keys and key-days (to size the hash buckets of
-- forecast_demand). Without FINAL: replays change neither the latest day
-- nor the distinct counts.
SELECT
    count()                                 AS sales,
    toDate(max(ts), 'UTC')                  AS last_day,
    uniqExact(sku, warehouse)               AS keys,
    uniqExact(sku, warehouse, toDate(ts, 'UTC')) AS key_days
FROM sales;
