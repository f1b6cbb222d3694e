package export

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/store"
)

// APIOptions configures API.
type APIOptions struct {
	// Categories maps SKUs to their catalogue category for the features'
	// category campaigns (Query.Categories); nil is no catalogue.
	Categories map[string]string
	Writer     WriterOptions
	// Allocator holds the Arrow buffers; default memory.DefaultAllocator.
	Allocator memory.Allocator
}

// API is the export of GET /api/v1/export/{dataset} (api.Config.Export)
// over st: the requested dataset and days as one Parquet file (WriteFile),
// streamed to the client as it is encoded. An unknown dataset, a date that
// is not YYYY-MM-DD and a range that ends before it starts are
// *api.BadRequestError.
func API(st store.Store, opts APIOptions) api.ExportFunc {
	return func(ctx context.Context, req api.ExportRequest, w io.Writer) error {
		q, err := apiQuery(req)
		if err != nil {
			return &api.BadRequestError{Err: err}
		}
		q.Categories = opts.Categories
		_, err = WriteFile(ctx, st, q, w, opts.Writer, opts.Allocator)
		return err
	}
}

// apiQuery parses and validates an HTTP export request.
func apiQuery(req api.ExportRequest) (Query, error) {
	ds, err := Lookup(req.Dataset)
	if err != nil {
		return Query{}, err
	}
	q := Query{Dataset: ds, SKUs: req.SKUs, Warehouses: req.Warehouses, Regions: req.Regions}
	if q.From, err = time.Parse(time.DateOnly, req.From); err != nil {
		return q, fmt.Errorf("from: %w", err)
	}
	if q.To, err = time.Parse(time.DateOnly, req.To); err != nil {
		return q, fmt.Errorf("to: %w", err)
	}
	return q, q.Validate()
}
