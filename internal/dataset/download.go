package dataset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The organisers' public repositories, at the snapshots the shared copies
// in ../shared/data were taken from (their SOURCE.txt files).
const (
	// M4BaseURL is Mcompetitions/M4-methods at commit 6c1067e5.
	M4BaseURL = "https://raw.githubusercontent.com/Mcompetitions/M4-methods/6c1067e5a57161249b17289a565178dc7a3fb3ca/"
	// M5BaseURL is krzjoa/m5 (the CRAN package m5 0.1.1) at commit 8b03702c.
	M5BaseURL = "https://raw.githubusercontent.com/krzjoa/m5/8b03702c48c773d2111b06363dd9dacf3eb7c6be/"
)

// origin says where a data file comes from.
type origin int

const (
	originM4 origin = iota
	originM5
)

// source is the origin of one file of the data directory.
type source struct {
	origin origin
	// path is the file's path in the repository.
	path string
	// convert, if set, turns the downloaded file into the data file (nil:
	// the download is the file).
	convert func(raw []byte) ([]byte, error)
	// archive, if set, is why the file cannot be downloaded: it is only
	// published inside an archive stockflow cannot unpack.
	archive string
}

// sources maps every data file the loaders read (relative to the data
// directory) to its origin.
var sources = func() map[string]source {
	m := map[string]source{
		"m4_weekly/Weekly-train.csv": {origin: originM4, path: "Dataset/Train/Weekly-train.csv"},
		"m4_weekly/Weekly-test.csv":  {origin: originM4, path: "Dataset/Test/Weekly-test.csv"},
		"m4_hourly/Hourly-train.csv": {origin: originM4, path: "Dataset/Train/Hourly-train.csv"},
		"m4_hourly/Hourly-test.csv":  {origin: originM4, path: "Dataset/Test/Hourly-test.csv"},
		"m5_tiny/sales_wide.csv":     {origin: originM5, path: "data/tiny_m5.rda", convert: m5WideFromRData},
	}
	// The organisers publish their Naive2 and SES forecasts only as RAR
	// archives (SOURCE.txt of m4_reference_forecasts).
	for _, meth := range []string{"Naive2", "SES"} {
		for _, f := range []string{"W", "D", "H"} {
			m["m4_reference_forecasts/"+meth+"-"+f+".csv"] = source{origin: originM4,
				path: "Point Forecasts/submission-" + meth + ".rar",
				archive: "the organisers publish it only inside this RAR archive, which stockflow cannot unpack: " +
					"extract it (e.g. with unar), keep the header and the rows whose id starts with " + f +
					", and pass the directory with --dataset-dir"}
		}
	}
	return m
}()

// KnownChecksums are the SHA-256 sums of the M4 files at the snapshot
// commit (the shared copies are byte-for-byte). The tiny M5 file is
// converted, and its sum is not recorded.
func KnownChecksums() map[string]string {
	return map[string]string{
		"m4_weekly/Weekly-train.csv": "d478d3f6ed673e6ed3c2cb0fbed5425f72eedd51318ebebeb0b5ecfcefc37714",
		"m4_weekly/Weekly-test.csv":  "3b2bc4be8e636e802260dcd843ca3c5da40536a1fbe1ecb3229a97dae4f44688",
		"m4_hourly/Hourly-train.csv": "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f",
		"m4_hourly/Hourly-test.csv":  "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42",
	}
}

// Files lists the data files of a named data set, relative to the data
// directory: m4-weekly, m4-hourly, m5-tiny, or m4-reference (the
// organisers' Naive2 and SES forecasts, which cannot be downloaded).
func Files(name string) ([]string, error) {
	switch name {
	case "m4-weekly":
		return []string{"m4_weekly/Weekly-train.csv", "m4_weekly/Weekly-test.csv"}, nil
	case "m4-hourly":
		return []string{"m4_hourly/Hourly-train.csv", "m4_hourly/Hourly-test.csv"}, nil
	case "m5-tiny":
		return []string{"m5_tiny/sales_wide.csv"}, nil
	case "m4-reference":
		var out []string
		for _, m := range []string{"Naive2", "SES"} {
			for _, f := range []string{"W", "D", "H"} {
				out = append(out, "m4_reference_forecasts/"+m+"-"+f+".csv")
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("dataset: unknown data set %q (have m4-weekly, m4-hourly, m5-tiny, m4-reference)", name)
}

// DownloadError reports a data file that could not be downloaded.
type DownloadError struct {
	// File is the data file (relative to the data directory).
	File string
	// URL is where it was downloaded from.
	URL string
	Err error
}

func (e *DownloadError) Error() string {
	return fmt.Sprintf("dataset: download %s from %s: %v", e.File, e.URL, e.Err)
}

func (e *DownloadError) Unwrap() error { return e.Err }

// ErrChecksum is wrapped by a DownloadError whose file does not have the
// known SHA-256 sum.
var ErrChecksum = errors.New("checksum mismatch")

// Downloader fetches data files from the organisers' repositories into a
// cache directory laid out like the shared data directory, so that the
// loaders read it unchanged.
type Downloader struct {
	// Dir is the cache directory (cmd/ uses ~/.cache/stockflow/datasets).
	Dir string
	// M4URL and M5URL are the repository bases the file paths are appended
	// to (empty: M4BaseURL, M5BaseURL); tests point them at a local server.
	M4URL, M5URL string
	// Client is the HTTP client (nil: one with a 10-minute timeout).
	Client *http.Client
	// Checksums maps data files to their SHA-256 sums; a download that
	// differs is refused. Nil means KnownChecksums().
	Checksums map[string]string
	// Log receives one line per download (nil: none).
	Log *slog.Logger
}

// maxDownload bounds one download: the largest file is 4 MB.
const maxDownload = 256 << 20

// Fetch downloads the data files files (relative to d.Dir) that d.Dir
// does not hold yet. Each is written to a temporary file and renamed, so a
// failed or interrupted download leaves nothing behind.
func (d *Downloader) Fetch(ctx context.Context, files ...string) error {
	if d.Dir == "" {
		return errors.New("dataset: download: no cache directory")
	}
	for _, rel := range files {
		if _, err := os.Stat(filepath.Join(d.Dir, filepath.FromSlash(rel))); err == nil {
			continue
		}
		if err := d.fetch(ctx, rel); err != nil {
			return err
		}
	}
	return nil
}

func (d *Downloader) url(src source) string {
	base := M4BaseURL
	if d.M4URL != "" {
		base = d.M4URL
	}
	if src.origin == originM5 {
		base = M5BaseURL
		if d.M5URL != "" {
			base = d.M5URL
		}
	}
	// Escape each path segment ("Point Forecasts" has a space).
	segs := strings.Split(src.path, "/")
	for i, s := range segs {
		segs[i] = urlPathEscape(s)
	}
	return strings.TrimSuffix(base, "/") + "/" + strings.Join(segs, "/")
}

func urlPathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (d *Downloader) fetch(ctx context.Context, rel string) error {
	src, ok := sources[rel]
	if !ok {
		return fmt.Errorf("dataset: download %s: no known origin", rel)
	}
	u := d.url(src)
	fail := func(err error) error { return &DownloadError{File: rel, URL: u, Err: err} }
	if src.archive != "" {
		return fail(errors.New(src.archive))
	}
	started := time.Now()
	raw, err := d.get(ctx, u)
	if err != nil {
		return fail(err)
	}
	sums := d.Checksums
	if sums == nil {
		sums = KnownChecksums()
	}
	if want, ok := sums[rel]; ok {
		sum := sha256.Sum256(raw)
		if got := hex.EncodeToString(sum[:]); got != want {
			return fail(fmt.Errorf("%w: SHA-256 %s, want %s", ErrChecksum, got, want))
		}
	}
	out := raw
	if src.convert != nil {
		if out, err = src.convert(raw); err != nil {
			return fail(fmt.Errorf("convert: %w", err))
		}
	}
	dst := filepath.Join(d.Dir, filepath.FromSlash(rel))
	if err := writeAtomic(dst, out); err != nil {
		return fail(err)
	}
	if d.Log != nil {
		d.Log.Info("downloaded data file", "file", rel, "url", u, "bytes", len(raw), "into", d.Dir, "took", time.Since(started).Round(time.Millisecond))
	}
	return nil
}

func (d *Downloader) get(ctx context.Context, u string) ([]byte, error) {
	cl := d.Client
	if cl == nil {
		cl = &http.Client{Timeout: 10 * time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(b) > maxDownload {
		return nil, fmt.Errorf("larger than %d bytes", maxDownload)
	}
	if resp.ContentLength >= 0 && int64(len(b)) != resp.ContentLength {
		return nil, fmt.Errorf("got %d of %d bytes", len(b), resp.ContentLength)
	}
	return b, nil
}

func writeAtomic(dst string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// Locate returns the first of dirs that holds every file of the data set
// name (Files), skipping empty entries. When none does and d is not nil,
// the files are downloaded into d.Dir (a cache that already holds them
// is used as is) and d.Dir is returned. Without d, the error is the
// *NotFoundError of the first file missing from the first directory.
func Locate(ctx context.Context, name string, dirs []string, d *Downloader) (string, error) {
	files, err := Files(name)
	if err != nil {
		return "", err
	}
	var first error
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		missing := missingFile(dir, files)
		if missing == "" {
			return dir, nil
		}
		if first == nil {
			first = &NotFoundError{File: missing, Dir: dir, Err: os.ErrNotExist}
		}
	}
	if d == nil {
		if first == nil {
			return "", errors.New("dataset: no data directory to search")
		}
		return "", first
	}
	if d.Log != nil && missingFile(d.Dir, files) != "" {
		d.Log.Info("data set not found locally; downloading it from the organisers' repository", "dataset", name, "searched", slices.DeleteFunc(slices.Clone(dirs), func(s string) bool { return s == "" }), "cache", d.Dir)
	}
	if err := d.Fetch(ctx, files...); err != nil {
		return "", err
	}
	return d.Dir, nil
}

func missingFile(dir string, files []string) string {
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			return f
		}
	}
	return ""
}

// m5Day1 is the date of d_1 in the M5 data.
var m5Day1 = time.Date(2011, 1, 29, 0, 0, 0, 0, time.UTC)

// m5WideFromRData converts data/tiny_m5.rda of the CRAN package m5 (a long
// table: item_id, dept_id, cat_id, store_id, state_id, value, date, ...)
// into m5_tiny/sales_wide.csv: one row per item × store, sorted by id,
// with the unit sales of d_1 (2011-01-29) onwards. Every series must cover
// the same days without gaps.
func m5WideFromRData(raw []byte) ([]byte, error) {
	objs, err := readRData(raw)
	if err != nil {
		return nil, err
	}
	tbl, ok := objs["tiny_m5"]
	if !ok && len(objs) == 1 {
		for _, o := range objs {
			tbl = o
		}
	}
	if tbl == nil || tbl.typ != rVec {
		return nil, fmt.Errorf("%w: no tiny_m5 table (objects: %v)", ErrFormat, mapKeys(objs))
	}
	cols := map[string]*rObject{}
	for i, n := range tbl.names() {
		if i < len(tbl.elems) {
			cols[n] = tbl.elems[i]
		}
	}
	meta := []string{"item_id", "dept_id", "cat_id", "store_id", "state_id"}
	text := make([][]string, len(meta))
	for i, name := range meta {
		if text[i], err = rStrings(cols[name], name); err != nil {
			return nil, err
		}
	}
	values, err := rNumbers(cols["value"], "value")
	if err != nil {
		return nil, err
	}
	days, err := rDates(cols["date"], "date")
	if err != nil {
		return nil, err
	}
	n := len(values)
	for i, c := range text {
		if len(c) != n {
			return nil, fmt.Errorf("%w: tiny_m5: column %s has %d rows, value %d", ErrFormat, meta[i], len(c), n)
		}
	}
	if len(days) != n {
		return nil, fmt.Errorf("%w: tiny_m5: column date has %d rows, value %d", ErrFormat, len(days), n)
	}
	type series struct {
		meta  [5]string
		sales map[int]float64
	}
	byID := map[string]*series{}
	maxD := 0
	for r := range n {
		id := text[0][r] + "_" + text[3][r]
		s := byID[id]
		if s == nil {
			s = &series{sales: map[int]float64{}}
			for i := range meta {
				s.meta[i] = text[i][r]
			}
			byID[id] = s
		}
		d := days[r] + 1
		if d < 1 {
			return nil, fmt.Errorf("%w: tiny_m5: %s has a day before %s", ErrFormat, id, m5Day1.Format(time.DateOnly))
		}
		if _, dup := s.sales[d]; dup {
			return nil, fmt.Errorf("%w: tiny_m5: %s has d_%d twice", ErrFormat, id, d)
		}
		s.sales[d] = values[r]
		maxD = max(maxD, d)
	}
	ids := mapKeys(byID)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := []string{"id", "item_id", "dept_id", "cat_id", "store_id", "state_id"}
	for d := 1; d <= maxD; d++ {
		header = append(header, "d_"+strconv.Itoa(d))
	}
	if err := w.Write(header); err != nil {
		return nil, err
	}
	row := make([]string, len(header))
	for _, id := range ids {
		s := byID[id]
		if len(s.sales) != maxD {
			return nil, fmt.Errorf("%w: tiny_m5: %s has %d of the %d days", ErrFormat, id, len(s.sales), maxD)
		}
		row[0] = id
		copy(row[1:6], s.meta[:])
		for d := 1; d <= maxD; d++ {
			row[5+d] = strconv.FormatFloat(s.sales[d], 'f', -1, 64)
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// rStrings reads a character or factor column.
func rStrings(c *rObject, name string) ([]string, error) {
	switch {
	case c == nil:
		return nil, fmt.Errorf("%w: tiny_m5: no column %s", ErrFormat, name)
	case c.typ == rStr:
		if i := slices.Index(c.na, true); i >= 0 {
			return nil, fmt.Errorf("%w: tiny_m5: %s is NA in row %d", ErrFormat, name, i+1)
		}
		return c.strs, nil
	case c.typ == rInt && c.attr("levels") != nil:
		levels := c.attr("levels").strs
		out := make([]string, len(c.ints))
		for i, v := range c.ints {
			if v < 1 || int(v) > len(levels) {
				return nil, fmt.Errorf("%w: tiny_m5: %s has level %d of %d in row %d", ErrFormat, name, v, len(levels), i+1)
			}
			out[i] = levels[v-1]
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: tiny_m5: column %s is of R type %d, not character or factor", ErrFormat, name, c.typ)
}

// rNumbers reads an integer, logical or double column without NAs.
func rNumbers(c *rObject, name string) ([]float64, error) {
	switch {
	case c == nil:
		return nil, fmt.Errorf("%w: tiny_m5: no column %s", ErrFormat, name)
	case c.typ == rInt || c.typ == rLgl:
		out := make([]float64, len(c.ints))
		for i, v := range c.ints {
			if v == rNAInt {
				return nil, fmt.Errorf("%w: tiny_m5: %s is NA in row %d", ErrFormat, name, i+1)
			}
			out[i] = float64(v)
		}
		return out, nil
	case c.typ == rReal:
		for i, v := range c.reals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: tiny_m5: %s is not a number in row %d", ErrFormat, name, i+1)
			}
		}
		return c.reals, nil
	}
	return nil, fmt.Errorf("%w: tiny_m5: column %s is of R type %d, not numeric", ErrFormat, name, c.typ)
}

// rDates reads a Date (days since 1970-01-01) or "YYYY-MM-DD" column as
// days since m5Day1.
func rDates(c *rObject, name string) ([]int, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: tiny_m5: no column %s", ErrFormat, name)
	}
	base := int(m5Day1.Unix() / 86400)
	if c.typ == rStr {
		out := make([]int, len(c.strs))
		for i, s := range c.strs {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil || c.na[i] {
				return nil, fmt.Errorf("%w: tiny_m5: %s %q in row %d is not a date", ErrFormat, name, s, i+1)
			}
			out[i] = int(t.Unix()/86400) - base
		}
		return out, nil
	}
	if !c.hasClass("Date") {
		return nil, fmt.Errorf("%w: tiny_m5: column %s is not of class Date", ErrFormat, name)
	}
	v, err := rNumbers(c, name)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(v))
	for i, x := range v {
		if x != math.Trunc(x) {
			return nil, fmt.Errorf("%w: tiny_m5: %s %v in row %d is not a whole day", ErrFormat, name, x, i+1)
		}
		out[i] = int(x) - base
	}
	return out, nil
}
