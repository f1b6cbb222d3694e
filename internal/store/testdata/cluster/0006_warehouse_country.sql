-- 0006_warehouse_country.sql for cluster "stockflow", database stockflow: generated from sql/migrations/0006_warehouse_country.sql
-- by store.Rewriter (internal/store/cluster.go); do not edit.

-- 0006_warehouse_country: the country of each warehouse (ISO 3166-1
-- alpha-2), which routing needs to match warehouses to the markets its
-- rate cards serve (pipelines/routing DefaultMarkets). '' for warehouses
-- registered before; routing then serves them only with "*" rate cards.
ALTER TABLE `stockflow`.`warehouses_local` ON CLUSTER 'stockflow' ADD COLUMN IF NOT EXISTS country LowCardinality(String) DEFAULT '';

-- 0006_warehouse_country: the country of each warehouse (ISO 3166-1
-- alpha-2), which routing needs to match warehouses to the markets its
-- rate cards serve (pipelines/routing DefaultMarkets). '' for warehouses
-- registered before; routing then serves them only with "*" rate cards.
ALTER TABLE `stockflow`.`warehouses` ON CLUSTER 'stockflow' ADD COLUMN IF NOT EXISTS country LowCardinality(String) DEFAULT '';
