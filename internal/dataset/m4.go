package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Frequency is an M4 subset.
type Frequency string

// The M4 subsets whose data stockflow uses. Daily has reference forecasts
// only (m4_reference_forecasts/*-D.csv); its training data is not in the
// shared folder.
const (
	Weekly Frequency = "Weekly"
	Daily  Frequency = "Daily"
	Hourly Frequency = "Hourly"
)

// Horizon is the M4 forecast horizon of the subset.
func (f Frequency) Horizon() int {
	switch f {
	case Weekly:
		return 13
	case Daily:
		return 14
	case Hourly:
		return 48
	}
	return 0
}

// Period is the seasonal period M4 uses for the subset: in the
// seasonality test, the Naive2 decomposition and the MASE scaling.
func (f Frequency) Period() int {
	switch f {
	case Hourly:
		return 24
	case Weekly, Daily:
		return 1
	}
	return 1
}

func (f Frequency) letter() string { return string(f)[:1] }

func (f Frequency) valid() error {
	switch f {
	case Weekly, Daily, Hourly:
		return nil
	}
	return fmt.Errorf("dataset: unknown M4 frequency %q", string(f))
}

// Series is one named series.
type Series struct {
	ID     string
	Values []float64
}

// M4 is one M4 subset: the training series and, in the same order and with
// the same ids, the test series (exactly Horizon points each).
type M4 struct {
	Frequency Frequency
	Train     []Series
	Test      []Series
}

// ErrFormat is wrapped by the errors for malformed data files.
var ErrFormat = errors.New("dataset: malformed file")

// LoadM4 reads m4_<freq>/<Freq>-train.csv and <Freq>-test.csv from dir.
func LoadM4(dir string, freq Frequency) (*M4, error) {
	if err := freq.valid(); err != nil {
		return nil, err
	}
	sub := "m4_" + strings.ToLower(string(freq)) + "/" + string(freq)
	train, err := readWide(dir, sub+"-train.csv")
	if err != nil {
		return nil, err
	}
	test, err := readWide(dir, sub+"-test.csv")
	if err != nil {
		return nil, err
	}
	if len(train) != len(test) {
		return nil, fmt.Errorf("%w: %s: %d training and %d test series", ErrFormat, sub, len(train), len(test))
	}
	for i := range train {
		if train[i].ID != test[i].ID {
			return nil, fmt.Errorf("%w: %s: series %d is %s in train and %s in test", ErrFormat, sub, i, train[i].ID, test[i].ID)
		}
		if len(test[i].Values) != freq.Horizon() {
			return nil, fmt.Errorf("%w: %s: %s has %d test points, want %d", ErrFormat, sub, test[i].ID, len(test[i].Values), freq.Horizon())
		}
	}
	return &M4{Frequency: freq, Train: train, Test: test}, nil
}

// LoadM4Reference reads the organisers' point forecasts of method ("Naive2"
// or "SES") for freq from m4_reference_forecasts/<method>-<W|D|H>.csv. The
// series come in file order, each cut to the horizon (the files pad with NA).
func LoadM4Reference(dir, method string, freq Frequency) ([]Series, error) {
	if err := freq.valid(); err != nil {
		return nil, err
	}
	rel := "m4_reference_forecasts/" + method + "-" + freq.letter() + ".csv"
	all, err := readWide(dir, rel)
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if len(s.Values) != freq.Horizon() {
			return nil, fmt.Errorf("%w: %s: %s has %d forecasts, want %d", ErrFormat, rel, s.ID, len(s.Values), freq.Horizon())
		}
	}
	return all, nil
}

// readWide reads a wide CSV with a header row: the id in the first column,
// the values after it, right-padded with empty or "NA" cells.
func readWide(dir, rel string) ([]Series, error) {
	f, err := open(dir, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %w", ErrFormat, rel, err)
	}
	var out []Series
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, rel, err)
		}
		s, err := parseRow(rec)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, rel, err)
		}
		out = append(out, s)
	}
}

func parseRow(rec []string) (Series, error) {
	if len(rec) == 0 || rec[0] == "" {
		return Series{}, errors.New("row without an id")
	}
	s := Series{ID: rec[0]}
	cells := rec[1:]
	n := len(cells)
	for n > 0 && isMissing(cells[n-1]) {
		n--
	}
	s.Values = make([]float64, n)
	for i, c := range cells[:n] {
		v, err := strconv.ParseFloat(c, 64)
		if err != nil {
			return Series{}, fmt.Errorf("%s column %d: %w", s.ID, i+2, err)
		}
		s.Values[i] = v
	}
	return s, nil
}

func isMissing(c string) bool { return c == "" || c == "NA" }
