package configs

// Measurements of the built-in kinds (SPEC §3).
const (
	MeasurementGas   = "gas"
	MeasurementTank  = "tank"
	MeasurementFlood = "flood"
)

// BuiltinKinds returns the sensor kinds hazwatch ships with (SPEC §3). A
// config's kinds section adds to them or overrides them field by field.
// Ranges are the physical span of common transmitters; readings outside it
// are a sensor fault.
func BuiltinKinds() map[string]Kind {
	return map[string]Kind{
		"gas_lel":       {Name: "可燃气体", Measurement: MeasurementGas, Unit: "%LEL", Range: [2]float64{0, 100}, Decimals: 1},
		"gas_toxic":     {Name: "有毒气体", Measurement: MeasurementGas, Unit: "ppm", Range: [2]float64{0, 1000}, Decimals: 1},
		"ch4_vol":       {Name: "甲烷浓度", Measurement: MeasurementGas, Unit: "%vol", Range: [2]float64{0, 100}, Decimals: 2},
		"tank_level":    {Name: "储罐液位", Measurement: MeasurementTank, Unit: "%", Range: [2]float64{0, 100}, Decimals: 1},
		"tank_temp":     {Name: "储罐温度", Measurement: MeasurementTank, Unit: "°C", Range: [2]float64{-50, 300}, Decimals: 1},
		"tank_pressure": {Name: "储罐压力", Measurement: MeasurementTank, Unit: "MPa", Range: [2]float64{-0.1, 10}, Decimals: 3},
		"water_level":   {Name: "水位", Measurement: MeasurementFlood, Unit: "m", Range: [2]float64{-10, 100}, Decimals: 2},
		"rainfall":      {Name: "降雨量", Measurement: MeasurementFlood, Unit: "mm", Range: [2]float64{0, 500}, Decimals: 1},
	}
}

// Kind returns the sensor kind named name, built-in or from the file.
func (c *Config) Kind(name string) (Kind, bool) {
	k, ok := c.Kinds[name]
	return k, ok
}
