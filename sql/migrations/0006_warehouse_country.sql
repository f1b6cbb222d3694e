-- 0006_warehouse_country: the country of each warehouse (ISO 3166-1
-- alpha-2), which routing needs to match warehouses to the markets its
-- rate cards serve (pipelines/routing DefaultMarkets). '' for warehouses
-- registered before; routing then serves them only with "*" rate cards.
ALTER TABLE warehouses ADD COLUMN IF NOT EXISTS country LowCardinality(String) DEFAULT '';
