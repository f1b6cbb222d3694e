-- Campaigns for the forecast pipeline: the latest version (by ts, then
-- event_id) of every campaign id.
SELECT
    campaign_id,
    skus,
    category,
    regions,
    warehouses,
    `start`,
    `end`,
    expected_uplift
FROM campaigns FINAL
ORDER BY campaign_id, ts DESC, event_id DESC
LIMIT 1 BY campaign_id;
