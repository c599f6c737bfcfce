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
	ring []sample // a ring of len(ring) slots
	head int32    // index of the oldest sample
	n    int32
	// sinceRebase counts the samples added since the last rebase.
	sinceRebase int32

	refT             int64 // Unix ns
	refV             float64
	sx, sy, sxx, sxy float64
	// newest is the time of the newest sample (Unix ns), so that rules
	// sharing the fit add each reading once.
	newest int64
}

// sample is one reading relative to the fit's reference.
type sample struct {
	dt float32 // seconds after refT
	dv float32 // value minus refV
}

const minFitCapacity = 8

// add puts a sample at time t (later than every sample before it) and drops
// the samples older than window before t.
func (f *fit) add(t int64, v float64, window int64) {
	cutoff := f.x(t - window)
	for f.n > 0 && float64(f.ring[f.head].dt) < cutoff {
		f.accumulate(-1, float64(f.ring[f.head].dt), float64(f.ring[f.head].dv))
		f.head = (f.head + 1) % int32(len(f.ring))
		f.n--
	}
	if f.n == 0 {
		// A new start, after the first reading or a gap longer than the
		// window: nothing of the old reference or sums is worth keeping.
		f.refT, f.refV = t, v
		f.sx, f.sy, f.sxx, f.sxy = 0, 0, 0, 0
	}
	if int(f.n) == len(f.ring) {
		f.grow()
	}
	p := &f.ring[(f.head+f.n)%int32(len(f.ring))]
	p.dt, p.dv = float32(f.x(t)), float32(v-f.refV)
	f.accumulate(1, float64(p.dt), float64(p.dv))
	f.n++
	f.newest = t
	if f.sinceRebase++; int(f.sinceRebase) >= len(f.ring) {
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
	ring := make([]sample, max(2*len(f.ring), minFitCapacity))
	for i := range f.n {
		ring[i] = f.ring[f.at(i)]
	}
	f.ring, f.head = ring, 0
}

// at is the ring index of the i-th oldest sample.
func (f *fit) at(i int32) int32 { return (f.head + i) % int32(len(f.ring)) }

// rebase moves the reference to the oldest sample, re-expresses the samples
// after it, and recomputes the sums.
func (f *fit) rebase() {
	dt0, dv0 := float64(f.ring[f.head].dt), float64(f.ring[f.head].dv)
	f.refT += int64(dt0 * 1e9)
	f.refV += dv0
	f.sx, f.sy, f.sxx, f.sxy = 0, 0, 0, 0
	for i := range f.n {
		p := &f.ring[f.at(i)]
		p.dt = float32(float64(p.dt) - dt0)
		p.dv = float32(float64(p.dv) - dv0)
		f.accumulate(1, float64(p.dt), float64(p.dv))
	}
	f.sinceRebase = 0
}

// line returns the fitted slope (units per second) and the fitted value at
// the newest sample, or ok false with fewer than minSamples samples or when
// they all share one time.
func (f *fit) line(minSamples int) (slope, last float64, ok bool) {
	if int(f.n) < minSamples {
		return 0, 0, false
	}
	n := float64(f.n)
	den := n*f.sxx - f.sx*f.sx
	if den <= 0 {
		return 0, 0, false
	}
	slope = (n*f.sxy - f.sx*f.sy) / den
	newest := float64(f.ring[f.at(f.n-1)].dt)
	last = f.refV + f.sy/n + slope*(newest-f.sx/n)
	return slope, last, true
}

// samples returns the samples in time order, for saving.
func (f *fit) samples() (ts []int64, vs []float64) {
	ts, vs = make([]int64, f.n), make([]float64, f.n)
	for i := range f.n {
		p := f.ring[f.at(i)]
		ts[i], vs[i] = f.refT+int64(float64(p.dt)*1e9), f.refV+float64(p.dv)
	}
	return ts, vs
}
