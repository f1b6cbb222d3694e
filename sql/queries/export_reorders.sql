-- export_reorders: the reorders dataset of `stockflow export`: every
-- decision and status change of a reorder or transfer (reorders FINAL)
-- with ts in the UTC days {from} to {to} inclusive, filtered like
-- export_sales.sql (warehouse is the destination). Rows come sorted by
-- date, sku, warehouse, ts. Columns are documented in
-- internal/export/dataset.go.
SELECT
    toDate(ts, 'UTC')          AS date,
    ts,
    toString(sku)              AS sku,
    toString(warehouse)        AS warehouse,
    reorder_id,
    toString(kind)             AS kind,
    toString(status)           AS status,
    toString(from_warehouse)   AS from_warehouse,
    toString(supplier)         AS supplier,
    cycle,
    qty,
    received_qty,
    toString(reason)           AS reason,
    toString(policy)           AS policy,
    toString(class)            AS class,
    inventory_position,
    on_hand,
    on_order,
    in_transit,
    backorders,
    reserved,
    reorder_point,
    order_up_to,
    safety_stock,
    daily_demand,
    lead_time_days,
    toString(demand_source)    AS demand_source,
    forecast_run_id,
    unit_cost,
    expected_by
FROM reorders FINAL
WHERE ts >= toDateTime64({from:Date}, 3, 'UTC')
  AND ts < toDateTime64({to:Date} + 1, 3, 'UTC')
  AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, toString(sku)))
  AND (empty({warehouses:Array(String)}) OR has({warehouses:Array(String)}, toString(warehouse)))
  AND (empty({regions:Array(String)})
       OR toString(warehouse) IN (SELECT id FROM warehouses FINAL WHERE has({regions:Array(String)}, toString(region))))
ORDER BY date, sku, warehouse, ts, reorder_id, status
SETTINGS output_format_arrow_string_as_string = 1, max_bytes_before_external_sort = 268435456;
