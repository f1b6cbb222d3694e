-- 0007_reservation_results: the stock pipeline's answers to routing's
-- reservation requests (from stockflow.reservation-results.v1).
--
-- Follows the conventions of 0001_core.sql and 0005_routing.sql: the key
-- ends in the record's own coordinates in its topic (keyed by order id),
-- so a sink replay collapses under FINAL while a result the pipeline
-- emitted twice (a replayed request gets a byte-identical answer) stays
-- two rows.
--
-- available is the ledger's available stock (on hand - reserved) right
-- after the decision. An accepted reservation with available < 0 is an
-- oversell by routing (DESIGN §3 invariant 4), which
-- queries/verify_routing.sql reports; the current levels alone cannot
-- tell one from a count, damage or store sale that lowered on hand below
-- what was already reserved. Planners read the rejections from here too
-- (how often routing's view was stale, and where).
CREATE TABLE IF NOT EXISTS reservation_results
(
    reservation_id String,
    order_id       String,
    sku            LowCardinality(String),
    warehouse      LowCardinality(String),
    qty            Int64,
    status         LowCardinality(String),
    available      Int64,
    reason         LowCardinality(String),
    ts             DateTime64(3, 'UTC'),
    src_partition  Int32,
    src_offset     Int64,
    ingested_at    DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (sku, warehouse, reservation_id, src_partition, src_offset)
SETTINGS non_replicated_deduplication_window = 1000;
