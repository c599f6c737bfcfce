package alerting

// fit is an incremental least-squares line over the readings of a time
// window: running sums updated in O(1) per reading, with the samples kept in
// a ring buffer so that the oldest can be subtracted again as they leave the
// window.
//
// Times and values are held relative to a reference sample, because sums of
// raw Unix times (≈1.7e9 s, squared ≈3e18) would cancel away every digit of
// the slope. Relative, they are small enough to keep as float32 (seconds and
// units after the reference), which halves a window's memory; the error,
// below 1e-7 of the window's span, is far under any sensor's resolution. The
// reference moves to the oldest sample, and the sums are recomputed from the
// buffer, once per ring's worth of readings, which keeps the cost O(1)
// amortized and stops rounding errors from piling up.
type fit struct {
	dts  []float32 // seconds after refT, a ring of len(dts) slots
	dvs  []float32 // value minus refV
	head int       // index of the oldest sample
	n    int

	refT             int64 // Unix ns
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
	cutoff := f.x(t - window)
	for f.n > 0 && float64(f.dts[f.head]) < cutoff {
		f.accumulate(-1, float64(f.dts[f.head]), float64(f.dvs[f.head]))
		f.head = (f.head + 1) % len(f.dts)
		f.n--
	}
	if f.n == 0 {
		// A new start, after the first reading or a gap longer than the
		// window: nothing of the old reference or sums is worth keeping.
		f.refT, f.refV = t, v
		f.sx, f.sy, f.sxx, f.sxy = 0, 0, 0, 0
	}
	if f.n == len(f.dts) {
		f.grow()
	}
	i := (f.head + f.n) % len(f.dts)
	f.dts[i], f.dvs[i] = float32(f.x(t)), float32(v-f.refV)
	f.accumulate(1, float64(f.dts[i]), float64(f.dvs[i]))
	f.n++
	if f.sinceRebase++; f.sinceRebase >= len(f.dts) {
		f.rebase()
	}
}

// accumulate adds (sign 1) or removes (sign -1) a sample from the sums.
func (f *fit) accumulate(sign, x, y float64) {
	f.sx += sign * x
	f.sy += sign * y
	f.sxx += sign * x * x
	f.sxy += sign * x * y
}

// x is t in seconds after the reference time.
func (f *fit) x(t int64) float64 { return float64(t-f.refT) / 1e9 }

// grow doubles the ring, unrolling it so the oldest sample is first.
func (f *fit) grow() {
	size := max(2*len(f.dts), minFitCapacity)
	dts, dvs := make([]float32, size), make([]float32, size)
	for i := range f.n {
		j := (f.head + i) % len(f.dts)
		dts[i], dvs[i] = f.dts[j], f.dvs[j]
	}
	f.dts, f.dvs, f.head = dts, dvs, 0
}

// rebase moves the reference to the oldest sample, re-expresses the samples
// after it, and recomputes the sums.
func (f *fit) rebase() {
	dt0, dv0 := float64(f.dts[f.head]), float64(f.dvs[f.head])
	f.refT += int64(dt0 * 1e9)
	f.refV += dv0
	f.sx, f.sy, f.sxx, f.sxy = 0, 0, 0, 0
	for i := range f.n {
		j := (f.head + i) % len(f.dts)
		f.dts[j] = float32(float64(f.dts[j]) - dt0)
		f.dvs[j] = float32(float64(f.dvs[j]) - dv0)
		f.accumulate(1, float64(f.dts[j]), float64(f.dvs[j]))
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
	newest := float64(f.dts[(f.head+f.n-1)%len(f.dts)])
	last = f.refV + f.sy/n + slope*(newest-f.sx/n)
	return slope, last, true
}

// samples returns the samples in time order, for saving.
func (f *fit) samples() (ts []int64, vs []float64) {
	ts, vs = make([]int64, f.n), make([]float64, f.n)
	for i := range f.n {
		j := (f.head + i) % len(f.dts)
		ts[i], vs[i] = f.refT+int64(float64(f.dts[j])*1e9), f.refV+float64(f.dvs[j])
	}
	return ts, vs
}
