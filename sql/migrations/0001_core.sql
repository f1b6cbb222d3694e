-- 0001_core: the raw event tables, the stock ledger snapshot, the DLQ and
-- the warehouse directory.
--
-- Conventions (every migration follows them):
--   * statements are idempotent (IF NOT EXISTS): a run cut short is finished
--     by the next run; a statement ends with ';' at the end of a line;
--   * times are DateTime64(3, 'UTC'); low-cardinality strings are
--     LowCardinality(String);
--   * every table sets non_replicated_deduplication_window, so that inserts
--     carrying insert_deduplication_token are applied exactly once;
--   * raw tables are ReplacingMergeTree keyed on the event and where it was
--     read from (src_topic, src_partition, src_offset): a sink replay of the
--     same record collapses (read with FINAL), while an event id re-sent
--     after the deduplication window, which the ledger applied again, stays
--     a row of its own, so the oracle in verify_stock.sql counts it too.

CREATE TABLE IF NOT EXISTS sales
(
    event_id      String,
    ts            DateTime64(3, 'UTC'),
    sku           LowCardinality(String),
    warehouse     LowCardinality(String),
    qty           Int64,
    order_id      String,
    channel       LowCardinality(String),
    unit_price    Float64,
    currency      LowCardinality(String),
    src_topic     LowCardinality(String),
    src_partition Int32,
    src_offset    Int64,
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (sku, warehouse, ts, event_id, src_topic, src_partition, src_offset)
SETTINGS non_replicated_deduplication_window = 1000;

-- delta is the on-hand change the stock pipeline applied for the movement
-- (0 when it was ignored or superseded); the oracle in
-- queries/verify_stock.sql recomputes it from kind and qty instead.
CREATE TABLE IF NOT EXISTS stock_movements
(
    event_id      String,
    ts            DateTime64(3, 'UTC'),
    sku           LowCardinality(String),
    warehouse     LowCardinality(String),
    kind          LowCardinality(String),
    qty           Int64,
    delta         Int64,
    ref           String,
    src_topic     LowCardinality(String),
    src_partition Int32,
    src_offset    Int64,
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (sku, warehouse, ts, event_id, src_topic, src_partition, src_offset)
SETTINGS non_replicated_deduplication_window = 1000;

-- lines is Nested: insert and read it as the arrays lines.sku and
-- lines.qty (ARRAY JOIN lines for one row per line).
CREATE TABLE IF NOT EXISTS orders
(
    event_id         String,
    ts               DateTime64(3, 'UTC'),
    order_id         String,
    lines            Nested(sku String, qty Int64),
    ship_postal_code String,
    ship_country     LowCardinality(String),
    ship_lat         Float64,
    ship_lon         Float64,
    service_level    LowCardinality(String),
    promised_by      DateTime64(3, 'UTC'),
    src_topic        LowCardinality(String),
    src_partition    Int32,
    src_offset       Int64,
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (order_id, event_id, src_topic, src_partition, src_offset)
SETTINGS non_replicated_deduplication_window = 1000;

-- start and end are keywords in some positions: quote them as `start`, `end`.
CREATE TABLE IF NOT EXISTS campaigns
(
    event_id        String,
    ts              DateTime64(3, 'UTC'),
    campaign_id     String,
    skus            Array(String),
    category        LowCardinality(String),
    regions         Array(String),
    warehouses      Array(String),
    `start`         DateTime64(3, 'UTC'),
    `end`           DateTime64(3, 'UTC'),
    expected_uplift Float64,
    src_topic       LowCardinality(String),
    src_partition   Int32,
    src_offset      Int64,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (campaign_id, event_id, src_topic, src_partition, src_offset)
SETTINGS non_replicated_deduplication_window = 1000;

-- The ledger snapshot written by the stock pipeline; the row with the
-- highest version wins (read with FINAL).
CREATE TABLE IF NOT EXISTS stock_levels
(
    sku           LowCardinality(String),
    warehouse     LowCardinality(String),
    on_hand       Int64,
    reserved      Int64,
    available     Int64,
    last_event_ts DateTime64(3, 'UTC'),
    version       UInt64,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (sku, warehouse)
SETTINGS non_replicated_deduplication_window = 1000;

-- Dead-lettered records keep the original key and value bytes and where
-- they were read from; ts is when they were dead-lettered. A source record
-- is dead-lettered once, so its coordinates are the key (read with FINAL).
CREATE TABLE IF NOT EXISTS dlq
(
    ts            DateTime64(3, 'UTC'),
    src_topic     LowCardinality(String),
    src_partition Int32,
    src_offset    Int64,
    event_type    LowCardinality(String),
    reason        LowCardinality(String),
    message       String,
    key           String,
    value         String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (src_topic, src_partition, src_offset)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS warehouses
(
    id         String,
    region     LowCardinality(String),
    lat        Float64,
    lon        Float64,
    name       String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;
