package chsink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// Tables the sink writes, and their columns.
const tableStockLevels = "stock_levels"

var (
	srcColumns      = []string{"src_topic", "src_partition", "src_offset", "ingested_at"}
	salesColumns    = append([]string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency"}, srcColumns...)
	stockColumns    = append([]string{"event_id", "ts", "sku", "warehouse", "kind", "qty", "delta", "ref"}, srcColumns...)
	ordersColumns   = append([]string{"event_id", "ts", "order_id", "lines.sku", "lines.qty", "ship_postal_code", "ship_country", "ship_lat", "ship_lon", "service_level", "promised_by"}, srcColumns...)
	campaignColumns = append([]string{"event_id", "ts", "campaign_id", "skus", "category", "regions", "warehouses", "start", "end", "expected_uplift"}, srcColumns...)
	levelColumns    = []string{"sku", "warehouse", "on_hand", "reserved", "available", "last_event_ts", "version", "updated_at"}
	dlqColumns      = []string{"ts", "src_topic", "src_partition", "src_offset", "event_type", "reason", "message", "key", "value"}
	windowColumns   = []string{"sku", "warehouse", "size", "window_start", "window_end", "kind", "units", "revenue", "sales",
		"stockout_seconds", "velocity_7d", "velocity_28d", "stream_time", "src_partition", "src_offset", "ingested_at"}
	reorderColumns = []string{"reorder_id", "kind", "status", "ts", "sku", "warehouse", "from_warehouse", "supplier",
		"cycle", "qty", "received_qty", "reason", "mode", "policy", "target", "service", "class",
		"inventory_position", "on_hand", "on_order", "in_transit", "backorders", "reserved",
		"reorder_point", "order_up_to", "order_qty", "safety_stock", "lead_demand", "lead_demand_sd", "daily_demand",
		"lead_time_days", "lead_time_sd_days", "forecast_run_id", "demand_source", "unit_cost", "expected_by",
		"transfer_cost", "shortage_cost", "src_partition", "src_offset", "ingested_at"}
	routingDecisionColumns = []string{"decision_id", "order_id", "ts", "status", "reason", "final", "attempt",
		"warehouses", "units", "packages",
		"cost_shipping", "cost_handling", "cost_split", "cost_opportunity", "cost_backorder", "cost_total",
		"alternatives.status", "alternatives.warehouses", "alternatives.cost_shipping", "alternatives.cost_handling",
		"alternatives.cost_split", "alternatives.cost_opportunity", "alternatives.cost_backorder", "alternatives.cost_total",
		"batch_id", "latency_ms", "region", "ship_postal_code", "ship_country", "ship_lat", "ship_lon",
		"src_partition", "src_offset", "ingested_at"}
	reservationResultColumns = []string{"reservation_id", "order_id", "sku", "warehouse", "qty", "status", "available", "reason", "ts",
		"src_partition", "src_offset", "ingested_at"}
	routingAssignmentColumns = []string{"warehouse", "sku", "ts", "order_id", "decision_id", "status", "final", "attempt",
		"line", "qty", "package", "shipping", "handling", "opportunity", "src_partition", "src_offset", "ingested_at"}
)

// addFunc adds one row to the batch of a table.
type addFunc func(table string, columns []string, row []any)

// toRows turns one data record into rows. An error is a record that cannot
// become a row (a contract violation upstream); it carries an
// *event.Error with the reason.
func toRows(r *kgo.Record, now time.Time, add addFunc) error {
	switch r.Topic {
	case kafka.TopicAccepted:
		return accepted(r, now, add)
	case kafka.TopicStockChangelog:
		return changelog(r, now, add)
	case kafka.TopicDLQ:
		add("dlq", dlqColumns, dlqRow(r))
	case kafka.TopicWindows:
		row, err := windowRow(r, now)
		if err != nil {
			return err
		}
		add("demand_windows", windowColumns, row)
	case kafka.TopicReorders:
		row, err := reorderRow(r, now)
		if err != nil {
			return err
		}
		add("reorders", reorderColumns, row)
	case event.TopicRouting:
		return routingRows(r, now, add)
	case event.TopicReservationResults:
		row, err := reservationResultRow(r, now)
		if err != nil {
			return err
		}
		add("reservation_results", reservationResultColumns, row)
	}
	return nil
}

// reservationResultRow is the reservation_results row of a
// stockflow.reservation-results.v1 record. Like reorderRow, the source
// coordinates are the record's own, so a replayed record yields an
// identical row.
func reservationResultRow(r *kgo.Record, now time.Time) ([]any, error) {
	var x event.ReservationResult
	if err := json.Unmarshal(r.Value, &x); err != nil {
		return nil, fmt.Errorf("reservation result record: %w: %w", &event.Error{Reason: event.ReasonMalformedJSON}, err)
	}
	var bad *event.Error
	switch {
	case x.ReservationID == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "reservation_id"}
	case x.SKU == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "sku"}
	case x.Warehouse == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "warehouse"}
	case x.TS.IsZero():
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "ts"}
	case x.Status != event.ReservationAccepted && x.Status != event.ReservationRejected && x.Status != event.ReservationReleased:
		bad = &event.Error{Reason: event.ReasonInvalidValue, Field: "status", Msg: fmt.Sprintf("%q is not a reservation status", x.Status)}
	}
	if bad != nil {
		return nil, fmt.Errorf("reservation result record: %w", bad)
	}
	return []any{
		x.ReservationID, x.OrderID, string(x.SKU), string(x.Warehouse), x.Qty, string(x.Status), x.Available, x.Reason, x.TS.UTC(),
		r.Partition, r.Offset, now,
	}, nil
}

func header(r *kgo.Record, key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

func headerInt(r *kgo.Record, key string) int64 {
	v, _ := strconv.ParseInt(string(header(r, key)), 10, 64)
	return v
}

func src(r *kgo.Record, now time.Time) []any {
	return []any{
		string(header(r, event.HeaderSourceTopic)),
		int32(headerInt(r, event.HeaderSourcePartition)),
		headerInt(r, event.HeaderSourceOffset),
		now,
	}
}

func accepted(r *kgo.Record, now time.Time, add addFunc) error {
	switch string(header(r, event.HeaderEventType)) {
	case event.TypeSale.String():
		var e event.Sale
		if err := event.DecodeSale(r.Value, &e); err != nil {
			return err
		}
		row := []any{e.EventID, e.TS.UTC(), string(e.SKU), string(e.Warehouse), e.Qty, e.OrderID, e.Channel, e.UnitPrice, e.Currency}
		add("sales", salesColumns, append(row, src(r, now)...))
	case event.TypeStock.String():
		var e event.Stock
		if err := event.DecodeStock(r.Value, &e); err != nil {
			return err
		}
		row := []any{e.EventID, e.TS.UTC(), string(e.SKU), string(e.Warehouse), string(e.Kind), e.Qty, headerInt(r, event.HeaderDelta), e.Ref}
		add("stock_movements", stockColumns, append(row, src(r, now)...))
	case event.TypeOrder.String():
		var e event.Order
		if err := event.DecodeOrder(r.Value, &e); err != nil {
			return err
		}
		skus := make([]string, len(e.Lines))
		qtys := make([]int64, len(e.Lines))
		for i, l := range e.Lines {
			skus[i], qtys[i] = string(l.SKU), l.Qty
		}
		row := []any{e.EventID, e.TS.UTC(), e.OrderID, skus, qtys, e.ShipTo.PostalCode, e.ShipTo.Country, e.ShipTo.Lat, e.ShipTo.Lon, e.ServiceLevel, e.PromisedBy.UTC()}
		add("orders", ordersColumns, append(row, src(r, now)...))
	case event.TypeCampaign.String():
		var e event.Campaign
		if err := event.DecodeCampaign(r.Value, &e); err != nil {
			return err
		}
		skus := make([]string, len(e.SKUs))
		for i, v := range e.SKUs {
			skus[i] = string(v)
		}
		whs := make([]string, len(e.Warehouses))
		for i, v := range e.Warehouses {
			whs[i] = string(v)
		}
		regions := append([]string{}, e.Regions...)
		row := []any{e.EventID, e.TS.UTC(), e.CampaignID, skus, e.Category, regions, whs, e.Start.UTC(), e.End.UTC(), e.ExpectedUplift}
		add("campaigns", campaignColumns, append(row, src(r, now)...))
	default:
		return &event.Error{Reason: event.ReasonInvalidValue, Field: event.HeaderEventType, Msg: "accepted record without a known event type header"}
	}
	return nil
}

func changelog(r *kgo.Record, now time.Time, add addFunc) error {
	if !bytes.HasPrefix(r.Key, []byte(event.ChangelogLevelPrefix)) || r.Value == nil {
		return nil // dedup, stream-time and window entries are the pipeline's own state
	}
	var lv event.StockLevel
	if err := json.Unmarshal(r.Value, &lv); err != nil {
		return fmt.Errorf("changelog ledger record: %w: %w", &event.Error{Reason: event.ReasonMalformedJSON}, err)
	}
	add(tableStockLevels, levelColumns, []any{
		string(lv.SKU), string(lv.Warehouse), lv.OnHand, lv.Reserved, lv.Available,
		time.UnixMilli(lv.LastEventTS).UTC(), lv.Version, now,
	})
	return nil
}

// dlqRow keeps the DLQ record's own timestamp (when the pipeline
// dead-lettered it), so a replayed record yields an identical row.
func dlqRow(r *kgo.Record) []any {
	return []any{
		r.Timestamp.UTC(),
		string(header(r, event.HeaderSourceTopic)),
		int32(headerInt(r, event.HeaderSourcePartition)),
		headerInt(r, event.HeaderSourceOffset),
		string(header(r, event.HeaderEventType)),
		string(header(r, event.HeaderReason)),
		string(header(r, event.HeaderMessage)),
		string(r.Key),
		string(r.Value),
	}
}

// windowRow is the demand_windows row of a stockflow.windows.v1 record. Its
// source coordinates are the record's own: the windows topic is partitioned
// like the inputs, so src_partition is also the partition of the sales the
// window sums.
func windowRow(r *kgo.Record, now time.Time) ([]any, error) {
	var w event.Window
	if err := json.Unmarshal(r.Value, &w); err != nil {
		return nil, fmt.Errorf("window record: %w: %w", &event.Error{Reason: event.ReasonMalformedJSON}, err)
	}
	var bad *event.Error
	switch {
	case w.SKU == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "sku"}
	case w.Warehouse == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "warehouse"}
	case w.Size != event.WindowHour && w.Size != event.WindowDay:
		bad = &event.Error{Reason: event.ReasonInvalidValue, Field: "size", Msg: fmt.Sprintf("%q is not a window size", w.Size)}
	case w.Kind != event.WindowFinal && w.Kind != event.WindowCorrection:
		bad = &event.Error{Reason: event.ReasonInvalidValue, Field: "kind", Msg: fmt.Sprintf("%q is not a window kind", w.Kind)}
	case !w.End.After(w.Start):
		bad = &event.Error{Reason: event.ReasonInvalidValue, Field: "end", Msg: "window ends before it starts"}
	}
	if bad != nil {
		return nil, fmt.Errorf("window record: %w", bad)
	}
	return []any{
		string(w.SKU), string(w.Warehouse), w.Size, w.Start.UTC(), w.End.UTC(), string(w.Kind),
		w.Units, w.Revenue, w.Sales, w.StockoutSeconds, w.Velocity7, w.Velocity28, w.StreamTime.UTC(),
		r.Partition, r.Offset, now,
	}, nil
}

// reorderRow is the reorders row of a stockflow.reorders.v1 record. Like
// windowRow, its source coordinates are the record's own (the reorders
// topic is keyed by SKU and partitioned like the inputs), so a replayed
// record yields an identical row. Absent optional fields are stored as
// empty strings and zeros.
func reorderRow(r *kgo.Record, now time.Time) ([]any, error) {
	var o event.Reorder
	if err := json.Unmarshal(r.Value, &o); err != nil {
		return nil, fmt.Errorf("reorder record: %w: %w", &event.Error{Reason: event.ReasonMalformedJSON}, err)
	}
	var bad *event.Error
	switch {
	case o.ReorderID == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "reorder_id"}
	case o.SKU == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "sku"}
	case o.Warehouse == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "warehouse"}
	case o.TS.IsZero():
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "ts"}
	case o.Kind != event.ReorderPurchase && o.Kind != event.ReorderTransfer:
		bad = &event.Error{Reason: event.ReasonInvalidValue, Field: "kind", Msg: fmt.Sprintf("%q is not a reorder kind", o.Kind)}
	case o.Status != event.ReorderSuggested && o.Status != event.ReorderOrdered &&
		o.Status != event.ReorderReceived && o.Status != event.ReorderCancelled:
		bad = &event.Error{Reason: event.ReasonInvalidValue, Field: "status", Msg: fmt.Sprintf("%q is not a reorder status", o.Status)}
	}
	if bad != nil {
		return nil, fmt.Errorf("reorder record: %w", bad)
	}
	return []any{
		o.ReorderID, string(o.Kind), string(o.Status), o.TS.UTC(), string(o.SKU), string(o.Warehouse), string(o.FromWarehouse), o.Supplier,
		o.Cycle, o.Qty, o.ReceivedQty, o.Reason, o.Mode, o.Policy, o.Target, o.Service, o.Class,
		o.InventoryPosition, o.OnHand, o.OnOrder, o.InTransit, o.Backorders, o.Reserved,
		o.ReorderPoint, o.OrderUpTo, o.OrderQty, o.SafetyStock, o.LeadDemand, o.LeadDemandSD, o.DailyDemand,
		o.LeadTimeDays, o.LeadTimeSDDays, o.ForecastRunID, o.DemandSource, o.UnitCost, o.ExpectedBy.UTC(),
		o.TransferCost, o.ShortageCost, r.Partition, r.Offset, now,
	}, nil
}

// routingRows adds the routing_decisions row of a stockflow.routing.v1
// record and one routing_assignments row per assignment. Like reorderRow,
// the source coordinates are the record's own (the routing topic is keyed
// by order id), so a replayed record yields identical rows. The record is
// checked whole before any row is added: a bad record adds none.
func routingRows(r *kgo.Record, now time.Time, add addFunc) error {
	var d event.RoutingDecision
	if err := json.Unmarshal(r.Value, &d); err != nil {
		return fmt.Errorf("routing record: %w: %w", &event.Error{Reason: event.ReasonMalformedJSON}, err)
	}
	var bad *event.Error
	switch {
	case d.DecisionID == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "decision_id"}
	case d.OrderID == "":
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "order_id"}
	case d.TS.IsZero():
		bad = &event.Error{Reason: event.ReasonMissingField, Field: "ts"}
	case d.Status != event.RoutingRouted && d.Status != event.RoutingSplit &&
		d.Status != event.RoutingBackordered && d.Status != event.RoutingRejected:
		bad = &event.Error{Reason: event.ReasonInvalidValue, Field: "status", Msg: fmt.Sprintf("%q is not a routing status", d.Status)}
	case d.Attempt < 1:
		bad = &event.Error{Reason: event.ReasonInvalidValue, Field: "attempt", Msg: fmt.Sprintf("attempt %d is below 1", d.Attempt)}
	}
	for i, a := range d.Assignments {
		if bad == nil && (a.Warehouse == "" || a.SKU == "") {
			bad = &event.Error{Reason: event.ReasonMissingField, Field: fmt.Sprintf("assignments[%d]", i), Msg: "assignment without a warehouse or sku"}
		}
	}
	if bad != nil {
		return fmt.Errorf("routing record: %w", bad)
	}
	var (
		warehouses []string
		units      int64
		packages   = map[int]bool{}
	)
	for _, a := range d.Assignments {
		if !slices.Contains(warehouses, string(a.Warehouse)) {
			warehouses = append(warehouses, string(a.Warehouse))
		}
		units += a.Qty
		packages[a.Package] = true
	}
	if warehouses == nil {
		warehouses = []string{}
	}
	n := len(d.Alternatives)
	altStatus, altWarehouses := make([]string, n), make([][]string, n)
	altShip, altHandle, altSplit, altOpp, altBack, altTotal := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, a := range d.Alternatives {
		altStatus[i] = string(a.Status)
		altWarehouses[i] = make([]string, len(a.Warehouses))
		for j, w := range a.Warehouses {
			altWarehouses[i][j] = string(w)
		}
		b := a.Breakdown
		altShip[i], altHandle[i], altSplit[i], altOpp[i], altBack[i], altTotal[i] = b.Shipping, b.Handling, b.Split, b.Opportunity, b.Backorder, b.Total
	}
	b := d.Breakdown
	add("routing_decisions", routingDecisionColumns, []any{
		d.DecisionID, d.OrderID, d.TS.UTC(), string(d.Status), d.Reason, d.Final, d.Attempt,
		warehouses, units, uint32(len(packages)),
		b.Shipping, b.Handling, b.Split, b.Opportunity, b.Backorder, b.Total,
		altStatus, altWarehouses, altShip, altHandle, altSplit, altOpp, altBack, altTotal,
		d.BatchID, d.LatencyMS, d.Region, d.ShipTo.PostalCode, d.ShipTo.Country, d.ShipTo.Lat, d.ShipTo.Lon,
		r.Partition, r.Offset, now,
	})
	for i, a := range d.Assignments {
		add("routing_assignments", routingAssignmentColumns, []any{
			string(a.Warehouse), string(a.SKU), d.TS.UTC(), d.OrderID, d.DecisionID, string(d.Status), d.Final, d.Attempt,
			uint32(i), a.Qty, uint32(max(a.Package, 0)), a.Shipping, a.Handling, a.Opportunity,
			r.Partition, r.Offset, now,
		})
	}
	return nil
}
