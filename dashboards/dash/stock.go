package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// stockOverview answers "how much do we hold, where, and where does it run
// short of the lead time?".
func stockOverview() *board {
	stock := filtered("stock_current")
	cover := filtered("days_of_cover")
	return newDashboard("stockflow-stock", "stockflow / Stock overview",
		"Stock on hand, reserved and available by warehouse, end-of-day history, and days of cover against the lead time.").
		WithVariable(regionVar()).WithVariable(warehouseVar(true)).WithVariable(skuVar(true)).
		WithPanel(kpi("On hand", "Units on hand, all selected SKUs and warehouses", stock, "on_hand", "sum", "short", [4]uint32{0, 0, 6, 4})).
		WithPanel(kpi("Available", "On hand minus reserved for routed orders", stock, "available", "sum", "short", [4]uint32{6, 0, 6, 4})).
		WithPanel(kpi("Reserved", "Units reserved by routing, not yet shipped", stock, "reserved", "sum", "short", [4]uint32{12, 0, 6, 4})).
		WithPanel(kpi("Below lead-time cover", "SKU × warehouse pairs whose days of cover are shorter than their lead time: they stock out before a reorder placed now arrives", cover, "cover_below_lead_time", "sum", "short", [4]uint32{18, 0, 6, 4}).
			Thresholds(steps("green", 1.0, "red"))).
		WithPanel(bars("Stock by warehouse", "On hand, reserved and available units per warehouse (sum over the selected SKUs)", stock, "warehouse",
			[]string{"on_hand", "reserved", "available"}, "short", [4]uint32{0, 4, 12, 9}).AxisLabel("units")).
		WithPanel(trend("On hand at end of day", "End-of-day on hand per SKU and warehouse", filtered("stock_history"), "short", [4]uint32{12, 4, 12, 9}).
			AxisLabel("units")).
		WithPanel(list("Days of cover", "Available ÷ forecast daily demand; red when below the lead time (cover_below_lead_time)", cover, [4]uint32{0, 13, 24, 10}).
			SortBy([]cog.Builder[common.TableSortByFieldState]{of(common.TableSortByFieldState{DisplayName: "days_of_cover"})}).
			OverrideByName("days_of_cover", []dashboard.DynamicConfigValue{
				prop("unit", "d"), prop("decimals", 1),
				prop("thresholds", thresholdsProp("red", 7, "orange", 14, "green")),
				prop("custom.cellOptions", cellBackground),
			}).
			OverrideByName("lead_time_days", []dashboard.DynamicConfigValue{prop("unit", "d"), prop("decimals", 1)}).
			OverrideByName("daily_demand", []dashboard.DynamicConfigValue{prop("decimals", 2), prop("displayName", "daily demand (units/d)")}).
			OverrideByName("cover_below_lead_time", []dashboard.DynamicConfigValue{
				prop("displayName", "below lead time"),
				prop("mappings", []any{map[string]any{"type": "value", "options": map[string]any{
					"0": map[string]any{"text": "no", "color": "green"},
					"1": map[string]any{"text": "yes", "color": "red"},
				}}}),
				prop("custom.cellOptions", cellText),
			})).
		WithPanel(list("Current stock", "Latest ledger state per SKU and warehouse", stock, [4]uint32{0, 23, 24, 9}).
			OverrideByName("last_event_ts", []dashboard.DynamicConfigValue{prop("unit", "dateTimeAsIso")}))
}
