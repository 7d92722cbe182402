package forecast

import (
	"math/rand/v2"
	"testing"
	"time"
)

func BenchmarkMonth90Days(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 5, 13, 15, 0, 0, 0, loc)
	p := process{mean: weekdayPattern(30, 6), sigma: 0.2}
	daily, _, _ := p.sample(rand.New(rand.NewPCG(1, 2)), now, loc, 90)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Month(daily, now, loc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSpike(b *testing.B) {
	history := weekOf(8, [7]float64{160, 100, 100, 100, 100, 30, 30}, 0.1, 1)
	b.ReportAllocs()
	for b.Loop() {
		Spike(history, 170, SpikeOptions{})
	}
}
