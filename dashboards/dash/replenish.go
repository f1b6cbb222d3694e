package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// replenishment answers "what did we order, what is still open, and which
// SKUs will stock out before it arrives?".
func replenishment() *board {
	open := filtered("reorders")
	open.Status = "open"
	risk := filtered("stockout_risk")
	return newDashboard("stockflow-replenishment", "stockflow / Replenishment",
		"Reorders and transfers decided per day, open orders, projected stockouts and lateral transfers.").
		WithVariable(regionVar()).WithVariable(warehouseVar(true)).WithVariable(skuVar(true)).
		WithPanel(trend("Reorders per day", "Purchases and transfers decided per day (count and units, left axis) and their value (right axis), by kind",
			filtered("reorders_daily"), "short", [4]uint32{0, 0, 24, 9}).
			AxisLabel("count / units").
			OverrideByRegexp("value.*", []dashboard.DynamicConfigValue{
				prop("custom.axisPlacement", "right"), prop("custom.axisLabel", "value"), prop("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}}),
			}).
			OverrideByRegexp("open.*", []dashboard.DynamicConfigValue{prop("custom.drawStyle", "bars"), prop("custom.fillOpacity", 40)})).
		WithPanel(list("Projected stockouts", "Stockout probability over the lead time and the projected stockout date, most at risk first",
			risk, [4]uint32{0, 9, 24, 10}).
			SortBy([]cog.Builder[common.TableSortByFieldState]{of(common.TableSortByFieldState{DisplayName: "stockout_probability", Desc: cog.ToPtr(true)})}).
			OverrideByName("stockout_probability", []dashboard.DynamicConfigValue{
				prop("unit", "percentunit"), prop("thresholds", thresholdsProp("green", 0.2, "orange", 0.5, "red")),
				prop("custom.cellOptions", cellBackground),
			}).
			OverrideByName("projected_stockout", []dashboard.DynamicConfigValue{prop("unit", "dateTimeAsIso")}).
			OverrideByName("lead_time_days", []dashboard.DynamicConfigValue{prop("unit", "d")})).
		WithPanel(list("Open orders", "Purchases and transfers suggested or ordered and not yet received", open, [4]uint32{0, 19, 24, 9}).
			OverrideByName("expected_by", []dashboard.DynamicConfigValue{prop("unit", "dateTimeAsIso")})).
		WithPanel(list("Transfers", "Lateral transfers between warehouses in their latest status", filtered("transfers"), [4]uint32{0, 28, 12, 9})).
		WithPanel(list("All reorders", "Every reorder and transfer in the time range in its latest status, with the numbers that explain it",
			filtered("reorders"), [4]uint32{12, 28, 12, 9}))
}
