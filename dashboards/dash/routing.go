package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/geomap"
)

// costFields are routing_costs' cost breakdown.
var costFields = []string{"shipping_cost", "handling_cost", "split_cost", "opportunity_cost", "backorder_cost"}

// routing answers "what does fulfilment cost, why, and how often do we
// split or backorder?".
func routing() *board {
	costs := Query{QueryType: "routing_costs", Region: []string{"$" + varRegion}}
	decisions := Query{QueryType: "routing_decisions", Region: []string{"$" + varRegion}}
	only := func(names ...string) dashboard.DataTransformerConfig {
		return transform("filterFieldsByName", map[string]any{"include": map[string]any{"names": append([]string{"time"}, names...)}})
	}
	stacked := common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)
	return newDashboard("stockflow-routing", "stockflow / Routing",
		"Routing decisions and their cost: cost per order, split rate, cost breakdown, opportunity-cost share, and where orders ship to.").
		WithVariable(regionVar()).
		WithPanel(kpi("Cost per order", "Mean routing cost per final decision over the time range", costs, "cost_per_order", "mean", "none", [4]uint32{0, 0, 6, 4}).Decimals(2)).
		WithPanel(kpi("Split rate", "Share of orders shipped from more than one warehouse", costs, "split_rate", "mean", "percentunit", [4]uint32{6, 0, 6, 4})).
		WithPanel(kpi("Opportunity-cost share", "Share of the routing cost that is the opportunity cost of depleting warehouses forecast to run short", costs, "opportunity_share", "mean", "percentunit", [4]uint32{12, 0, 6, 4})).
		WithPanel(kpi("Orders", "Orders with a final routing decision", costs, "orders", "sum", "short", [4]uint32{18, 0, 6, 4})).
		WithPanel(trend("Cost breakdown per day", "Shipping, handling, split penalty, opportunity and backorder cost per day, stacked (cost units)",
			costs, "none", [4]uint32{0, 4, 12, 9}).
			WithTransformation(only(costFields...)).
			DrawStyle(common.GraphDrawStyleBars).FillOpacity(70).Stacking(stacked).AxisLabel("cost")).
		WithPanel(trend("Outcomes per day", "Final decisions per day: routed, split, backordered and rejected orders, stacked",
			costs, "short", [4]uint32{12, 4, 12, 9}).
			WithTransformation(only("routed", "split", "backordered", "rejected")).
			DrawStyle(common.GraphDrawStyleBars).FillOpacity(70).Stacking(stacked).AxisLabel("orders")).
		WithPanel(geomap.NewPanelBuilder().
			Title("Decisions by ship-to location").Description("Final routing decisions at their ship-to location, coloured by total cost").
			Datasource(DataSource()).WithTarget(decisions).GridPos(pos(0, 13, 12, 10)).
			View(of(geomap.MapViewConfig{Id: "fit"})).
			Layers([]cog.Builder[common.MapLayerOptions]{of(common.MapLayerOptions{
				Type: "markers", Name: "decisions", Tooltip: cog.ToPtr(true),
				Location: &common.FrameGeometrySource{Mode: common.FrameGeometrySourceModeCoords, Latitude: cog.ToPtr("ship_lat"), Longitude: cog.ToPtr("ship_lon")},
				Config: map[string]any{"style": map[string]any{
					"size":  map[string]any{"fixed": 5, "min": 3, "max": 12, "field": "units"},
					"color": map[string]any{"field": "cost_total"},
				}},
			})}).
			Thresholds(steps("green", 20.0, "orange", 50.0, "red"))).
		WithPanel(list("Decisions", "Final routing decisions with their cost breakdown", decisions, [4]uint32{12, 13, 12, 10}).
			SortBy([]cog.Builder[common.TableSortByFieldState]{of(common.TableSortByFieldState{DisplayName: "cost_total", Desc: cog.ToPtr(true)})}).
			OverrideByName("cost_total", []dashboard.DynamicConfigValue{prop("custom.cellOptions", map[string]any{"type": "gauge", "mode": "basic"})}).
			OverrideByName("latency_ms", []dashboard.DynamicConfigValue{prop("unit", "ms")})).
		WithPanel(list("Cost by region", "Routing cost per region, summed over the time range", decisions, [4]uint32{0, 23, 24, 7}).
			WithTransformation(transform("groupBy", map[string]any{"fields": map[string]any{
				"region":           map[string]any{"operation": "groupby", "aggregations": []string{}},
				"order_id":         map[string]any{"operation": "aggregate", "aggregations": []string{"count"}},
				"cost_shipping":    map[string]any{"operation": "aggregate", "aggregations": []string{"sum"}},
				"cost_handling":    map[string]any{"operation": "aggregate", "aggregations": []string{"sum"}},
				"cost_split":       map[string]any{"operation": "aggregate", "aggregations": []string{"sum"}},
				"cost_opportunity": map[string]any{"operation": "aggregate", "aggregations": []string{"sum"}},
				"cost_total":       map[string]any{"operation": "aggregate", "aggregations": []string{"sum"}},
			}})))
}
