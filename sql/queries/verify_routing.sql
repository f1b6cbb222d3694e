-- verify_routing: the routing oracle (DESIGN.md §3, invariant 4: no
-- oversell; every order ends in exactly one final decision). Checks the
-- routing pipeline's records (stockflow.routing.v1, in routing_decisions)
-- and the stored stock levels.
--
-- Returns one row per problem kind that occurs, with columns:
--   problem   'checked', 'reservations_checked', 'no_final',
--             'multiple_final', 'negative_available' or
--             'reserved_above_on_hand' (see below);
--   n         how many there are;
--   examples  up to 100 of them (the 'checked' kinds have none), the first
--             in (order_id, sku, warehouse) order, as tuples (order_id,
--             decisions, finals, final_decision_ids, sku, warehouse,
--             on_hand, reserved, reservation_id, available); fields that do
--             not apply are '', 0 or [].
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
--   * 'reservations_checked' counts the accepted reservations
--     (reservation_results FINAL, status 'accepted');
--   * 'negative_available': an accepted reservation after which the
--     ledger's available stock (on hand - reserved, as the stock pipeline
--     recorded it with its answer) was below zero: routing took stock
--     that was not there (invariant 4). The example carries the
--     reservation, its qty (as reserved) and the available after it;
--   * 'reserved_above_on_hand' (informational, not a failure): a current
--     stock level (stock_levels FINAL) with reserved > 0 and reserved >
--     on_hand. A count, damage, adjustment or store sale after the
--     reservations were accepted lowers on hand below what is reserved
--     (the shelf was short when the warehouse went to pick); the level
--     alone cannot tell that from an oversell, which is why the check
--     above reads the reservation answers. A level with on_hand < 0 and
--     nothing reserved (shrinkage) is not listed.
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
    accepted AS
    (
        SELECT reservation_id, order_id, toString(sku) AS sku, toString(warehouse) AS warehouse, qty, available
        FROM reservation_results FINAL
        WHERE status = 'accepted'
    ),
    over AS
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
            toInt64(0) AS reserved,
            '' AS reservation_id,
            toInt64(0) AS available
        FROM orders_checked
        UNION ALL
        SELECT 'checked', order_id, toUInt64(decisions), toUInt64(finals), final_ids, '', '', toInt64(0), toInt64(0), '', toInt64(0)
        FROM orders_checked
        WHERE finals != 1
        UNION ALL
        SELECT 'reservations_checked', order_id, toUInt64(0), toUInt64(0), CAST([] AS Array(String)), sku, warehouse, toInt64(0), qty, reservation_id, available
        FROM accepted
        UNION ALL
        SELECT 'negative_available', order_id, toUInt64(0), toUInt64(0), CAST([] AS Array(String)), sku, warehouse, toInt64(0), qty, reservation_id, available
        FROM accepted
        WHERE available < 0
        UNION ALL
        SELECT 'reserved_above_on_hand', '', toUInt64(0), toUInt64(0), CAST([] AS Array(String)), sku, warehouse, on_hand, reserved, '', toInt64(0)
        FROM over
    )
SELECT
    problem,
    count() AS n,
    groupArraySortedIf(100)(
        (order_id, decisions, finals, final_ids, sku, warehouse, on_hand, reserved, reservation_id, available),
        problem NOT IN ('checked', 'reservations_checked')) AS examples
FROM problems
GROUP BY problem
ORDER BY problem
