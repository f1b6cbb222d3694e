package dash

import (
	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// kpi is a stat panel reducing one field of a query with calc (sum,
// mean, lastNotNull …).
func kpi(title, desc string, q Query, field, calc, unit string, at [4]uint32) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).Description(desc).
		Datasource(DataSource()).
		WithTarget(q).
		GridPos(pos(at[0], at[1], at[2], at[3])).
		Unit(unit).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeValue).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{calc}).Fields("/^" + field + "$/"))
}

// list is a table panel.
func list(title, desc string, q Query, at [4]uint32) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Title(title).Description(desc).
		Datasource(DataSource()).
		WithTarget(q).
		GridPos(pos(at[0], at[1], at[2], at[3])).
		Filterable(true).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}).CountRows(false))
}

// trend is a time series panel.
func trend(title, desc string, q Query, unit string, at [4]uint32) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).Description(desc).
		Datasource(DataSource()).
		WithTarget(q).
		GridPos(pos(at[0], at[1], at[2], at[3])).
		Unit(unit).
		Legend(legend("mean", "max", "lastNotNull"))
}

// bars is a bar chart of a table grouped by one string column, summing
// the numeric fields.
func bars(title, desc string, q Query, by string, sum []string, unit string, at [4]uint32) *barchart.PanelBuilder {
	fields := map[string]any{by: map[string]any{"operation": "groupby", "aggregations": []string{}}}
	for _, f := range sum {
		fields[f] = map[string]any{"operation": "aggregate", "aggregations": []string{"sum"}}
	}
	return barchart.NewPanelBuilder().
		Title(title).Description(desc).
		Datasource(DataSource()).
		WithTarget(q).
		GridPos(pos(at[0], at[1], at[2], at[3])).
		WithTransformation(transform("groupBy", map[string]any{"fields": fields})).
		XField(by).
		Unit(unit).
		ShowValue(common.VisibilityModeAuto).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).
			DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).Calcs([]string{}))
}

// cellBackground is the cell option colouring a table cell's background.
var cellBackground = map[string]any{"type": "color-background", "mode": "basic"}

// cellText is the cell option colouring a table cell's text.
var cellText = map[string]any{"type": "color-text"}

// thresholdsProp are absolute thresholds as an override property value.
func thresholdsProp(base string, rest ...any) map[string]any {
	s := []map[string]any{{"color": base, "value": nil}}
	for i := 0; i+1 < len(rest); i += 2 {
		s = append(s, map[string]any{"value": rest[i], "color": rest[i+1]})
	}
	return map[string]any{"mode": "absolute", "steps": s}
}
