package sql

// Names of the forecast pipeline's queries (stockflow forecast train).
const (
	// ForecastExtent counts sales, keys and key-days and finds the latest
	// sales day.
	ForecastExtent = "forecast_extent"
	// ForecastDemand is the daily units per (sku, warehouse) of one hash
	// bucket of SKUs (parameters cutoff Date, buckets and bucket UInt64).
	ForecastDemand = "forecast_demand"
	// ForecastStockouts is the stocked-out seconds per (sku, warehouse) and
	// day of one bucket, from the daily demand windows (parameters as
	// ForecastDemand, and min_seconds Int64).
	ForecastStockouts = "forecast_stockouts"
	// ForecastPrices is the average selling price per (sku, warehouse) up
	// to the cutoff (parameter cutoff Date), the unit value of the ABC
	// classes.
	ForecastPrices = "forecast_prices"
	// ForecastCampaigns is the latest version of every campaign.
	ForecastCampaigns = "forecast_campaigns"
)
