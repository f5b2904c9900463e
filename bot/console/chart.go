package console

import (
	"fmt"
	"time"
)

// The overview's chart: events per hour by source over 24 hours, drawn
// here as an inline SVG of stacked bars (no script, no image request).
// Colours come from the stylesheet (classes c0 … c7), so the SVG carries
// no style attribute and the CSP needs no 'unsafe-inline'.

const (
	chartW      = 720
	chartH      = 180
	chartLeft   = 40 // room for the y labels
	chartBottom = 20 // room for the x labels
	chartColors = 8
)

// svgChart is what the template draws.
type svgChart struct {
	W, H, Left, Bottom, PlotH int
	Bars                      []svgBar
	YLabels                   []svgLabel
	XLabels                   []svgLabel
	Legend                    []svgLegend
	Total                     int
	Max                       int
}

type svgBar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

type svgLabel struct {
	X, Y int
	Text string
}

type svgLegend struct {
	Class  string
	Source string
	Total  int
}

// layout turns c into bars, in loc's hours.
func (c Chart) layout(loc *time.Location) svgChart {
	hours := 0
	for _, s := range c.Series {
		hours = max(hours, len(s.Counts))
	}
	out := svgChart{W: chartW, H: chartH, Left: chartLeft, Bottom: chartBottom, PlotH: chartH - chartBottom - 10}
	if hours == 0 {
		return out
	}
	totals := make([]int, hours)
	for i, s := range c.Series {
		sum := 0
		for h, n := range s.Counts {
			totals[h] += n
			sum += n
		}
		out.Total += sum
		out.Legend = append(out.Legend, svgLegend{Class: fmt.Sprintf("c%d", i%chartColors), Source: s.Source, Total: sum})
	}
	for _, t := range totals {
		out.Max = max(out.Max, t)
	}
	scaleMax := niceCeil(out.Max)
	slot := (chartW - chartLeft) / hours
	barW := max(slot-2, 1)
	base := 10 + out.PlotH // y of the x axis
	for h := range hours {
		x := chartLeft + h*slot + 1
		y := base
		at := c.Start.Add(time.Duration(h) * time.Hour).In(loc)
		for i, s := range c.Series {
			if h >= len(s.Counts) || s.Counts[h] == 0 {
				continue
			}
			bh := max(s.Counts[h]*out.PlotH/scaleMax, 1)
			y -= bh
			out.Bars = append(out.Bars, svgBar{X: x, Y: y, W: barW, H: bh, Class: fmt.Sprintf("c%d", i%chartColors),
				Title: fmt.Sprintf("%s %s: %d", at.Format("15:04"), s.Source, s.Counts[h])})
		}
		if h%3 == 0 {
			out.XLabels = append(out.XLabels, svgLabel{X: x, Y: chartH - 4, Text: at.Format("15:04")})
		}
	}
	for _, v := range []int{0, scaleMax / 2, scaleMax} {
		out.YLabels = append(out.YLabels, svgLabel{X: chartLeft - 4, Y: base - v*out.PlotH/scaleMax + 4, Text: fmt.Sprint(v)})
	}
	return out
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 2, so
// the middle label is a whole number).
func niceCeil(n int) int {
	if n <= 2 {
		return 2
	}
	p := 1
	for p*10 < n {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= n {
			return m * p
		}
	}
	return 10 * p
}
