package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Live stock channels: "stock" (everything), "stock/sku/<SKU>" and
// "stock/warehouse/<warehouse>". RunStream polls GET /api/v1/stock every
// StreamIntervalSeconds and sends the rows that changed since the last
// poll (all rows on the first), stamped with the poll time.

// streamFilter parses a channel path into API filters.
func streamFilter(path string) (url.Values, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "stock":
		return url.Values{}, nil
	case len(parts) == 3 && parts[0] == "stock" && parts[2] != "" && (parts[1] == "sku" || parts[1] == "warehouse"):
		return url.Values{parts[1]: {parts[2]}}, nil
	}
	return nil, fmt.Errorf("unknown channel %q: want stock, stock/sku/<sku> or stock/warehouse/<warehouse>", path)
}

// SubscribeStream allows the stock channels.
func (d *Datasource) SubscribeStream(_ context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if f, _ := streamFilter(req.Path); f == nil {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
}

// PublishStream refuses: the channels are read-only.
func (d *Datasource) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// stockRow is one (sku, warehouse) level.
type stockRow struct {
	onHand, reserved, available int64
}

// RunStream polls the API's current stock and sends changes until ctx is
// done. A failed poll is retried at the next tick; it does not end the
// stream.
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	filter, err := streamFilter(req.Path)
	if err != nil {
		return err
	}
	last := map[[2]string]stockRow{}
	tick := time.NewTicker(d.interval)
	defer tick.Stop()
	for {
		frame, err := d.stockChanges(ctx, filter, last, time.Now().UTC())
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			backend.Logger.Warn("live stock poll", "path", req.Path, "error", err)
		case frame != nil:
			if err := sender.SendFrame(frame, data.IncludeAll); err != nil {
				return fmt.Errorf("send stock frame: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// stockChanges polls once and returns a frame of the rows that differ
// from last (updating it), or nil when nothing changed.
func (d *Datasource) stockChanges(ctx context.Context, filter url.Values, last map[[2]string]stockRow, now time.Time) (*data.Frame, error) {
	res, err := d.query(ctx, "/api/v1/stock", filter)
	if err != nil {
		return nil, err
	}
	var times []time.Time
	var skus, whs []string
	var onHand, reserved, available []int64
	for _, r := range res.Rows {
		sku, _ := r["sku"].(string)
		wh, _ := r["warehouse"].(string)
		var row stockRow
		for col, dst := range map[string]*int64{"on_hand": &row.onHand, "reserved": &row.reserved, "available": &row.available} {
			n, ok := r[col].(interface{ Int64() (int64, error) })
			if !ok {
				return nil, errors.New("stock row without " + col)
			}
			if *dst, err = n.Int64(); err != nil {
				return nil, fmt.Errorf("stock row %s: %w", col, err)
			}
		}
		k := [2]string{sku, wh}
		if prev, ok := last[k]; ok && prev == row {
			continue
		}
		last[k] = row
		times = append(times, now)
		skus, whs = append(skus, sku), append(whs, wh)
		onHand, reserved, available = append(onHand, row.onHand), append(reserved, row.reserved), append(available, row.available)
	}
	if len(times) == 0 {
		return nil, nil
	}
	f := data.NewFrame("stock",
		data.NewField("time", nil, times),
		data.NewField("sku", nil, skus),
		data.NewField("warehouse", nil, whs),
		data.NewField("on_hand", nil, onHand),
		data.NewField("reserved", nil, reserved),
		data.NewField("available", nil, available),
	)
	f.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesLong, TypeVersion: data.FrameTypeVersion{0, 1}})
	return f, nil
}

func asAPIError(err error, target **APIError) bool { return errors.As(err, target) }
