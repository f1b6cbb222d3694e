package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// SchemaFile and ReadmeFile are written in the export directory, beside
// the dataset directories (Out/<dataset>/date=…), never inside one: a
// dataset directory holds Parquet only, which is what lets pyarrow,
// pandas, polars and DuckDB open it with no options (pandas fails on a
// README.md among the partitions, polars on any file that is not
// Parquet). Both
// describe every dataset exported into the directory.
const (
	SchemaFile = "_schema.json"
	ReadmeFile = "README.md"
)

// errLocked is lockDir's answer when another process holds the lock.
var errLocked = errors.New("locked")

// Index is the content of _schema.json: every dataset exported into the
// directory, by name.
type Index struct {
	GeneratedBy string               `json:"generated_by"`
	Datasets    map[string]SchemaDoc `json:"datasets"`
}

// ColumnInfo is a column as _schema.json describes it.
type ColumnInfo struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	ParquetType string `json:"parquet_type"`
	Nullable    bool   `json:"nullable"`
	Dictionary  bool   `json:"dictionary"`
	Unit        string `json:"unit,omitempty"`
	TimeZone    string `json:"time_zone,omitempty"`
	Description string `json:"description"`
}

// SchemaDoc describes one dataset in _schema.json.
type SchemaDoc struct {
	Dataset string `json:"dataset"`
	// Path is the dataset's directory, relative to the export directory.
	Path         string         `json:"path"`
	Description  string         `json:"description"`
	Format       string         `json:"format"`
	Compression  string         `json:"compression"`
	Partitioning map[string]any `json:"partitioning"`
	SortedBy     []string       `json:"sorted_by"`
	Columns      []ColumnInfo   `json:"columns"`
	Holidays     []Holiday      `json:"holidays,omitempty"`
	LastExport   map[string]any `json:"last_export"`
	GeneratedBy  string         `json:"generated_by"`
}

func parquetTypeName(k Kind) string {
	switch k {
	case String:
		return "BYTE_ARRAY (STRING)"
	case Int64:
		return "INT64"
	case Float64:
		return "DOUBLE"
	case Bool:
		return "BOOLEAN"
	case Timestamp:
		return "INT64 (TIMESTAMP(MILLIS, isAdjustedToUTC=true))"
	case Date:
		return "INT32 (DATE)"
	}
	return k.String()
}

// Describe returns the dataset's _schema.json document, without the
// figures of an export.
func (d *Dataset) Describe() SchemaDoc {
	doc := SchemaDoc{
		Dataset: d.Name, Path: d.Name, Description: d.Doc, Format: "parquet", Compression: "zstd",
		Partitioning: map[string]any{
			"style": "hive", "key": PartitionKey, "type": "date", "format": "YYYY-MM-DD", "time_zone": "UTC",
			"path": d.Name + "/" + PartitionKey + "=YYYY-MM-DD/" + PartitionFile,
			"note": "the key is in the directory name only, not in the files",
		},
		SortedBy: d.SortedBy,
	}
	for _, c := range d.Columns {
		doc.Columns = append(doc.Columns, ColumnInfo{
			Name: c.Name, Type: c.Kind.String(), ParquetType: parquetTypeName(c.Kind), Nullable: c.Nullable,
			Dictionary: c.Dict, Unit: c.Unit, TimeZone: c.timeZone(), Description: c.Doc,
		})
	}
	return doc
}

// checkMetadataFiles fails when README.md or _schema.json in the export
// directory out exist and were not written by an export: an export does
// not overwrite a user's files.
func checkMetadataFiles(out string) error {
	if _, err := readIndex(out); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(out, ReadmeFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("export: read %s: %w", ReadmeFile, err)
	case !bytes.HasPrefix(b, []byte(readmeTitle)):
		return fmt.Errorf("export: %s was not written by stockflow export; export into another directory or remove it",
			filepath.Join(out, ReadmeFile))
	}
	return nil
}

// readIndex reads the _schema.json of the export directory out: an empty
// index when there is none, an error when it is not an export's.
func readIndex(out string) (Index, error) {
	idx := Index{Datasets: map[string]SchemaDoc{}}
	path := filepath.Join(out, SchemaFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return idx, fmt.Errorf("export: read %s: %w", SchemaFile, err)
	}
	var got Index
	if err := json.Unmarshal(b, &got); err != nil || got.Datasets == nil {
		return idx, fmt.Errorf("export: %s is not the index of a stockflow export; export into another directory or remove it", path)
	}
	return got, nil
}

// writeMetadata adds the export's dataset to the directory's index and
// rewrites _schema.json and README.md from it, under a lock, since
// exports of other datasets into the same directory may run at the same
// time. Datasets whose directory is gone are dropped from the index.
func writeMetadata(opts Options, res *Result) error {
	unlock, err := lockDir(opts.Out, true)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer unlock()
	idx, err := readIndex(opts.Out)
	if err != nil {
		return err
	}
	for name, d := range idx.Datasets {
		if fi, err := os.Stat(filepath.Join(opts.Out, d.Path)); d.Path == "" || err != nil || !fi.IsDir() {
			delete(idx.Datasets, name)
		}
	}
	doc := opts.Dataset.Describe()
	if opts.Dataset.Name == featuresDataset.Name {
		doc.Holidays = opts.holidays()
	}
	doc.LastExport = map[string]any{
		"from": res.From, "to": res.To, "rows": res.Rows, "partitions": len(res.Partitions),
		"skus": nonNil(opts.SKUs), "warehouses": nonNil(opts.Warehouses), "regions": nonNil(opts.Regions),
	}
	idx.Datasets[doc.Dataset] = doc
	idx.GeneratedBy = strings.TrimSpace("stockflow " + opts.Version)
	b, err := marshalJSON(idx)
	if err != nil {
		return fmt.Errorf("export: encode schema: %w", err)
	}
	if err := writeAtomic(filepath.Join(opts.Out, SchemaFile), b); err != nil {
		return fmt.Errorf("export: write %s: %w", SchemaFile, err)
	}
	if err := writeAtomic(filepath.Join(opts.Out, ReadmeFile), []byte(Readme(idx))); err != nil {
		return fmt.Errorf("export: write %s: %w", ReadmeFile, err)
	}
	return nil
}

// readmeTitle starts every README an export writes.
const readmeTitle = "# stockflow export"

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Readme renders the README.md of an export directory from its index:
// how to read the datasets, then each dataset's columns.
func Readme(idx Index) string {
	names := make([]string, 0, len(idx.Datasets))
	for name := range idx.Datasets {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(readmeTitle + "\n\n")
	fmt.Fprintf(&b, "Datasets of stockflow exported as Parquet files (zstd, dictionary-encoded low-cardinality columns, "+
		"column statistics), one directory per dataset, Hive-partitioned by UTC day: `DATASET/%s=YYYY-MM-DD/%s`. "+
		"The partition key `%s` is in the directory name only. All times are UTC. "+
		"`%s` holds the same description for programs.\n\n", PartitionKey, PartitionFile, PartitionKey, SchemaFile)
	b.WriteString("| dataset | directory | last export | rows | partitions |\n| --- | --- | --- | --- | --- |\n")
	for _, name := range names {
		d := idx.Datasets[name]
		le := d.LastExport
		fmt.Fprintf(&b, "| [%s](#%s) | `%s/` | %v to %v | %v | %v |\n", name, name, d.Path, le["from"], le["to"], le["rows"], le["partitions"])
	}
	b.WriteString("\n## Reading it\n\nA dataset directory holds nothing but Parquet, so every reader opens it as it is " +
		"(the partition key comes back as a column; `DIR` is the directory of this file):\n\n")
	ex := "features"
	if _, ok := idx.Datasets[ex]; !ok && len(names) > 0 {
		ex = names[0]
	}
	fmt.Fprintf(&b, "```python\nimport pandas as pd\ndf = pd.read_parquet(\"DIR/%[1]s\")\n\n"+
		"import pyarrow.dataset as ds\nt = ds.dataset(\"DIR/%[1]s\", format=\"parquet\", partitioning=\"hive\").to_table()\n\n"+
		"import polars as pl\ndf = pl.read_parquet(\"DIR/%[1]s\")\n```\n\n"+
		"DuckDB: `SELECT * FROM read_parquet('DIR/%[1]s')`. "+
		"ClickHouse: `SELECT * FROM file('DIR/%[1]s/%[2]s=*/*.parquet', Parquet)`.\n", ex, PartitionKey)
	for _, name := range names {
		writeDatasetReadme(&b, idx.Datasets[name])
	}
	return b.String()
}

// writeDatasetReadme renders one dataset's section of the README.
func writeDatasetReadme(b *strings.Builder, doc SchemaDoc) {
	fmt.Fprintf(b, "\n## %s\n\n%s\n\nFiles: `%s`; rows inside a file are sorted by %s.",
		doc.Dataset, doc.Description, doc.Partitioning["path"], strings.Join(doc.SortedBy, ", "))
	if le := doc.LastExport; le != nil {
		fmt.Fprintf(b, " Last export: %v to %v (inclusive), %v rows in %v partitions.", le["from"], le["to"], le["rows"], le["partitions"])
	}
	b.WriteString("\n\n| column | type | nullable | unit | time zone | description |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, c := range doc.Columns {
		null := "no"
		if c.Nullable {
			null = "yes"
		}
		typ := c.Type
		if c.Dictionary {
			typ += " (dictionary)"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s |\n", c.Name, typ, null, c.Unit, c.TimeZone, strings.ReplaceAll(c.Description, "|", "\\|"))
	}
	if len(doc.Holidays) > 0 {
		b.WriteString("\nThe `holiday`, `days_to_holiday` and `days_since_holiday` columns use these days (listed in `" + SchemaFile + "`):\n\n")
		for _, h := range doc.Holidays {
			fmt.Fprintf(b, "- %s %s\n", day(h.Date), h.Name)
		}
	}
}
