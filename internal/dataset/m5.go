package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// M5Series is one item × store series of unit sales.
type M5Series struct {
	ID    string // item_id + "_" + store_id
	Item  string
	Dept  string
	Cat   string
	Store string
	State string
	// Sales are the daily unit sales d_1, d_2, ... in day order.
	Sales []float64
}

// M5Horizon is the M5 forecast horizon, and the hold-out used on tiny M5.
const M5Horizon = 28

// LoadM5Tiny reads m5_tiny/sales_wide.csv from dir: 280 series of daily
// sales in the M5 layout (id, item_id, dept_id, cat_id, store_id, state_id,
// d_1..d_1913).
func LoadM5Tiny(dir string) ([]M5Series, error) {
	const rel = "m5_tiny/sales_wide.csv"
	f, err := open(dir, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: header: %w", ErrFormat, rel, err)
	}
	const meta = 6
	if len(header) <= meta || header[0] != "id" || header[meta] != "d_1" {
		return nil, fmt.Errorf("%w: %s: header does not start id,...,d_1", ErrFormat, rel)
	}
	var out []M5Series
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, rel, err)
		}
		s := M5Series{ID: rec[0], Item: rec[1], Dept: rec[2], Cat: rec[3], Store: rec[4], State: rec[5]}
		s.Sales = make([]float64, len(rec)-meta)
		for i, c := range rec[meta:] {
			v, err := strconv.ParseFloat(c, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %s %s: %w", ErrFormat, rel, s.ID, header[meta+i], err)
			}
			s.Sales[i] = v
		}
		out = append(out, s)
	}
}
