-- export_routing: the routing dataset of `stockflow export`: one row per
-- assignment of a routing decision (routing_assignments FINAL: qty units of
-- sku shipped from warehouse for order_id) with ts in the UTC days {from}
-- to {to} inclusive, filtered like export_sales.sql. final marks the
-- decision that ended the order. Rows come sorted by date, sku,
-- warehouse, ts. Columns are documented in internal/export/dataset.go.
SELECT
    toDate(ts, 'UTC')     AS date,
    ts,
    toString(sku)         AS sku,
    toString(warehouse)   AS warehouse,
    order_id,
    decision_id,
    toString(status)      AS status,
    final,
    attempt,
    toInt64(line)         AS line,
    qty,
    toInt64(package)      AS package,
    shipping,
    handling,
    opportunity
FROM routing_assignments FINAL
WHERE ts >= toDateTime64({from:Date}, 3, 'UTC')
  AND ts < toDateTime64({to:Date} + 1, 3, 'UTC')
  AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
  AND (empty({regions:Array(String)})
       OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
ORDER BY date, sku, warehouse, ts, decision_id, line
SETTINGS output_format_arrow_string_as_string = 1, max_bytes_before_external_sort = 268435456;
