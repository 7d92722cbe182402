package dashboard

import "encoding/json"

// chartData is what a data-chart (or data-sparkline) attribute holds for
// static/app.js: one time axis, series of values on it and optional
// vertical markers (a version released, say). Every chart of the
// dashboard uses this one shape.
type chartData struct {
	// T are the points' times in Unix seconds, ascending.
	T []int64 `json:"t"`
	// Series are drawn against T; each has a value (nil: a gap) per time.
	Series []chartSeries `json:"series"`
	// Markers are vertical lines with a label.
	Markers []chartMarker `json:"markers,omitempty"`
	// Stacked draws each series on top of the ones before it (shares of
	// a total: spend by team, calls by target); a nil value counts as 0.
	Stacked bool `json:"stacked,omitempty"`
}

type chartSeries struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
	// Unit formats the axis and legend: "usd" (dollars), "ms", "count",
	// or "percent" (a fraction: 0.05 is 5 %).
	Unit string `json:"unit"`
}

type chartMarker struct {
	T     int64  `json:"t"`
	Label string `json:"label"`
}

// JSON is c for the data-chart attribute (html/template escapes it).
func (c chartData) JSON() string {
	b, err := json.Marshal(c)
	if err != nil {
		return "{}" // only finite float64s and strings: cannot happen
	}
	return string(b)
}
