package export

import (
	"errors"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is the type of a dataset column, the same in ClickHouse's Arrow
// output, in the Arrow record batches and in Parquet.
type Kind int

// The column kinds. Timestamps are milliseconds since the Unix epoch in
// UTC; dates are UTC calendar days.
const (
	String    Kind = iota // Arrow utf8, Parquet BYTE_ARRAY (STRING)
	Int64                 // Arrow int64, Parquet INT64
	Float64               // Arrow float64, Parquet DOUBLE
	Bool                  // Arrow bool, Parquet BOOLEAN
	Timestamp             // Arrow timestamp[ms, UTC], Parquet INT64 (TIMESTAMP(MILLIS, UTC))
	Date                  // Arrow date32, Parquet INT32 (DATE)
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Int64:
		return "int64"
	case Float64:
		return "float64"
	case Bool:
		return "bool"
	case Timestamp:
		return "timestamp[ms, UTC]"
	case Date:
		return "date"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// arrowType is the Arrow type of a column of kind k.
func (k Kind) arrowType() arrow.DataType {
	switch k {
	case String:
		return arrow.BinaryTypes.String
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Float64:
		return arrow.PrimitiveTypes.Float64
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	case Date:
		return arrow.FixedWidthTypes.Date32
	}
	panic(fmt.Sprintf("export: unknown column kind %d", int(k)))
}

// Column is one documented column of a dataset.
type Column struct {
	Name string
	Kind Kind
	// Nullable columns may hold nulls (Parquet OPTIONAL); others never do.
	Nullable bool
	// Dict marks a low-cardinality column, dictionary-encoded in Parquet.
	Dict bool
	// Unit of the values ("units", "currency units", "minutes", "days" …),
	// empty for identifiers and flags.
	Unit string
	Doc  string
}

// timeZone is the time zone of a column's values: "UTC" for timestamps
// and dates, empty otherwise.
func (c Column) timeZone() string {
	if c.Kind == Timestamp || c.Kind == Date {
		return "UTC"
	}
	return ""
}

// Dataset is one exportable dataset: a named query of package sql whose
// first column is the partition key date (Date, the row's UTC day) and
// whose other columns are Columns, in order, sorted by SortedBy.
type Dataset struct {
	Name string
	// Query is the named query (sql/queries/<Query>.sql). Its parameters
	// are from and to (Date, inclusive), skus, warehouses and regions
	// (Array(String), empty = all) and, for features, category_skus,
	// category_names (Array(String)) and holidays (Array(Date)).
	Query string
	Doc   string
	// SortedBy lists the columns the rows of a partition are sorted by.
	SortedBy []string
	Columns  []Column
}

// PartitionKey is the Hive partition column of every dataset: the UTC day
// of the row (its ts, or its day), as date=YYYY-MM-DD in the path.
const PartitionKey = "date"

// ArrowSchema is the schema of the dataset's record batches (without the
// partition key).
func (d *Dataset) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(d.Columns))
	for i, c := range d.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Kind.arrowType(), Nullable: c.Nullable}
	}
	return arrow.NewSchema(fields, nil)
}

// queryArrowSchema is the schema of the query's Arrow output: the
// partition key, then the columns.
func (d *Dataset) queryArrowSchema() *arrow.Schema {
	fields := []arrow.Field{{Name: PartitionKey, Type: arrow.FixedWidthTypes.Date32}}
	fields = append(fields, d.ArrowSchema().Fields()...)
	return arrow.NewSchema(fields, nil)
}

// ErrUnknownDataset is wrapped by Lookup for a name that is no dataset.
var ErrUnknownDataset = errors.New("unknown dataset")

// Lookup returns the dataset called name.
func Lookup(name string) (*Dataset, error) {
	for _, d := range datasets {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w %q (have: %v)", ErrUnknownDataset, name, Names())
}

// Names lists the datasets, sorted.
func Names() []string {
	out := make([]string, len(datasets))
	for i, d := range datasets {
		out[i] = d.Name
	}
	sort.Strings(out)
	return out
}

// Shared columns.
var (
	colTS        = Column{Name: "ts", Kind: Timestamp, Doc: "event time"}
	colDay       = Column{Name: "day", Kind: Date, Doc: "the UTC calendar day"}
	colSKU       = Column{Name: "sku", Kind: String, Dict: true, Doc: "stock keeping unit"}
	colWarehouse = Column{Name: "warehouse", Kind: String, Dict: true, Doc: "warehouse id"}
)

var datasets = []*Dataset{
	{
		Name: "sales", Query: "export_sales",
		Doc:      "One row per sale (raw sales events, each event once).",
		SortedBy: []string{"sku", "warehouse", "ts"},
		Columns: []Column{
			colTS, colSKU, colWarehouse,
			{Name: "qty", Kind: Int64, Unit: "units", Doc: "units sold (> 0)"},
			{Name: "unit_price", Kind: Float64, Unit: "currency units per unit", Doc: "selling price of one unit, in currency"},
			{Name: "revenue", Kind: Float64, Unit: "currency units", Doc: "qty × unit_price"},
			{Name: "currency", Kind: String, Dict: true, Doc: "ISO 4217 currency of the prices"},
			{Name: "channel", Kind: String, Dict: true, Doc: "sales channel (store, web, marketplace …)"},
			{Name: "order_id", Kind: String, Doc: "web order the sale ships, empty for store and marketplace sales"},
			{Name: "event_id", Kind: String, Doc: "the event's unique id"},
		},
	},
	{
		Name: "stock_movements", Query: "export_stock_movements",
		Doc:      "One row per stock movement event (receipts, counts, adjustments, transfers, returns, damage).",
		SortedBy: []string{"sku", "warehouse", "ts"},
		Columns: []Column{
			colTS, colSKU, colWarehouse,
			{Name: "kind", Kind: String, Dict: true, Doc: "receipt, adjustment, count, transfer_out, transfer_in, return or damage"},
			{Name: "qty", Kind: Int64, Unit: "units", Doc: "quantity of the event: the absolute level for a count, a delta otherwise (signed for adjustment)"},
			{Name: "delta", Kind: Int64, Unit: "units", Doc: "on-hand change the stock pipeline applied (0 when ignored or superseded)"},
			{Name: "ref", Kind: String, Doc: "purchase order or transfer id"},
			{Name: "event_id", Kind: String, Doc: "the event's unique id"},
		},
	},
	{
		Name: "stock_levels", Query: "export_stock_levels",
		Doc:      "End-of-day stock per SKU, warehouse and UTC day (days without movements included), from the key's first event to the last day with any event.",
		SortedBy: []string{"sku", "warehouse", "day"},
		Columns: []Column{
			colDay, colSKU, colWarehouse,
			{Name: "on_hand", Kind: Int64, Unit: "units", Doc: "on hand at the end of the day: applied movement deltas minus sales since the beginning of the history"},
			{Name: "net_change", Kind: Int64, Unit: "units", Doc: "on_hand minus the previous day's"},
			{Name: "received", Kind: Int64, Unit: "units", Doc: "supplier receipts of the day"},
			{Name: "transferred_in", Kind: Int64, Unit: "units", Doc: "lateral transfers received"},
			{Name: "transferred_out", Kind: Int64, Unit: "units", Doc: "lateral transfers shipped"},
			{Name: "sold", Kind: Int64, Unit: "units", Doc: "units sold"},
			{Name: "returned", Kind: Int64, Unit: "units", Doc: "customer returns"},
			{Name: "adjusted", Kind: Int64, Unit: "units", Doc: "net change from counts, adjustments and damage"},
		},
	},
	{
		Name: "sales_daily", Query: "export_sales_daily",
		Doc:      "Units, revenue and sales per SKU, warehouse and UTC day with at least one sale.",
		SortedBy: []string{"sku", "warehouse", "day"},
		Columns: []Column{
			colDay, colSKU, colWarehouse,
			{Name: "units", Kind: Int64, Unit: "units", Doc: "units sold"},
			{Name: "revenue", Kind: Float64, Unit: "currency units", Doc: "sum of qty × unit_price"},
			{Name: "sales", Kind: Int64, Unit: "sales", Doc: "number of sale events"},
			{Name: "avg_price", Kind: Float64, Nullable: true, Unit: "currency units per unit", Doc: "revenue / units; null when units is 0"},
		},
	},
	{
		Name: "forecasts", Query: "export_forecasts",
		Doc:      "Every daily demand forecast for the forecast days in the range (partitioned by forecast day), all runs and cutoffs.",
		SortedBy: []string{"sku", "warehouse", "day", "cutoff", "run_id"},
		Columns: []Column{
			{Name: "day", Kind: Date, Doc: "the forecast UTC day"},
			colSKU, colWarehouse,
			{Name: "cutoff", Kind: Date, Doc: "last UTC day of the training data"},
			{Name: "horizon", Kind: Int64, Unit: "days", Doc: "day − cutoff"},
			{Name: "run_id", Kind: String, Dict: true, Doc: "training run"},
			{Name: "created_at", Kind: Timestamp, Doc: "when the run wrote the forecast"},
			{Name: "model", Kind: String, Dict: true, Doc: "model chosen for the series by backtest"},
			{Name: "mean", Kind: Float64, Unit: "units", Doc: "expected units demanded on the day, campaign uplift included"},
			{Name: "p05", Kind: Float64, Unit: "units", Doc: "5% quantile of demand"},
			{Name: "p10", Kind: Float64, Unit: "units", Doc: "10% quantile of demand"},
			{Name: "p50", Kind: Float64, Unit: "units", Doc: "median demand"},
			{Name: "p90", Kind: Float64, Unit: "units", Doc: "90% quantile of demand"},
			{Name: "p95", Kind: Float64, Unit: "units", Doc: "95% quantile of demand"},
			{Name: "p99", Kind: Float64, Unit: "units", Doc: "99% quantile of demand"},
			{Name: "uplift", Kind: Float64, Unit: "ratio", Doc: "relative campaign uplift applied (0.25 = baseline × 1.25)"},
		},
	},
	{
		Name: "reorders", Query: "export_reorders",
		Doc:      "Every decision and status change of a purchase reorder or lateral transfer, with the numbers that explain it.",
		SortedBy: []string{"sku", "warehouse", "ts"},
		Columns: []Column{
			colTS, colSKU,
			{Name: "warehouse", Kind: String, Dict: true, Doc: "destination warehouse"},
			{Name: "reorder_id", Kind: String, Doc: "deterministic id shared by the reorder's rows"},
			{Name: "kind", Kind: String, Dict: true, Doc: "purchase or transfer"},
			{Name: "status", Kind: String, Dict: true, Doc: "suggested, ordered, received, cancelled …"},
			{Name: "from_warehouse", Kind: String, Dict: true, Doc: "source warehouse of a transfer, empty for purchases"},
			{Name: "supplier", Kind: String, Dict: true, Doc: "supplier of a purchase"},
			{Name: "cycle", Kind: Int64, Doc: "replenishment cycle of the (sku, warehouse)"},
			{Name: "qty", Kind: Int64, Unit: "units", Doc: "quantity ordered"},
			{Name: "received_qty", Kind: Int64, Unit: "units", Doc: "quantity received (0 until received)"},
			{Name: "reason", Kind: String, Dict: true, Doc: "why the decision was taken"},
			{Name: "policy", Kind: String, Dict: true, Doc: "inventory policy (sS, sQ, RS)"},
			{Name: "class", Kind: String, Dict: true, Doc: "ABC class of the SKU"},
			{Name: "inventory_position", Kind: Int64, Unit: "units", Doc: "on hand + on order + in transit − backorders − reserved at decision time"},
			{Name: "on_hand", Kind: Int64, Unit: "units", Doc: "on hand at decision time"},
			{Name: "on_order", Kind: Int64, Unit: "units", Doc: "open purchase quantity at decision time"},
			{Name: "in_transit", Kind: Int64, Unit: "units", Doc: "open transfer quantity at decision time"},
			{Name: "backorders", Kind: Int64, Unit: "units", Doc: "backordered units at decision time"},
			{Name: "reserved", Kind: Int64, Unit: "units", Doc: "reserved units at decision time"},
			{Name: "reorder_point", Kind: Float64, Unit: "units", Doc: "reorder point s"},
			{Name: "order_up_to", Kind: Float64, Unit: "units", Doc: "order-up-to level S"},
			{Name: "safety_stock", Kind: Float64, Unit: "units", Doc: "safety stock"},
			{Name: "daily_demand", Kind: Float64, Unit: "units per day", Doc: "demand rate used"},
			{Name: "lead_time_days", Kind: Float64, Unit: "days", Doc: "expected lead time"},
			{Name: "demand_source", Kind: String, Dict: true, Doc: "forecast or sales"},
			{Name: "forecast_run_id", Kind: String, Dict: true, Doc: "forecast run used, empty when demand_source is sales"},
			{Name: "unit_cost", Kind: Float64, Unit: "currency units per unit", Doc: "purchase cost of one unit"},
			{Name: "expected_by", Kind: Timestamp, Doc: "ts plus the lead time"},
		},
	},
	{
		Name: "routing", Query: "export_routing",
		Doc:      "One row per assignment of a routing decision: qty units of sku shipped from warehouse for an order.",
		SortedBy: []string{"sku", "warehouse", "ts"},
		Columns: []Column{
			colTS, colSKU, colWarehouse,
			{Name: "order_id", Kind: String, Doc: "web order"},
			{Name: "decision_id", Kind: String, Doc: "routing decision record"},
			{Name: "status", Kind: String, Dict: true, Doc: "routed, split, backordered or rejected"},
			{Name: "final", Kind: Bool, Doc: "the decision that ended the order"},
			{Name: "attempt", Kind: Int64, Doc: "routing attempt of the order, from 1"},
			{Name: "line", Kind: Int64, Doc: "assignment number within the decision, from 0"},
			{Name: "qty", Kind: Int64, Unit: "units", Doc: "units assigned"},
			{Name: "package", Kind: Int64, Doc: "package number within the decision"},
			{Name: "shipping", Kind: Float64, Unit: "currency units", Doc: "share of the package's shipping cost"},
			{Name: "handling", Kind: Float64, Unit: "currency units", Doc: "share of the package's handling cost"},
			{Name: "opportunity", Kind: Float64, Unit: "currency units", Doc: "opportunity cost of depleting the warehouse"},
		},
	},
	featuresDataset,
}

// featuresDataset is the training-ready daily table.
var featuresDataset = &Dataset{
	Name: "features", Query: "export_features",
	Doc: "One row per SKU, warehouse and UTC day (from the key's first event to the last day with any event), ready for training demand models and " +
		"for forecast-error analysis. Days with stockout minutes are marked censored: demand on them was cut by missing " +
		"stock, so units_sold is a lower bound of demand.",
	SortedBy: []string{"sku", "warehouse", "day"},
	Columns: []Column{
		colDay, colSKU, colWarehouse,
		{Name: "region", Kind: String, Dict: true, Doc: "region of the warehouse (empty when unknown)"},
		{Name: "units_sold", Kind: Int64, Unit: "units", Doc: "units sold on the day"},
		{Name: "revenue", Kind: Float64, Unit: "currency units", Doc: "sum of qty × unit_price"},
		{Name: "sales", Kind: Int64, Unit: "sales", Doc: "number of sale events"},
		{Name: "avg_price", Kind: Float64, Nullable: true, Unit: "currency units per unit", Doc: "revenue / units_sold; null on days without sales"},
		{Name: "on_hand", Kind: Int64, Unit: "units", Doc: "on hand at the end of the day"},
		{Name: "stockout_minutes", Kind: Float64, Unit: "minutes", Doc: "minutes of the day with nothing available (stock pipeline's daily window)"},
		{Name: "censored", Kind: Bool, Doc: "stockout_minutes > 0: demand was censored by missing stock"},
		{Name: "campaign", Kind: Bool, Doc: "a campaign targeting the SKU (listed or by category) and the warehouse (listed, by region or all) was active during the day"},
		{Name: "campaign_uplift", Kind: Float64, Unit: "ratio", Doc: "largest announced relative uplift of the active campaigns (0.5 = +50%); 0 without campaign"},
		{Name: "day_of_week", Kind: Int64, Doc: "ISO day of week, 1 = Monday … 7 = Sunday"},
		{Name: "weekend", Kind: Bool, Doc: "Saturday or Sunday"},
		{Name: "day_of_year", Kind: Int64, Doc: "1 … 366"},
		{Name: "month", Kind: Int64, Doc: "1 … 12"},
		{Name: "holiday", Kind: Bool, Doc: "a public holiday of the calendar in _schema.json"},
		{Name: "days_to_holiday", Kind: Int64, Nullable: true, Unit: "days", Doc: "days until the next holiday (0 on one)"},
		{Name: "days_since_holiday", Kind: Int64, Nullable: true, Unit: "days", Doc: "days since the last holiday (0 on one)"},
		{Name: "forecast_h1", Kind: Float64, Nullable: true, Unit: "units", Doc: "mean forecast of the day made at least 1 day before (latest cutoff ≤ day − 1); null when none"},
		{Name: "forecast_h1_p10", Kind: Float64, Nullable: true, Unit: "units", Doc: "its 10% quantile"},
		{Name: "forecast_h1_p90", Kind: Float64, Nullable: true, Unit: "units", Doc: "its 90% quantile"},
		{Name: "forecast_h7", Kind: Float64, Nullable: true, Unit: "units", Doc: "mean forecast made at least 7 days before (cutoff ≤ day − 7)"},
		{Name: "forecast_h7_p10", Kind: Float64, Nullable: true, Unit: "units", Doc: "its 10% quantile"},
		{Name: "forecast_h7_p90", Kind: Float64, Nullable: true, Unit: "units", Doc: "its 90% quantile"},
		{Name: "forecast_h14", Kind: Float64, Nullable: true, Unit: "units", Doc: "mean forecast made at least 14 days before (cutoff ≤ day − 14)"},
		{Name: "forecast_h14_p10", Kind: Float64, Nullable: true, Unit: "units", Doc: "its 10% quantile"},
		{Name: "forecast_h14_p90", Kind: Float64, Nullable: true, Unit: "units", Doc: "its 90% quantile"},
	},
}
