// Package dash is stockflow's Grafana dashboards as code: each dashboard is
// built with the Grafana Foundation SDK (schemaVersion of Grafana 12/13)
// on the stockflow data source (stockflow-inventory-datasource, provisioned
// with the fixed uid DataSourceUID) and rendered to the JSON committed in
// dashboards/json, which deploy/grafana/provisioning loads into Grafana.
// Regenerate with `go generate ./dashboards/dash` (a test fails when the
// committed JSON is stale).
//
// Panel queries are the plugin's query model (plugin.Query) and their
// query types are the API's query routes (api.QueryRoutes). It imports the
// Foundation SDK and the standard library only; it must not import the
// store, the API server or the plugin.
package dash

//go:generate go test . -run ^TestCommitted$ -update

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// The stockflow data source as deploy/grafana/provisioning provisions it.
const (
	// DataSourceType is the plugin id (plugin.ID).
	DataSourceType = "stockflow-inventory-datasource"
	// DataSourceUID is the provisioned data source's fixed uid.
	DataSourceUID = "stockflow"
)

// DataSource is the reference every panel and variable uses.
func DataSource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(DataSourceType), Uid: cog.ToPtr(DataSourceUID)}
}

// Query is a panel target on the stockflow data source: the plugin's query
// model (see plugin.Query; the JSON names must stay the same) with the
// target's refId and data source.
type Query struct {
	RefID        string                `json:"refId"`
	Datasource   *common.DataSourceRef `json:"datasource,omitempty"`
	QueryType    string                `json:"queryType"`
	SKU          []string              `json:"sku,omitempty"`
	Warehouse    []string              `json:"warehouse,omitempty"`
	Region       []string              `json:"region,omitempty"`
	Kind         string                `json:"kind,omitempty"`
	Status       string                `json:"status,omitempty"`
	Limit        int64                 `json:"limit,omitempty"`
	LeadTimeDays float64               `json:"leadTimeDays,omitempty"`
	StepSeconds  int64                 `json:"stepSeconds,omitempty"`
	Format       string                `json:"format,omitempty"`
}

var (
	_ variants.Dataquery              = Query{}
	_ cog.Builder[variants.Dataquery] = Query{}
)

// ImplementsDataqueryVariant marks Query as a Foundation SDK data query.
func (Query) ImplementsDataqueryVariant() {}

// DataqueryType is the data source type the query is for.
func (Query) DataqueryType() string { return DataSourceType }

// Validate checks the query names a query type.
func (q Query) Validate() error {
	if q.QueryType == "" {
		return fmt.Errorf("query %s: no queryType", q.RefID)
	}
	return nil
}

// Equals compares two queries by their JSON.
func (q Query) Equals(other variants.Dataquery) bool {
	a, errA := json.Marshal(q)
	b, errB := json.Marshal(other)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// Build makes a Query its own builder, so panels take it as a target.
func (q Query) Build() (variants.Dataquery, error) {
	if q.RefID == "" {
		q.RefID = "A"
	}
	q.Datasource = cog.ToPtr(DataSource())
	return q, nil
}

// value is a cog.Builder of a ready value.
type value[T any] struct{ v T }

func (b value[T]) Build() (T, error) { return b.v, nil }

func of[T any](v T) cog.Builder[T] { return value[T]{v} }

// Variable names; panels filter with "$name".
const (
	varRegion    = "region"
	varWarehouse = "warehouse"
	varSKU       = "sku"
)

// AllValue is what a variable set to "All" sends: the plugin treats it as
// no filter.
const AllValue = "$__all"

// VariableQuery is a template variable's query: a resource of the data
// source (skus, warehouses or regions), with filters from other variables.
// The query editor's variable support lists the resource with these
// filters through the plugin's CallResource.
type VariableQuery struct {
	Resource  string   `json:"resource"`
	Region    []string `json:"region,omitempty"`
	Warehouse []string `json:"warehouse,omitempty"`
}

// variable builds a query variable over a resource; multi variables offer
// All (sent as AllValue).
func variable(name, label string, q VariableQuery, multi bool) cog.Builder[dashboard.VariableModel] {
	m := map[string]any{"resource": q.Resource}
	if len(q.Region) > 0 {
		m["region"] = q.Region
	}
	if len(q.Warehouse) > 0 {
		m["warehouse"] = q.Warehouse
	}
	v := dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(DataSource()).
		Query(dashboard.StringOrMap{Map: m}).
		Refresh(dashboard.VariableRefreshOnDashboardLoad).
		Sort(dashboard.VariableSortAlphabeticalAsc)
	if multi {
		v = v.Multi(true).IncludeAll(true).AllValue(AllValue).
			Current(dashboard.VariableOption{Text: strs("All"), Value: strs(AllValue)})
	}
	return v
}

func strs(s string) dashboard.StringOrArrayOfString {
	return dashboard.StringOrArrayOfString{String: cog.ToPtr(s)}
}

// regionVar, warehouseVar and skuVar are the chained filters: warehouses
// of the chosen regions, SKUs stocked there.
func regionVar() cog.Builder[dashboard.VariableModel] {
	return variable(varRegion, "Region", VariableQuery{Resource: "regions"}, true)
}

func warehouseVar(multi bool) cog.Builder[dashboard.VariableModel] {
	return variable(varWarehouse, "Warehouse", VariableQuery{Resource: "warehouses", Region: []string{"$" + varRegion}}, multi)
}

func skuVar(multi bool) cog.Builder[dashboard.VariableModel] {
	return variable(varSKU, "SKU", VariableQuery{Resource: "skus", Region: []string{"$" + varRegion}, Warehouse: []string{"$" + varWarehouse}}, multi)
}

// filtered is a query of type qt filtered by every variable.
func filtered(qt string) Query {
	return Query{QueryType: qt, SKU: []string{"$" + varSKU}, Warehouse: []string{"$" + varWarehouse}, Region: []string{"$" + varRegion}}
}

// pos is a grid position.
func pos(x, y, w, h uint32) dashboard.GridPos { return dashboard.GridPos{X: x, Y: y, W: w, H: h} }

// prop is one property of a field override.
func prop(id string, v any) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: id, Value: v}
}

// steps are thresholds from a base colour: color, then value, color ….
func steps(base string, rest ...any) cog.Builder[dashboard.ThresholdsConfig] {
	s := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(rest); i += 2 {
		v, _ := rest[i].(float64)
		c, _ := rest[i+1].(string)
		s = append(s, dashboard.Threshold{Value: cog.ToPtr(v), Color: c})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

// transform is a transformation with its options.
func transform(id string, options any) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: id, Options: options}
}

// legend is a table legend at the bottom with the given calculations.
func legend(calcs ...string) cog.Builder[common.VizLegendOptions] {
	return common.NewVizLegendOptionsBuilder().ShowLegend(true).
		DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementBottom).Calcs(calcs)
}

// board is the classic dashboard schema (schemaVersion 42), the one file
// provisioning loads in Grafana 11, 12 and 13 alike. The SDK marks it
// deprecated in favour of the v2 schema, which needs Grafana 12's
// dashboard v2 API: not what a file provider reads everywhere yet.
type board = dashboard.DashboardBuilder //nolint:staticcheck // see above

// newDashboard starts a dashboard with stockflow's common settings.
func newDashboard(uid, title, description string) *board {
	b := dashboard.NewDashboardBuilder(title) //nolint:staticcheck // see board
	return b.Uid(uid).
		Description(description).
		Tags([]string{"stockflow"}).
		Editable().
		Timezone("utc").
		Time("now-30d", "now+14d").
		Refresh("1m").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("stockflow").Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"stockflow"}).AsDropdown(true).IncludeVars(true).KeepTime(true))
}

// File is one generated dashboard and the file it is committed as in
// dashboards/json.
type File struct {
	Name  string
	Build func() *board
}

// Files are every stockflow dashboard.
func Files() []File {
	return []File{
		{"stock-overview.json", stockOverview},
		{"forecast.json", forecast},
		{"replenishment.json", replenishment},
		{"routing.json", routing},
		{"pipeline-health.json", pipelineHealth},
	}
}

// Render builds a dashboard and returns its JSON, indented, with a final
// newline.
func Render(f File) ([]byte, error) {
	d, err := f.Build().Build()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", f.Name, err)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", f.Name, err)
	}
	return append(b, '\n'), nil
}
