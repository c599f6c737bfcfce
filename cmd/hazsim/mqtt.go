package main

import (
	"fmt"
	"strconv"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// connect opens one MQTT connection to broker as clientID, with a clean
// session: a simulator has nothing to resume after a restart.
func connect(broker, clientID string) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(clientID).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetOrderMatters(false).
		SetWriteTimeout(10 * time.Second)
	c := mqtt.NewClient(opts)
	t := c.Connect()
	if !t.WaitTimeout(30 * time.Second) {
		c.Disconnect(0)
		return nil, fmt.Errorf("connect to %s: timed out", broker)
	}
	if err := t.Error(); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", broker, err)
	}
	return c, nil
}

// appendPayload appends a reading's payload in format: "json" gives
// {"ts": <epoch ms>, "v": <value>} as the demo config expects, "value" the
// bare number.
func appendPayload(dst []byte, format string, ts time.Time, v float64) []byte {
	if format == "value" {
		return strconv.AppendFloat(dst, v, 'f', -1, 64)
	}
	dst = append(dst, `{"ts":`...)
	dst = strconv.AppendInt(dst, ts.UnixMilli(), 10)
	dst = append(dst, `,"v":`...)
	dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
	return append(dst, '}')
}

func checkFormat(format string) error {
	if format != "json" && format != "value" {
		return fmt.Errorf("unknown format %q (json or value)", format)
	}
	return nil
}

func checkQoS(qos int) error {
	if qos != 0 && qos != 1 {
		return fmt.Errorf("qos %d: want 0 or 1", qos)
	}
	return nil
}
