package export

import (
	"sort"
	"time"
)

// Holiday is one day of the features' holiday calendar.
type Holiday struct {
	Date time.Time `json:"date"`
	Name string    `json:"name"`
}

// Holidays is the default calendar of the features between from and to
// (inclusive), sorted: the holidays that move retail demand in the
// regions stockflow's warehouses serve (Europe and North America), each
// on its own date, not on the observed weekday. It is the same for every
// warehouse: the warehouse table holds no country. A caller with a
// country calendar sets Query.Holidays instead.
func Holidays(from, to time.Time) []Holiday {
	from, to = truncDay(from), truncDay(to)
	var out []Holiday
	for y := from.Year(); y <= to.Year(); y++ {
		d := func(m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
		easter := easterSunday(y)
		thanksgiving := nthWeekday(y, time.November, time.Thursday, 4)
		for _, h := range []Holiday{
			{d(time.January, 1), "New Year's Day"},
			{easter.AddDate(0, 0, -2), "Good Friday"},
			{easter, "Easter Sunday"},
			{easter.AddDate(0, 0, 1), "Easter Monday"},
			{d(time.May, 1), "Labour Day"},
			{easter.AddDate(0, 0, 39), "Ascension Day"},
			{easter.AddDate(0, 0, 50), "Whit Monday"},
			{lastWeekday(y, time.May, time.Monday), "Memorial Day (US)"},
			{d(time.July, 4), "Independence Day (US)"},
			{nthWeekday(y, time.September, time.Monday, 1), "Labor Day (US)"},
			{thanksgiving, "Thanksgiving (US)"},
			{thanksgiving.AddDate(0, 0, 1), "Black Friday"},
			{d(time.December, 24), "Christmas Eve"},
			{d(time.December, 25), "Christmas Day"},
			{d(time.December, 26), "St Stephen's Day"},
			{d(time.December, 31), "New Year's Eve"},
		} {
			if !h.Date.Before(from) && !h.Date.After(to) {
				out = append(out, h)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// easterSunday is the Gregorian Easter Sunday of year y (anonymous
// Gregorian algorithm).
func easterSunday(y int) time.Time {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	dd := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), dd, 0, 0, 0, 0, time.UTC)
}

// nthWeekday is the n-th weekday wd of month m of year y.
func nthWeekday(y int, m time.Month, wd time.Weekday, n int) time.Time {
	t := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	t = t.AddDate(0, 0, (int(wd)-int(t.Weekday())+7)%7)
	return t.AddDate(0, 0, 7*(n-1))
}

// lastWeekday is the last weekday wd of month m of year y.
func lastWeekday(y int, m time.Month, wd time.Weekday) time.Time {
	t := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC)
	return t.AddDate(0, 0, -((int(t.Weekday()) - int(wd) + 7) % 7))
}
