package render

import "testing"

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	e, err := New(Options{Location: bangkok(b)})
	if err != nil {
		b.Fatal(err)
	}
	d := goldenData("payment.succeeded")
	for b.Loop() {
		if _, err := e.Render("default", "th", d); err != nil {
			b.Fatal(err)
		}
	}
}
