package channels_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/alerting/notify/channels"
	"hazwatch/configs"
)

// A receiver of hazwatch's webhook checks the signature over the raw body
// before it trusts anything in it.
func ExampleVerifyWebhook() {
	const secret = "s3cret"
	done := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = channels.VerifyWebhook(secret, r, body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			done <- "refused: " + err.Error()
			return
		}
		done <- "verified"
	}))
	defer receiver.Close()

	ch, err := channels.New(configs.Channel{Name: "center", Type: configs.ChannelWebhook, URL: receiver.URL, Secret: secret}, channels.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{{ID: "gas-lel/hx-chem-01/gas_lel/GT-03", Status: alerting.StatusFiring}}})
	fmt.Println(<-done, err)
	// Output: verified <nil>
}
