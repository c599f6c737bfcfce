package alerting

// fit is an incremental least-squares line over the readings of a time
// window: running sums updated in O(1) per reading, with the samples kept in
// a ring buffer so that the oldest can be subtracted again as they leave the
// window.
//
// Times and values are summed relative to a reference sample, because sums of
// raw Unix times (≈1.7e9 s, squared ≈3e18) would cancel away every digit of
// the slope. The reference moves to the oldest sample, and the sums are
// recomputed from the buffer, once per ring's worth of readings, which keeps
// the cost O(1) amortized and stops rounding errors from piling up.
type fit struct {
	ts   []int64 // Unix ns, a ring of len(ts) slots
	vs   []float64
	head int // index of the oldest sample
	n    int

	refT             int64
	refV             float64
	sx, sy, sxx, sxy float64
	sinceRebase      int
}

const minFitCapacity = 8

// windowFit is a fit over one window length.
type windowFit struct {
	window int64
	fit    *fit
}

// add puts a sample at time t (later than every sample before it) and drops
// the samples older than window before t.
func (f *fit) add(t int64, v float64, window int64) {
	for f.n > 0 && f.ts[f.head] < t-window {
		f.subtract(f.ts[f.head], f.vs[f.head])
		f.head = (f.head + 1) % len(f.ts)
		f.n--
	}
	if f.n == len(f.ts) {
		f.grow()
	}
	i := (f.head + f.n) % len(f.ts)
	f.ts[i], f.vs[i] = t, v
	f.n++
	f.sinceRebase++
	if f.n == 1 || f.sinceRebase >= len(f.ts) {
		f.rebase()
		return
	}
	x, y := f.x(t), v-f.refV
	f.sx += x
	f.sy += y
	f.sxx += x * x
	f.sxy += x * y
}

func (f *fit) subtract(t int64, v float64) {
	x, y := f.x(t), v-f.refV
	f.sx -= x
	f.sy -= y
	f.sxx -= x * x
	f.sxy -= x * y
}

// x is t in seconds after the reference time.
func (f *fit) x(t int64) float64 { return float64(t-f.refT) / 1e9 }

// grow doubles the ring, unrolling it so the oldest sample is first.
func (f *fit) grow() {
	size := max(2*len(f.ts), minFitCapacity)
	ts, vs := make([]int64, size), make([]float64, size)
	for i := range f.n {
		j := (f.head + i) % len(f.ts)
		ts[i], vs[i] = f.ts[j], f.vs[j]
	}
	f.ts, f.vs, f.head = ts, vs, 0
}

// rebase moves the reference to the oldest sample and recomputes the sums.
func (f *fit) rebase() {
	f.refT, f.refV = f.ts[f.head], f.vs[f.head]
	f.sx, f.sy, f.sxx, f.sxy = 0, 0, 0, 0
	for i := range f.n {
		j := (f.head + i) % len(f.ts)
		x, y := f.x(f.ts[j]), f.vs[j]-f.refV
		f.sx += x
		f.sy += y
		f.sxx += x * x
		f.sxy += x * y
	}
	f.sinceRebase = 0
}

// line returns the fitted slope (units per second) and the fitted value at
// the newest sample, or ok false with fewer than minSamples samples or when
// they all share one time.
func (f *fit) line(minSamples int) (slope, last float64, ok bool) {
	if f.n < minSamples {
		return 0, 0, false
	}
	n := float64(f.n)
	den := n*f.sxx - f.sx*f.sx
	if den <= 0 {
		return 0, 0, false
	}
	slope = (n*f.sxy - f.sx*f.sy) / den
	newest := f.ts[(f.head+f.n-1)%len(f.ts)]
	last = f.refV + f.sy/n + slope*(f.x(newest)-f.sx/n)
	return slope, last, true
}

// samples returns the samples in time order, for saving.
func (f *fit) samples() (ts []int64, vs []float64) {
	ts, vs = make([]int64, f.n), make([]float64, f.n)
	for i := range f.n {
		j := (f.head + i) % len(f.ts)
		ts[i], vs[i] = f.ts[j], f.vs[j]
	}
	return ts, vs
}
