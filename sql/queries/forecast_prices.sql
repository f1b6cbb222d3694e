-- Average selling price per (sku, warehouse) up to and including {cutoff}:
-- the value of one unit when a forecast run classifies its keys by value
-- (ABC). Prices are in the sales' currencies (USD and EUR mix): close
-- enough to rank keys, not to add money.
SELECT
    sku,
    warehouse,
    sum(qty * unit_price) / sum(qty) AS price
FROM sales FINAL
WHERE ts < toDateTime64({cutoff:Date} + 1, 3, 'UTC')
GROUP BY sku, warehouse;
