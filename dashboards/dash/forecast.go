package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Display names of the forecast band's fields: the wide frame's fields
// carry sku and warehouse labels, so overrides match them by pattern and
// give them fixed names the band can refer to.
const (
	bandLower = "p10"
	bandUpper = "p90"
)

// forecast answers "is the forecast right, how wide is its uncertainty,
// and what does that mean for this SKU's stock?" for one SKU at one
// warehouse, and "which models are chosen and how accurate are they?" for
// the warehouse.
func forecast() *board {
	one := Query{QueryType: "forecast_vs_actual", SKU: []string{"$" + varSKU}, Warehouse: []string{"$" + varWarehouse}}
	risk := Query{QueryType: "stockout_risk", SKU: []string{"$" + varSKU}, Warehouse: []string{"$" + varWarehouse}}
	hidden := map[string]any{"legend": true, "tooltip": false, "viz": true}
	return newDashboard("stockflow-forecast", "stockflow / Forecast",
		"Daily actual demand against the latest forecast and its p10–p90 band for one SKU at one warehouse, with its stockout risk and turns.").
		WithVariable(regionVar()).WithVariable(warehouseVar(false)).WithVariable(skuVar(false)).
		WithPanel(trend("Actual vs forecast — $sku at $warehouse", "Daily demand (units/day): actual sales, the forecast mean, and the p10–p90 prediction band of the latest forecast run",
			one, "short", [4]uint32{0, 0, 24, 11}).
			AxisLabel("units / day").
			OverrideByRegexp("actual.*", []dashboard.DynamicConfigValue{
				prop("displayName", "actual"), prop("color", map[string]any{"mode": "fixed", "fixedColor": "text"}),
				prop("custom.drawStyle", "bars"), prop("custom.fillOpacity", 60),
			}).
			OverrideByRegexp("forecast.*", []dashboard.DynamicConfigValue{
				prop("displayName", "forecast"), prop("color", map[string]any{"mode": "fixed", "fixedColor": "blue"}),
				prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}}), prop("custom.lineWidth", 2),
			}).
			OverrideByRegexp("lower.*", []dashboard.DynamicConfigValue{
				prop("displayName", bandLower), prop("color", map[string]any{"mode": "fixed", "fixedColor": "blue"}),
				prop("custom.lineWidth", 0), prop("custom.fillOpacity", 0),
			}).
			OverrideByRegexp("upper.*", []dashboard.DynamicConfigValue{
				prop("displayName", bandUpper), prop("color", map[string]any{"mode": "fixed", "fixedColor": "blue"}),
				prop("custom.lineWidth", 0), prop("custom.fillOpacity", 20), prop("custom.fillBelowTo", bandLower),
			}).
			OverrideByRegexp("p50.*", []dashboard.DynamicConfigValue{prop("custom.hideFrom", hidden)})).
		WithPanel(list("Stockout risk — $sku at $warehouse", "Inventory position against demand over the lead time: P(demand over the lead time > position) and the projected stockout date",
			risk, [4]uint32{0, 11, 24, 5}).
			OverrideByName("stockout_probability", []dashboard.DynamicConfigValue{
				prop("unit", "percentunit"), prop("thresholds", thresholdsProp("green", 0.2, "orange", 0.5, "red")),
				prop("custom.cellOptions", cellBackground),
			}).
			OverrideByName("projected_stockout", []dashboard.DynamicConfigValue{prop("unit", "dateTimeAsIso")})).
		WithPanel(list("Turns and in-stock rate", "Inventory turns, stockout days and the share of days in stock over the time range, all SKUs at $warehouse",
			Query{QueryType: "turns", Warehouse: []string{"$" + varWarehouse}}, [4]uint32{0, 16, 12, 9}).
			SortBy([]cog.Builder[common.TableSortByFieldState]{of(common.TableSortByFieldState{DisplayName: "in_stock_rate"})}).
			OverrideByName("in_stock_rate", []dashboard.DynamicConfigValue{
				prop("unit", "percentunit"), prop("thresholds", thresholdsProp("red", 0.9, "orange", 0.97, "green")),
				prop("custom.cellOptions", cellBackground),
			})).
		WithPanel(list("Fill rate", "Web order fill rate per SKU and region", Query{QueryType: "fill_rate", SKU: []string{"$" + varSKU}, Region: []string{"$" + varRegion}}, [4]uint32{12, 16, 12, 9}).
			OverrideByName("fill_rate", []dashboard.DynamicConfigValue{prop("unit", "percentunit")}).
			OverrideByName("line_fill_rate", []dashboard.DynamicConfigValue{prop("unit", "percentunit")})).
		WithPanel(list("Forecast accuracy by model — $warehouse", "Per model chosen for the series at $warehouse, the latest training run in the time range: "+
			"MASE and RMSSE (below 1 beats the naive forecast), WAPE and bias (share of actual units; bias above 0 over-forecasts), "+
			"pinball loss of the quantiles, and the share of days inside the 90% interval (0.9 is calibrated)",
			Query{QueryType: "forecast_accuracy", Region: []string{"$" + varRegion}, Warehouse: []string{"$" + varWarehouse}}, [4]uint32{0, 25, 24, 7}).
			OverrideByName("mase", []dashboard.DynamicConfigValue{
				prop("decimals", 2), prop("thresholds", thresholdsProp("green", 1.0, "orange", 1.5, "red")), prop("custom.cellOptions", cellBackground),
			}).
			OverrideByName("rmsse", []dashboard.DynamicConfigValue{prop("decimals", 2)}).
			OverrideByName("pinball", []dashboard.DynamicConfigValue{prop("decimals", 3)}).
			OverrideByName("wape", []dashboard.DynamicConfigValue{prop("unit", "percentunit")}).
			OverrideByName("bias", []dashboard.DynamicConfigValue{prop("unit", "percentunit")}).
			OverrideByName("coverage_90", []dashboard.DynamicConfigValue{
				prop("unit", "percentunit"), prop("thresholds", thresholdsProp("red", 0.8, "orange", 0.85, "green")), prop("custom.cellOptions", cellBackground),
			}))
}
