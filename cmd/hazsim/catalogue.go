package main

import (
	"math"
	"math/rand/v2"
	"time"
)

// sensor is one simulated feed of the demo catalogue: where it publishes and
// how its quiet-day value behaves.
type sensor struct {
	Site, Kind, ID string
	base           baseline
}

// Topic is the sensor's MQTT topic, sensors/{site}/{kind}/{sensor} as the
// demo config subscribes.
func (s sensor) Topic() string { return "sensors/" + s.Site + "/" + s.Kind + "/" + s.ID }

// baseline is a quiet-day signal: a mean, a slow sinusoidal drift (tank
// levels move over tens of minutes) and Gaussian noise, clamped to a
// physical range and rounded as a real transmitter would report it.
type baseline struct {
	Mean, Drift     float64
	Period          time.Duration
	Noise, Min, Max float64
	Decimals        int
}

// at returns the baseline value at elapsed time t; phase places each sensor
// at its own point of the drift so that two tanks do not move in step.
func (b baseline) at(t time.Duration, phase float64, rng *rand.Rand) float64 {
	v := b.Mean + b.Noise*rng.NormFloat64()
	if b.Period > 0 {
		v += b.Drift * math.Sin(2*math.Pi*t.Seconds()/b.Period.Seconds()+phase)
	}
	return round(clamp(v, b.Min, b.Max), b.Decimals)
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}

// Quiet-day signals per kind, as the demo's sensors read when nothing is
// happening.
var (
	gasLEL    = baseline{Mean: 1.5, Noise: 0.5, Min: 0, Max: 3, Decimals: 1}
	h2s       = baseline{Mean: 1, Noise: 0.3, Min: 0, Max: 2, Decimals: 1}
	tankLevel = baseline{Mean: 55, Drift: 14, Period: 40 * time.Minute, Noise: 0.05, Min: 0, Max: 100, Decimals: 2}
	tankTemp  = baseline{Mean: 20, Drift: 1, Period: time.Hour, Noise: 0.1, Min: -40, Max: 120, Decimals: 1}
	// Water levels barely jitter: a radar gauge reads to the millimetre, and
	// any noise at 1 s intervals would look like a rapid rise to the
	// flood-rise rule's fit over its first few samples.
	underpass  = baseline{Mean: 0.025, Drift: 0.005, Period: time.Hour, Noise: 0.00005, Min: 0, Max: 0.05, Decimals: 4}
	riverLevel = baseline{Mean: 2.1, Drift: 0.01, Period: 2 * time.Hour, Noise: 0.00005, Min: 0, Max: 10, Decimals: 4}
	rain       = baseline{Decimals: 1}
	ch4Vol     = baseline{Mean: 0.2, Drift: 0.05, Period: 10 * time.Minute, Noise: 0.02, Min: 0.1, Max: 0.3, Decimals: 2}
)

// demoCatalogue is exactly the sites and sensors of configs/demo.yaml.
func demoCatalogue() []sensor {
	return []sensor{
		{"hx-chem-01", "gas_lel", "GT-01", gasLEL},
		{"hx-chem-01", "gas_lel", "GT-02", gasLEL},
		{"hx-chem-01", "gas_lel", "GT-03", gasLEL},
		{"hx-chem-01", "gas_lel", "GT-04", gasLEL},
		{"hx-chem-01", "gas_toxic", "H2S-01", h2s},
		{"hx-chem-01", "tank_level", "T101-LT", tankLevel},
		{"hx-chem-01", "tank_level", "T102-LT", tankLevel},
		{"hx-chem-01", "tank_temp", "T101-TT", tankTemp},
		{"jx-gas-02", "gas_lel", "GT-01", gasLEL},
		{"jx-gas-02", "gas_lel", "GT-02", gasLEL},
		{"jx-gas-02", "ch4_vol", "CH4-01", ch4Vol},
		{"underpass-07", "water_level", "WL-1", underpass},
		{"underpass-07", "water_level", "WL-2", underpass},
		{"river-02", "water_level", "WL-1", riverLevel},
		{"river-02", "rainfall", "RG-1", rain},
	}
}
