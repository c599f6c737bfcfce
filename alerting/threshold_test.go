package alerting

import (
	"math"
	"slices"
	"testing"

	"hazwatch/configs"
)

func TestThreshold_Transitions(t *testing.T) {
	gas := func(th configs.ThresholdRule) configs.Rule {
		if th.Above == nil && th.Below == nil {
			th.Above = configs.LevelValues{configs.LevelYellow: 25, configs.LevelRed: 50}
		}
		th.ForReadings = max(th.ForReadings, 1)
		return configs.Rule{Name: "gas-lel", Match: configs.Matcher{"kind": {"gas_lel"}}, Threshold: &th}
	}
	hover := []point{{0, 24.9}, {1, 25.1}, {2, 24.8}, {3, 25.2}, {4, 24.9}, {5, 25.0}, {6, 24.7}, {7, 25.3}}
	tests := []struct {
		name   string
		rule   configs.Rule
		kind   string
		points []point
		want   []string
	}{
		{
			name:   "FiresAtThresholdAndResolves",
			rule:   gas(configs.ThresholdRule{}),
			points: []point{{0, 10}, {1, 25}, {2, 20}},
			want:   []string{"1s firing yellow thr=25", "2s resolved yellow thr=25"},
		},
		{
			name:   "HoverWithHysteresisDoesNotFlap",
			rule:   gas(configs.ThresholdRule{Hysteresis: configs.Hysteresis{All: 2}}),
			points: hover,
			want:   []string{"1s firing yellow thr=25"},
		},
		{
			name:   "HoverWithClearForDoesNotFlap",
			rule:   gas(configs.ThresholdRule{ClearFor: sec(30)}),
			points: append(slices.Clone(hover), point{40, 10}, point{69, 10}, point{70, 10}),
			want:   []string{"1s firing yellow thr=25", "1m10s resolved yellow thr=25"},
		},
		{
			name:   "HoverWithForDoesNotFire",
			rule:   gas(configs.ThresholdRule{For: sec(5)}),
			points: hover,
			want:   nil,
		},
		{
			name:   "ForWaitsForTheConditionToHold",
			rule:   gas(configs.ThresholdRule{For: sec(5)}),
			points: []point{{0, 30}, {3, 30}, {4.9, 30}, {5, 30}, {6, 10}},
			want:   []string{"5s firing yellow thr=25", "6s resolved yellow thr=25"},
		},
		{
			name:   "ForRestartsWhenTheConditionBreaks",
			rule:   gas(configs.ThresholdRule{For: sec(5)}),
			points: []point{{0, 30}, {4, 10}, {5, 30}, {9, 30}, {10, 30}},
			want:   []string{"10s firing yellow thr=25"},
		},
		{
			name:   "ForReadingsCountsConsecutiveReadings",
			rule:   gas(configs.ThresholdRule{ForReadings: 3}),
			points: []point{{0, 30}, {1, 30}, {2, 10}, {3, 30}, {4, 30}, {5, 30}},
			want:   []string{"5s firing yellow thr=25"},
		},
		{
			name:   "RiseYellowToRedAndBackDown",
			rule:   gas(configs.ThresholdRule{}),
			points: []point{{0, 30}, {1, 52.1}, {2, 40}, {3, 12}},
			want: []string{
				"0s firing yellow thr=25", "1s firing red<-yellow thr=50",
				"2s firing yellow<-red thr=25", "3s resolved yellow thr=25",
			},
		},
		{
			name:   "FallThroughClearForLandsOnTheLevelHeld",
			rule:   gas(configs.ThresholdRule{ClearFor: sec(10)}),
			points: []point{{0, 60}, {1, 30}, {6, 10}, {11, 10}, {16, 10}},
			want: []string{
				"0s firing red thr=50", "11s firing yellow<-red thr=25", "16s resolved yellow thr=25",
			},
		},
		{
			name:   "RiseNeedsTheHigherLevelToHoldForFor",
			rule:   gas(configs.ThresholdRule{For: sec(5)}),
			points: []point{{0, 30}, {5, 30}, {6, 55}, {8, 45}, {9, 55}, {14, 55}},
			want:   []string{"5s firing yellow thr=25", "14s firing red<-yellow thr=50"},
		},
		{
			name: "CoalMinePerLevelHysteresis",
			rule: configs.Rule{Name: "coal-ch4", Match: configs.Matcher{"kind": {"ch4_vol"}}, Threshold: &configs.ThresholdRule{
				Above:       configs.LevelValues{configs.LevelYellow: 1.0, configs.LevelRed: 1.5},
				Hysteresis:  configs.Hysteresis{PerLevel: map[configs.Level]float64{configs.LevelYellow: 0, configs.LevelRed: 0.5}},
				ForReadings: 2,
			}},
			kind: "ch4_vol",
			// Alarm at 1.0, power off at 1.5, and power stays off until below 1.0.
			points: []point{{0, 1.1}, {1, 1.2}, {2, 1.6}, {3, 1.7}, {4, 1.2}, {5, 1.0}, {6, 1.3}, {7, 0.99}, {8, 0.98}},
			want: []string{
				"1s firing yellow thr=1", "3s firing red<-yellow thr=1.5", "7s resolved red thr=1.5",
			},
		},
		{
			name: "BelowThresholdsForALowTank",
			rule: configs.Rule{Name: "tank-level", Match: configs.Matcher{"kind": {"tank_level"}}, Threshold: &configs.ThresholdRule{
				Above:       configs.LevelValues{configs.LevelOrange: 85, configs.LevelRed: 90},
				Below:       configs.LevelValues{configs.LevelYellow: 10, configs.LevelOrange: 5},
				Hysteresis:  configs.Hysteresis{All: 1},
				ForReadings: 1,
			}},
			kind:   "tank_level",
			points: []point{{0, 50}, {1, 10}, {2, 10.5}, {3, 4}, {4, 5.8}, {5, 6.5}, {6, 11.5}, {7, 91}},
			want: []string{
				"1s firing yellow thr=10", "3s firing orange<-yellow thr=5", "5s firing yellow<-orange thr=10",
				"6s resolved yellow thr=10", "7s firing red thr=90",
			},
		},
		{
			name:   "NonFiniteValuesAreIgnored",
			rule:   gas(configs.ThresholdRule{}),
			points: []point{{0, 30}, {1, math.NaN()}, {2, math.Inf(-1)}, {3, 31}, {4, 10}},
			want:   []string{"0s firing yellow thr=25", "4s resolved yellow thr=25"},
		},
		{
			name:   "OutOfOrderReadingsDoNotMoveState",
			rule:   gas(configs.ThresholdRule{For: sec(5)}),
			points: []point{{10, 30}, {5, 10}, {12, 30}, {10, 60}, {15, 30}, {14, 5}, {16, 5}},
			want:   []string{"15s firing yellow thr=25", "16s resolved yellow thr=25"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, tt.rule)
			kind := tt.kind
			if kind == "" {
				kind = "gas_lel"
			}
			got := observeAll(e, kind, tt.points)
			if !slices.Equal(got, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
