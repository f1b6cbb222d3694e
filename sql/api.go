package sql

// Names of the query API's queries (GET /api/v1/…, internal/api). Every
// one takes the same filter parameters where it uses them: skus,
// warehouses and regions (Array(String), empty matches everything) and
// from and to (DateTime64(3), UTC); the file heads document the rest.
const (
	APISKUs               = "api_skus"
	APIWarehouses         = "api_warehouses"
	APIRegions            = "api_regions"
	APIStockCurrent       = "api_stock_current"
	APIStockHistory       = "api_stock_history"
	APIDaysOfCover        = "api_days_of_cover"
	APIStockoutRisk       = "api_stockout_risk"
	APIForecastVsActual   = "api_forecast_vs_actual"
	APIForecastAccuracy   = "api_forecast_accuracy"
	APIReorders           = "api_reorders"
	APIReordersDaily      = "api_reorders_daily"
	APIRoutingDecisions   = "api_routing_decisions"
	APIRoutingCosts       = "api_routing_costs"
	APIFillRate           = "api_fill_rate"
	APITurns              = "api_turns"
	APIPipelineHealth     = "api_pipeline_health"
	APIPipelineThroughput = "api_pipeline_throughput"
	APIDLQ                = "api_dlq"
)
