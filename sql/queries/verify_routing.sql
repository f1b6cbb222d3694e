-- verify_routing: the routing oracle (DESIGN.md §3, invariant 4: no
-- oversell; every order ends in exactly one final decision). Checks the
-- routing pipeline's records (stockflow.routing.v1, in routing_decisions)
-- and the stored stock levels.
--
-- Returns one row per problem kind that occurs, with columns:
--   problem   'checked', 'no_final', 'multiple_final' or
--             'negative_available' (see below);
--   n         how many there are;
--   examples  up to 100 of them ('checked' has none), the first in
--             (order_id, sku, warehouse) order, as tuples (order_id,
--             decisions, finals, final_decision_ids, sku, warehouse,
--             on_hand, reserved); fields that do not apply are '', 0 or [].
--
-- Rules:
--   * decision records are read from routing_decisions FINAL (FINAL drops
--     a sink replay of the same record, but keeps a record the pipeline
--     emitted twice, at two offsets) and grouped by order_id;
--   * 'checked' counts the orders with at least one decision record;
--   * 'no_final': an order none of whose records is final (it was routed
--     and never settled, or the final record is missing);
--   * 'multiple_final': an order with two or more final records (two
--     final decisions, or one final decision emitted twice);
--   * 'negative_available': a stock level (stock_levels FINAL, the latest
--     version of each (sku, warehouse)) with reserved > 0 and reserved >
--     on_hand, so that available = on_hand - reserved < 0 because of
--     reservations. Caveat: the stock pipeline accepts a reservation only
--     when available stock covers it, but a later count, damage or
--     adjustment can lower on_hand below what is already reserved; such a
--     row is reported too, since the stored level alone cannot tell who
--     drove it below zero. A level with on_hand < 0 and nothing reserved
--     (shrinkage, a count below the book level) is not routing's doing
--     and is not reported. Only the current levels are checked, not their
--     history.
WITH
    orders_checked AS
    (
        SELECT
            order_id,
            count() AS decisions,
            countIf(final) AS finals,
            arraySort(groupArrayIf(decision_id, final)) AS final_ids
        FROM routing_decisions FINAL
        GROUP BY order_id
    ),
    negative AS
    (
        SELECT toString(sku) AS sku, toString(warehouse) AS warehouse, on_hand, reserved
        FROM stock_levels FINAL
        WHERE reserved > 0 AND reserved > on_hand
    ),
    problems AS
    (
        SELECT
            multiIf(finals = 0, 'no_final', finals > 1, 'multiple_final', 'checked') AS problem,
            order_id,
            toUInt64(decisions) AS decisions,
            toUInt64(finals) AS finals,
            final_ids,
            '' AS sku,
            '' AS warehouse,
            toInt64(0) AS on_hand,
            toInt64(0) AS reserved
        FROM orders_checked
        UNION ALL
        SELECT 'checked', order_id, toUInt64(decisions), toUInt64(finals), final_ids, '', '', toInt64(0), toInt64(0)
        FROM orders_checked
        WHERE finals != 1
        UNION ALL
        SELECT 'negative_available', '', toUInt64(0), toUInt64(0), CAST([] AS Array(String)), sku, warehouse, on_hand, reserved
        FROM negative
    )
SELECT
    problem,
    count() AS n,
    groupArraySortedIf(100)(
        (order_id, decisions, finals, final_ids, sku, warehouse, on_hand, reserved),
        problem != 'checked') AS examples
FROM problems
GROUP BY problem
ORDER BY problem
