package langid

import (
	"runtime"
	"testing"
)

// BenchmarkIdentify is the time per text of each engine over
// testdata/short.tsv (the package comment's table).
func BenchmarkIdentify(b *testing.B) {
	samples := loadShort(b)
	for _, e := range []struct {
		name string
		id   Identifier
	}{{"whatlang", NewWhatlang(nil)}, {"fasttext", fastTextFor(b, nil)}, {"fasttext-all", fastTextFor(b, []string{})}} {
		b.Run(e.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				e.id.Identify(samples[i%len(samples)].text)
				i++
			}
		})
	}
}

// BenchmarkLoad is the time and heap New takes to load lid-176.
func BenchmarkLoad(b *testing.B) {
	p := modelPath(b)
	var heap uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		id, err := NewFastText(p, nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(id)
	}
	b.ReportMetric(float64(heap)/1e6, "heap-MB")
}
