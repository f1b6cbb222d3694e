-- verify_windows: the window oracle. Recomputes the demand of every hourly
-- and daily window from the raw sales and sets it beside what the stock
-- pipeline's windows (stockflow.windows.v1, in demand_windows) say.
--
-- Returns at most one row per status, with columns:
--   status    'ok', 'mismatch', 'missing' or 'open' (see below);
--   windows   how many windows have that status;
--   examples  up to 100 of them, the first in (sku, warehouse, size,
--             window_start) order, as tuples (sku, warehouse, size,
--             window_start, stored_units, expected_units, stored_revenue,
--             expected_revenue, stored_sales, expected_sales, finals).
--
-- Rules:
--   * a window is (sku, warehouse, size, window_start); size '1h' or '1d',
--     epoch-aligned in UTC;
--   * stored: the sum of units, revenue and sales over all its rows in
--     demand_windows FINAL (FINAL drops a sink replay of the same record;
--     the final row and the corrections, which are increments, are summed);
--   * expected: the same sums over sales FINAL whose ts falls in the window
--     (qty, qty * unit_price, count());
--   * a window with stored rows is 'ok' when units and sales are equal and
--     revenue agrees within 1e-6 relative (plus 1e-9 absolute, for windows
--     whose corrections net to zero), else 'mismatch'. A window may have
--     corrections and no final row: nothing arrived in time, so nothing was
--     open when it closed;
--   * a window with sales and no stored row is 'missing' when it ends at or
--     before its partition's closed horizon, else 'open' (not closed yet).
--     The horizon of a partition is the latest window_end of its daily
--     final rows: stream time has passed it, so every window ending by then
--     is closed. Sales and windows are matched on src_partition: the windows
--     topic is partitioned like the inputs.
WITH
    stored AS
    (
        SELECT
            sku,
            warehouse,
            size,
            window_start,
            sum(units) AS units,
            sum(revenue) AS revenue,
            sum(sales) AS sales,
            countIf(kind = 'final') AS finals
        FROM demand_windows FINAL
        GROUP BY sku, warehouse, size, window_start
    ),
    expected AS
    (
        SELECT
            sku,
            warehouse,
            w.1 AS size,
            w.2 AS window_start,
            w.3 AS window_end,
            min(src_partition) AS part,
            toInt64(sum(qty)) AS units,
            toFloat64(sum(qty * unit_price)) AS revenue,
            toInt64(count()) AS sales
        FROM sales FINAL
        ARRAY JOIN
            [
                ('1h', toDateTime64(toStartOfHour(ts, 'UTC'), 3, 'UTC'), toDateTime64(toStartOfHour(ts, 'UTC'), 3, 'UTC') + toIntervalHour(1)),
                ('1d', toDateTime64(toStartOfDay(ts, 'UTC'), 3, 'UTC'), toDateTime64(toStartOfDay(ts, 'UTC'), 3, 'UTC') + toIntervalDay(1))
            ] AS w
        GROUP BY sku, warehouse, size, window_start, window_end
    ),
    horizons AS
    (
        SELECT src_partition AS part, max(window_end) AS horizon
        FROM demand_windows FINAL
        WHERE size = '1d' AND kind = 'final'
        GROUP BY src_partition
    ),
    compared AS
    (
        SELECT
            toString(coalesce(s.sku, e.sku)) AS sku,
            toString(coalesce(s.warehouse, e.warehouse)) AS warehouse,
            toString(coalesce(s.size, e.size)) AS size,
            coalesce(s.window_start, e.window_start) AS window_start,
            s.sku IS NOT NULL AS is_stored,
            e.window_end AS expected_end,
            e.part AS part,
            toInt64(coalesce(s.units, 0)) AS stored_units,
            toInt64(coalesce(e.units, 0)) AS expected_units,
            toFloat64(coalesce(s.revenue, 0)) AS stored_revenue,
            toFloat64(coalesce(e.revenue, 0)) AS expected_revenue,
            toInt64(coalesce(s.sales, 0)) AS stored_sales,
            toInt64(coalesce(e.sales, 0)) AS expected_sales,
            toUInt64(coalesce(s.finals, 0)) AS finals
        FROM stored AS s
        FULL OUTER JOIN expected AS e
            ON s.sku = e.sku AND s.warehouse = e.warehouse AND s.size = e.size AND s.window_start = e.window_start
    ),
    classified AS
    (
        SELECT
            c.*,
            multiIf(
                NOT c.is_stored,
                    if(h.horizon IS NOT NULL AND c.expected_end <= h.horizon, 'missing', 'open'),
                c.stored_units != c.expected_units
                    OR c.stored_sales != c.expected_sales
                    OR abs(c.stored_revenue - c.expected_revenue)
                        > 1e-6 * greatest(abs(c.stored_revenue), abs(c.expected_revenue)) + 1e-9,
                    'mismatch',
                'ok') AS status
        FROM compared AS c
        LEFT JOIN horizons AS h ON c.part = h.part
    )
SELECT
    status,
    count() AS windows,
    groupArraySorted(100)(
        (sku, warehouse, size, window_start, stored_units, expected_units, stored_revenue, expected_revenue,
         stored_sales, expected_sales, finals)) AS examples
FROM classified
GROUP BY status
ORDER BY status
SETTINGS join_use_nulls = 1
